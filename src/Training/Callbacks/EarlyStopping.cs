namespace OnnxKeras.Callbacks;

/// <summary>
/// Stops training when <see cref="Monitor"/> has stopped improving (Keras 3's <c>EarlyStopping</c>): an epoch improves
/// when the value beats the best by more than <c>minDelta</c> (in the direction of <c>mode</c>); after
/// <c>patience</c> epochs without improvement training stops. With <c>restoreBestWeights</c> the weights of the best
/// epoch are put back when training ends.
/// </summary>
/// <example><code>new EarlyStopping(monitor: "val_loss", patience: 2, restoreBestWeights: true)</code></example>
public sealed class EarlyStopping : Callback
{
    private readonly TextWriter? output;
    private int wait;
    private double? best;
    private IReadOnlyList<NDArray>? bestWeights;
    private MonitorOp op;

    /// <summary>Creates the callback; <paramref name="mode"/> is <c>min</c>, <c>max</c> or <c>auto</c> (losses and
    /// errors minimize, accuracy/AUC/precision/recall maximize).</summary>
    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, int verbose = 0, string mode = "auto",
        double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0, TextWriter? output = null)
    {
        if (patience < 0) throw new ArgumentException($"EarlyStopping: patience must be >= 0; got {patience}.");
        if (!MonitorOp.IsValidMode(mode)) throw new ArgumentException($"EarlyStopping: mode must be 'auto', 'min' or 'max'; got '{mode}'.");
        Monitor = monitor;
        MinDelta = Math.Abs(minDelta);
        Patience = patience;
        Verbose = verbose;
        Mode = mode;
        Baseline = baseline;
        RestoreBestWeights = restoreBestWeights;
        StartFromEpoch = startFromEpoch;
        this.output = output;
    }

    /// <summary>The logged quantity watched.</summary>
    public string Monitor { get; }
    /// <summary>Minimum change that counts as improvement.</summary>
    public double MinDelta { get; }
    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }
    /// <summary>1 prints a message when stopping.</summary>
    public int Verbose { get; }
    /// <summary><c>min</c>, <c>max</c> or <c>auto</c>.</summary>
    public string Mode { get; }
    /// <summary>A value the monitored quantity must beat before patience resets.</summary>
    public double? Baseline { get; }
    /// <summary>Whether the best epoch's weights are restored at the end.</summary>
    public bool RestoreBestWeights { get; }
    /// <summary>Epochs to wait before watching (warm-up).</summary>
    public int StartFromEpoch { get; }
    /// <summary>The epoch (0-based) at which training was stopped, 0 when it was not.</summary>
    public int StoppedEpoch { get; private set; }
    /// <summary>The best epoch (0-based).</summary>
    public int BestEpoch { get; private set; }
    /// <summary>The best value seen.</summary>
    public double? Best => best;

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        wait = 0;
        StoppedEpoch = 0;
        best = null;
        bestWeights = null;
        BestEpoch = 0;
        op = MonitorOp.For(Monitor, Mode, MinDelta, AutoDirection.ByMetric, nameof(EarlyStopping));
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!logs.TryGetValue(Monitor, out var current))
        {
            (output ?? Console.Out).WriteLine($"Early stopping conditioned on metric '{Monitor}' which is not available. Available " +
                $"metrics are: {string.Join(",", logs.Keys)}");
            return;
        }
        if (epoch < StartFromEpoch) return;
        if (RestoreBestWeights && bestWeights is null)
        {
            // Until an epoch improves, the first watched epoch's weights are the best (Keras).
            bestWeights = Model!.GetWeights();
            BestEpoch = epoch;
        }
        wait++;
        // With no best yet the reference is +inf (min) or -inf (max), as in Keras, so a NaN is never an improvement.
        if (op.IsImprovement(current, best))
        {
            best = current;
            BestEpoch = epoch;
            if (RestoreBestWeights) bestWeights = Model!.GetWeights();
            if (Baseline is null || op.IsImprovement(current, Baseline)) wait = 0;
            return;
        }
        if (wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            Model!.StopTraining = true;
        }
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (StoppedEpoch > 0 && Verbose > 0) (output ?? Console.Out).WriteLine($"Epoch {StoppedEpoch + 1}: early stopping");
        if (RestoreBestWeights && bestWeights is not null)
        {
            if (Verbose > 0) (output ?? Console.Out).WriteLine($"Restoring model weights from the end of the best epoch: {BestEpoch + 1}.");
            Model!.SetWeights(bestWeights);
        }
    }
}
