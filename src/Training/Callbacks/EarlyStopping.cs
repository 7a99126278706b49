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
    private bool minimize;

    /// <summary>Creates the callback; <paramref name="mode"/> is <c>min</c>, <c>max</c> or <c>auto</c> (losses and errors minimize, accuracy/AUC/precision/recall maximize).</summary>
    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, int verbose = 0, string mode = "auto",
        double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0, TextWriter? output = null)
    {
        if (patience < 0) throw new ArgumentException($"EarlyStopping: patience must be >= 0; got {patience}.");
        if (mode is not ("auto" or "min" or "max")) throw new ArgumentException($"EarlyStopping: mode must be 'auto', 'min' or 'max'; got '{mode}'.");
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
        minimize = Mode switch
        {
            "min" => true,
            "max" => false,
            _ => AutoMinimize(Monitor),
        };
    }

    private static bool AutoMinimize(string monitor)
    {
        var name = monitor.StartsWith("val_", StringComparison.Ordinal) ? monitor[4..] : monitor;
        if (name.EndsWith("loss", StringComparison.Ordinal) || name.Contains("error") || name is "mse" or "mae" or "mape" or "msle") return true;
        if (name.Contains("acc") || name.Contains("auc") || name.Contains("precision") || name.Contains("recall")) return false;
        throw new ArgumentException($"EarlyStopping cannot tell whether '{monitor}' should go up or down; pass mode: \"min\" or \"max\".");
    }

    // With no best yet the reference is +inf (min) or -inf (max), as in Keras, so a NaN is never an improvement.
    private bool IsImprovement(double value, double? reference)
    {
        double r = reference ?? (minimize ? double.PositiveInfinity : double.NegativeInfinity);
        return minimize ? value + MinDelta < r : value - MinDelta > r;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!logs.TryGetValue(Monitor, out var current))
        {
            (output ?? Console.Out).WriteLine($"Early stopping conditioned on metric '{Monitor}' which is not available. Available metrics are: {string.Join(",", logs.Keys)}");
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
        if (IsImprovement(current, best))
        {
            best = current;
            BestEpoch = epoch;
            if (RestoreBestWeights) bestWeights = Model!.GetWeights();
            if (Baseline is null || IsImprovement(current, Baseline)) wait = 0;
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
