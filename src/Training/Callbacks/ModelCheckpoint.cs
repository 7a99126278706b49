using OnnxKeras.Models;

namespace OnnxKeras.Callbacks;

/// <summary>
/// Saves the model's weights during training (Keras 3's <c>ModelCheckpoint</c> with <c>save_weights_only=True</c>):
/// at each epoch end, or every <c>saveFreq</c> batches, the file path is formatted from <c>filepath</c> as Python's
/// <c>str.format</c> does, with <c>epoch</c> (1-based), <c>batch</c> (1-based, batch-level saves) and the logs
/// (<c>weights-{epoch:02d}-{val_loss:.2f}.weights.h5</c>), its folder is created, and <c>save(model, path)</c> writes it.
/// With <c>saveBestOnly</c> a save happens only when <see cref="Monitor"/> beats the best so far (strictly; a missing
/// value warns and saves). The Keras-style constructor saves with <see cref="Model.SaveWeights"/> (<c>saveWeightsOnly</c>) or
/// <see cref="Model.Save"/>; the other constructor takes any writer as a delegate.
/// </summary>
/// <example><code>new ModelCheckpoint("ckpt/w-{epoch:02d}-{val_loss:.2f}.weights.h5", saveWeightsOnly: true, saveBestOnly: true)</code></example>
public sealed class ModelCheckpoint : Callback
{
    private readonly Action<Model, string> save;
    private readonly TextWriter? output;
    private MonitorOp? op;
    private int currentEpoch;
    private int batchesSinceSave;
    private int lastBatchSeen;

    /// <summary>
    /// Keras's <c>ModelCheckpoint(filepath, monitor, verbose, save_best_only, save_weights_only, mode, save_freq)</c>:
    /// with <paramref name="saveWeightsOnly"/> the path must end in <c>.weights.h5</c> (saved with <see cref="Model.SaveWeights"/>),
    /// otherwise in <c>.keras</c> (the whole model, <see cref="Model.Save"/>), as Keras 3 requires.
    /// </summary>
    public ModelCheckpoint(string filepath, string monitor = "val_loss", int verbose = 0, bool saveBestOnly = false, bool saveWeightsOnly = false,
        string mode = "auto", int? saveFreq = null, double? initialValueThreshold = null, TextWriter? output = null)
        : this(filepath, Writer(filepath, saveWeightsOnly), monitor, verbose, saveBestOnly, mode, saveFreq, initialValueThreshold, output)
    {
    }

    private static Action<Model, string> Writer(string filepath, bool weightsOnly)
    {
        ArgumentException.ThrowIfNullOrEmpty(filepath);
        if (weightsOnly && !Saving.FileKinds.IsKerasWeights(filepath))
            throw new ArgumentException($"ModelCheckpoint with saveWeightsOnly needs a filepath ending in '.weights.h5'; got '{filepath}'.");
        if (!weightsOnly && !Saving.FileKinds.IsKerasArchive(filepath))
            throw new ArgumentException("ModelCheckpoint saving the whole model needs a filepath ending in '.keras' (or use " +
                $"saveWeightsOnly with '.weights.h5'); got '{filepath}'.");
        return weightsOnly ? (m, p) => m.SaveWeights(p) : (m, p) => m.Save(p);
    }

    /// <summary>
    /// Creates the callback. <paramref name="mode"/> is <c>min</c>, <c>max</c> or <c>auto</c> (losses and errors
    /// minimize, accuracy/AUC/precision/recall maximize; an unknown name throws at the first epoch end, as in Keras).
    /// <paramref name="saveFreq"/> null saves at each epoch end, a number every that many batches.
    /// <paramref name="initialValueThreshold"/> is the best value to beat at first.
    /// </summary>
    public ModelCheckpoint(string filepath, Action<Model, string> save, string monitor = "val_loss", int verbose = 0, bool saveBestOnly = false,
        string mode = "auto", int? saveFreq = null, double? initialValueThreshold = null, TextWriter? output = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(filepath);
        this.save = save ?? throw new ArgumentNullException(nameof(save));
        if (saveFreq is <= 0)
            throw new ArgumentException($"ModelCheckpoint: saveFreq must be a positive number of batches or null (each epoch); got {saveFreq}.");
        this.output = output;
        mode = MonitorOp.ModeOrAuto(mode, output ?? Console.Error, $"ModelCheckpoint mode '{mode}' is unknown, fallback to auto mode.");
        Filepath = filepath;
        Monitor = monitor;
        Verbose = verbose;
        SaveBestOnly = saveBestOnly;
        Mode = mode;
        SaveFreq = saveFreq;
        Best = initialValueThreshold;
    }

    /// <summary>The path template.</summary>
    public string Filepath { get; }
    /// <summary>The logged quantity watched with <see cref="SaveBestOnly"/>.</summary>
    public string Monitor { get; }
    /// <summary>1 prints a message at each save decision.</summary>
    public int Verbose { get; }
    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }
    /// <summary><c>min</c>, <c>max</c> or <c>auto</c>.</summary>
    public string Mode { get; }
    /// <summary>Batches between saves, or null for each epoch.</summary>
    public int? SaveFreq { get; }
    /// <summary>The best value seen (or the initial threshold); null before the first epoch end.</summary>
    public double? Best { get; private set; }
    /// <summary>The paths saved so far, in order.</summary>
    public List<string> Saved { get; } = [];

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs) => currentEpoch = epoch;

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (SaveFreq is not int freq) return;
        // Keras: a batch number not above the last one seen starts a new epoch.
        batchesSinceSave += batch <= lastBatchSeen ? batch + 1 : batch - lastBatchSeen;
        lastBatchSeen = batch;
        if (batchesSinceSave < freq) return;
        batchesSinceSave = 0;
        SaveModel(currentEpoch, batch, logs);
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (op is null)
        {
            op = NewOp();
            Best ??= op.Value.Worst;
        }
        if (SaveFreq is null) SaveModel(epoch, null, logs);
    }

    /// <summary>The path for a save at <paramref name="epoch"/> (0-based) and <paramref name="batch"/> (0-based, null at epoch end).</summary>
    public string FilePathFor(int epoch, int? batch, IReadOnlyDictionary<string, double> logs)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (k, v) in logs) values[k] = v;
        values["epoch"] = epoch + 1;
        if (batch is int b && !logs.ContainsKey("batch")) values["batch"] = b + 1;
        try
        {
            return PythonFormat.Format(Filepath, values);
        }
        catch (KeyNotFoundException e)
        {
            throw new KeyNotFoundException($"Failed to format this callback filepath: \"{Filepath}\". Reason: {e.Message}", e);
        }
    }

    private void SaveModel(int epoch, int? batch, IReadOnlyDictionary<string, double> logs)
    {
        var model = Model ?? throw new InvalidOperationException("ModelCheckpoint needs a model (set by Fit).");
        string path = FilePathFor(epoch, batch, logs);
        if (!ShouldSave(epoch, logs, path)) return;
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        if (Directory.Exists(path))
            throw new IOException($"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: {path}");
        save(model, path);
        Saved.Add(path);
        if (Verbose > 0) Print($"\nEpoch {epoch + 1}: finished saving model to {path}");
    }

    private bool ShouldSave(int epoch, IReadOnlyDictionary<string, double> logs, string path)
    {
        if (!SaveBestOnly)
        {
            if (Verbose > 0) Print($"\nEpoch {epoch + 1}: saving model to {path}");
            return true;
        }
        if (!logs.TryGetValue(Monitor, out var current))
        {
            (output ?? Console.Error).WriteLine($"Can save best model only with {Monitor} available.");
            return true;
        }
        op ??= NewOp();
        Best ??= op.Value.Worst;
        string bestText = PythonFormat.FormatValue(Best.Value, ".5f");
        if (op.Value.IsImprovement(current, Best.Value))
        {
            if (Verbose > 0)
                Print($"\nEpoch {epoch + 1}: {Monitor} improved from {bestText} to {PythonFormat.FormatValue(current, ".5f")}, saving model to {path}");
            Best = current;
            return true;
        }
        if (Verbose > 0) Print($"\nEpoch {epoch + 1}: {Monitor} did not improve from {bestText}");
        return false;
    }

    // Keras 3's ModelCheckpoint is a MonitorCallback with min_delta 0: a save needs a strict improvement.
    private MonitorOp NewOp() => MonitorOp.For(Monitor, Mode, 0, AutoDirection.ByMetric, nameof(ModelCheckpoint));

    private void Print(string message) => (output ?? Console.Out).WriteLine(message);
}
