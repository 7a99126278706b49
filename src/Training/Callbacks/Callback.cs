using OnnxKeras.Models;

namespace OnnxKeras.Callbacks;

/// <summary>
/// Base of callbacks, with Keras's hooks. <c>logs</c> map names to values (<c>loss</c>, <c>accuracy</c>,
/// <c>val_loss</c>, ...). Batch hooks receive logs only when a callback overrides them, so callbacks that do not
/// watch batches cost nothing per step.
/// </summary>
public abstract class Callback
{
    /// <summary>The model being trained (set by Fit/Evaluate/Predict).</summary>
    public Model? Model { get; internal set; }

    /// <summary>Fit's parameters: epochs, steps, verbose.</summary>
    public IReadOnlyDictionary<string, object?> Params { get; internal set; } = new Dictionary<string, object?>();

    /// <summary>Start of Fit.</summary>
    public virtual void OnTrainBegin(IReadOnlyDictionary<string, double> logs) { }
    /// <summary>End of Fit.</summary>
    public virtual void OnTrainEnd(IReadOnlyDictionary<string, double> logs) { }
    /// <summary>Start of an epoch (0-based).</summary>
    public virtual void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>End of an epoch (0-based), with the epoch's training and validation results.</summary>
    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>Start of a training batch.</summary>
    public virtual void OnTrainBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>End of a training batch, with running results of the epoch.</summary>
    public virtual void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>Start of evaluation (also validation inside Fit).</summary>
    public virtual void OnTestBegin(IReadOnlyDictionary<string, double> logs) { }
    /// <summary>End of evaluation.</summary>
    public virtual void OnTestEnd(IReadOnlyDictionary<string, double> logs) { }
    /// <summary>Start of an evaluation batch.</summary>
    public virtual void OnTestBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>End of an evaluation batch.</summary>
    public virtual void OnTestBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>Start of Predict.</summary>
    public virtual void OnPredictBegin(IReadOnlyDictionary<string, double> logs) { }
    /// <summary>End of Predict.</summary>
    public virtual void OnPredictEnd(IReadOnlyDictionary<string, double> logs) { }
    /// <summary>Start of a prediction batch.</summary>
    public virtual void OnPredictBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>End of a prediction batch.</summary>
    public virtual void OnPredictBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>
    /// Called by Fit when training throws (OnTrainEnd is then not called, as in Keras): callbacks that hold files flush and
    /// close them here, so an interrupted run leaves complete, closed files. Must be safe to call more than once.
    /// </summary>
    internal virtual void ReleaseAfterFailedFit() { }

    /// <summary>True when this callback overrides a training-batch hook (so Fit must compute batch logs).</summary>
    internal bool WatchesTrainBatches => Overrides(nameof(OnTrainBatchBegin)) || Overrides(nameof(OnTrainBatchEnd));

    /// <summary>True when this callback overrides a test-batch hook.</summary>
    internal bool WatchesTestBatches => Overrides(nameof(OnTestBatchBegin)) || Overrides(nameof(OnTestBatchEnd));

    private bool Overrides(string method) => GetType().GetMethod(method)!.DeclaringType != typeof(Callback);
}

/// <summary>Per-epoch results of Fit (Keras's <c>History</c>): <c>History.HistoryData["loss"][epoch]</c>.</summary>
public sealed class History : Callback
{
    private readonly Dictionary<string, List<double>> history = new(StringComparer.Ordinal);

    /// <summary>The epochs that ran (0-based).</summary>
    public List<int> Epoch { get; } = [];

    /// <summary>Values per name, one per epoch.</summary>
    public IReadOnlyDictionary<string, List<double>> HistoryData => history;

    /// <summary>The values of one name, e.g. <c>h["val_loss"]</c>.</summary>
    public IReadOnlyList<double> this[string key] => history.TryGetValue(key, out var v)
        ? v
        : throw new KeyNotFoundException($"History has no '{key}'. It has: {string.Join(", ", history.Keys)}.");

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => Epoch.Clear();

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Epoch.Add(epoch);
        foreach (var (k, v) in logs)
        {
            if (!history.TryGetValue(k, out var list)) history[k] = list = [];
            list.Add(v);
        }
    }
}

/// <summary>A callback made of delegates (Keras's <c>LambdaCallback</c>).</summary>
public sealed class LambdaCallback(
    Action<int, IReadOnlyDictionary<string, double>>? onEpochBegin = null,
    Action<int, IReadOnlyDictionary<string, double>>? onEpochEnd = null,
    Action<int, IReadOnlyDictionary<string, double>>? onTrainBatchBegin = null,
    Action<int, IReadOnlyDictionary<string, double>>? onTrainBatchEnd = null,
    Action<IReadOnlyDictionary<string, double>>? onTrainBegin = null,
    Action<IReadOnlyDictionary<string, double>>? onTrainEnd = null) : Callback
{
    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs) => onEpochBegin?.Invoke(epoch, logs);
    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => onEpochEnd?.Invoke(epoch, logs);
    /// <inheritdoc />
    public override void OnTrainBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => onTrainBatchBegin?.Invoke(batch, logs);
    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => onTrainBatchEnd?.Invoke(batch, logs);
    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => onTrainBegin?.Invoke(logs);
    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => onTrainEnd?.Invoke(logs);

    internal bool HasBatchHooks => onTrainBatchBegin is not null || onTrainBatchEnd is not null;
}

/// <summary>Stops training when the loss becomes NaN or infinite, and says so (Keras's <c>TerminateOnNaN</c>).</summary>
public sealed class TerminateOnNaN(TextWriter? output = null) : Callback
{
    /// <summary>The batch at which training was stopped, or null.</summary>
    public int? StoppedAtBatch { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out var loss) && !double.IsFinite(loss))
        {
            StoppedAtBatch = batch;
            (output ?? Console.Out).WriteLine($"Batch {batch}: Invalid loss, terminating training");
            if (Model is not null) Model.StopTraining = true;
        }
    }
}
