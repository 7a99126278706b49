namespace OnnxKeras.Callbacks;

/// <summary>
/// Reduces the learning rate when <see cref="Monitor"/> has stopped improving (Keras 3's <c>ReduceLROnPlateau</c>). At
/// each epoch end the current rate is added to the logs as <c>learning_rate</c> (before any reduction); then, outside
/// cooldown, an epoch that does not beat the best by more than <c>minDelta</c> adds one to a wait counter, and when it
/// reaches <c>patience</c> the rate becomes <c>max(lr * factor, minLr)</c> (if it is still above <c>minLr</c>), the
/// counter resets and <c>cooldown</c> epochs follow in which the counter stays at 0.
/// </summary>
/// <example><code>new ReduceLROnPlateau(monitor: "val_loss", factor: 0.2, patience: 5, minLr: 0.001)</code></example>
public sealed class ReduceLROnPlateau : Callback
{
    private readonly TextWriter? output;
    private MonitorOp op;

    /// <summary>
    /// Creates the callback. <paramref name="mode"/> is <c>min</c>, <c>max</c> or <c>auto</c> (as in Keras, <c>auto</c>
    /// maximizes when the monitor's name contains <c>acc</c> and minimizes otherwise); an unknown mode falls back to
    /// <c>auto</c> with a warning. <paramref name="factor"/> must be below 1.
    /// </summary>
    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, int verbose = 0, string mode = "auto",
        double minDelta = 1e-4, int cooldown = 0, double minLr = 0.0, TextWriter? output = null)
    {
        if (factor >= 1.0)
            throw new ArgumentException($"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={CallbackSupport.PythonRepr(factor)}");
        this.output = output;
        mode = MonitorOp.ModeOrAuto(mode, output ?? Console.Error, $"Learning rate reduction mode {mode} is unknown, fallback to auto mode.");
        Monitor = monitor;
        Factor = factor;
        Patience = patience;
        Verbose = verbose;
        Mode = mode;
        MinDelta = minDelta;
        Cooldown = cooldown;
        MinLr = minLr;
        Reset();
    }

    /// <summary>The logged quantity watched.</summary>
    public string Monitor { get; }
    /// <summary>The factor the rate is multiplied by.</summary>
    public double Factor { get; }
    /// <summary>Epochs without improvement before the rate is reduced.</summary>
    public int Patience { get; }
    /// <summary>1 prints a message at each reduction.</summary>
    public int Verbose { get; }
    /// <summary><c>min</c>, <c>max</c> or <c>auto</c>.</summary>
    public string Mode { get; }
    /// <summary>Minimum change that counts as improvement.</summary>
    public double MinDelta { get; }
    /// <summary>Epochs after a reduction during which the wait counter stays at 0.</summary>
    public int Cooldown { get; }
    /// <summary>Lower bound of the rate.</summary>
    public double MinLr { get; }
    /// <summary>Epochs without improvement so far.</summary>
    public int Wait { get; private set; }
    /// <summary>Cooldown epochs left.</summary>
    public int CooldownCounter { get; private set; }
    /// <summary>The best value seen (+inf or -inf before the first).</summary>
    public double Best { get; private set; }

    private void Reset()
    {
        op = MonitorOp.For(Monitor, Mode, MinDelta, AutoDirection.ByAcc, nameof(ReduceLROnPlateau));
        Best = op.Worst;
        CooldownCounter = 0;
        Wait = 0;
    }

    private bool InCooldown => CooldownCounter > 0;

    // Keras: np.less(a, b - min_delta) / np.greater(a, b + min_delta); NaN never improves.
    private bool Improves(double current) => op.BeatsShiftedReference(current, Best);

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => Reset();

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var model = Model ?? throw new InvalidOperationException("ReduceLROnPlateau needs a model (set by Fit).");
        CallbackSupport.AddLog(logs, "learning_rate", CallbackSupport.GetLearningRate(model));
        if (!logs.TryGetValue(Monitor, out var current))
        {
            (output ?? Console.Error).WriteLine($"Learning rate reduction is conditioned on metric `{Monitor}` which is not available. " +
                $"Available metrics are: {string.Join(",", logs.Keys)}.");
            return;
        }
        if (InCooldown)
        {
            CooldownCounter--;
            Wait = 0;
        }
        if (Improves(current))
        {
            Best = current;
            Wait = 0;
        }
        else if (!InCooldown)
        {
            Wait++;
            if (Wait >= Patience)
            {
                double oldLr = CallbackSupport.GetLearningRate(model);
                // Keras compares with np.float32(min_lr): a rate already at min_lr (in float32) is left alone.
                if (oldLr > (float)MinLr)
                {
                    double newLr = Math.Max(oldLr * Factor, MinLr);
                    CallbackSupport.SetLearningRate(model, newLr, nameof(ReduceLROnPlateau));
                    if (Verbose > 0)
                        (output ?? Console.Out).WriteLine($"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to " +
                            $"{CallbackSupport.PythonRepr(newLr)}.");
                    CooldownCounter = Cooldown;
                    Wait = 0;
                }
            }
        }
    }
}
