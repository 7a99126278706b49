namespace OnnxKeras.Callbacks;

/// <summary>
/// Sets the learning rate at the beginning of each epoch from a schedule of the epoch (0-based) and the current rate
/// (Keras 3's <c>LearningRateScheduler</c>); at each epoch end the rate is added to the logs as <c>learning_rate</c>.
/// The optimizer must have a constant learning rate (a <see cref="OnnxKeras.Optimizers.LearningRateSchedule"/> cannot
/// be set).
/// </summary>
/// <example><code>new LearningRateScheduler((epoch, lr) =&gt; epoch &lt; 10 ? lr : lr * Math.Exp(-0.1))</code></example>
public sealed class LearningRateScheduler : Callback
{
    private readonly Func<int, double, double> schedule;
    private readonly TextWriter? output;

    /// <summary>Creates the callback; <paramref name="schedule"/> maps (epoch, current rate) to the epoch's rate.</summary>
    public LearningRateScheduler(Func<int, double, double> schedule, int verbose = 0, TextWriter? output = null)
    {
        this.schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        Verbose = verbose;
        this.output = output;
    }

    /// <summary>Creates the callback from a schedule of the epoch only (Keras's older one-argument form).</summary>
    public LearningRateScheduler(Func<int, double> schedule, int verbose = 0, TextWriter? output = null)
        : this(IgnoreRate(schedule), verbose, output)
    {
    }

    private static Func<int, double, double> IgnoreRate(Func<int, double> schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return (epoch, _) => schedule(epoch);
    }

    /// <summary>1 prints the rate set at each epoch.</summary>
    public int Verbose { get; }

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var model = Model ?? throw new InvalidOperationException("LearningRateScheduler needs a model (set by Fit).");
        double lr = schedule(epoch, CallbackSupport.GetLearningRate(model));
        if (!double.IsFinite(lr) || lr < 0)
            throw new ArgumentException($"LearningRateScheduler: the schedule returned {lr} for epoch {epoch}; it must be a finite number >= 0.");
        CallbackSupport.SetLearningRate(model, lr, nameof(LearningRateScheduler));
        if (Verbose > 0)
            (output ?? Console.Out).WriteLine($"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {CallbackSupport.PythonRepr(lr)}.");
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (Model is not null) CallbackSupport.AddLog(logs, "learning_rate", CallbackSupport.GetLearningRate(Model));
    }
}
