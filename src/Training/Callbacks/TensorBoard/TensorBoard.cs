namespace OnnxKeras.Callbacks;

/// <summary>
/// Writes TensorBoard logs (Keras 3's <c>TensorBoard</c>): event files under <c>logDir/train</c> and
/// <c>logDir/validation</c> that <c>tensorboard --logdir logDir</c> shows.
/// <list type="bullet">
/// <item>At each epoch end, every training log as a scalar <c>epoch_&lt;name&gt;</c> in <c>train</c> (plus
/// <c>epoch_learning_rate</c>), and every <c>val_&lt;name&gt;</c> as <c>epoch_&lt;name&gt;</c> in <c>validation</c>, at step = epoch.</item>
/// <item>With <c>updateFreq</c> a number of batches n (or <c>"batch"</c>, n = 1), the running batch logs as
/// <c>batch_&lt;name&gt;</c> every n batches, at step = the count of training batches since training began (from 1).</item>
/// <item>At the end of each evaluation (validation included), its results as <c>evaluation_&lt;name&gt;_vs_iterations</c> in
/// <c>validation</c>, at step = the optimizer's iterations.</item>
/// <item>Every <c>histogramFreq</c> epochs (0: never), a histogram of each layer's weights as
/// <c>&lt;weight path&gt;/histogram</c> (TensorFlow's HistogramProto) in <c>train</c>. Keras tags by weight name
/// (<c>kernel/histogram</c>), which collides between layers; the path (<c>dense/kernel/histogram</c>) does not.</item>
/// </list>
/// Scalars are written as <c>simple_value</c> (float32). Files are flushed at each epoch end and closed when training ends,
/// also when Fit throws (then OnTrainEnd is not called, as in Keras, but the files are flushed and closed).
/// <see cref="Dispose"/> closes them too (after <c>Evaluate</c> with this callback, say); a later run opens new ones.
/// </summary>
/// <example><code>model.Fit(x, y, epochs: 10, validationSplit: 0.2, callbacks: [new TensorBoard("logs/run1", histogramFreq: 1)]);</code></example>
public sealed class TensorBoard : Callback, IDisposable
{
    private EventFileWriter? trainWriter;
    private EventFileWriter? valWriter;
    private long globalTrainBatch;

    /// <summary>How often batch-level scalars are written: <c>"epoch"</c> (never), <c>"batch"</c> (every batch) or a number of batches.</summary>
    public sealed class UpdateFrequency
    {
        private UpdateFrequency(int? batches) => Batches = batches;

        /// <summary>The number of batches between writes, or null for <c>"epoch"</c>.</summary>
        public int? Batches { get; }

        /// <summary><c>"epoch"</c> or <c>"batch"</c>.</summary>
        public static implicit operator UpdateFrequency(string value) => value switch
        {
            "epoch" => new UpdateFrequency(null),
            "batch" => new UpdateFrequency(1),
            _ => throw new ArgumentException($"TensorBoard: updateFreq must be 'epoch', 'batch' or a positive number of batches; got '{value}'."),
        };

        /// <summary>A positive number of batches.</summary>
        public static implicit operator UpdateFrequency(int batches) =>
            batches > 0
                ? new UpdateFrequency(batches)
                : throw new ArgumentException($"TensorBoard: updateFreq must be a positive number of batches; got {batches}.");

        /// <inheritdoc />
        public override string ToString() => Batches is int n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "epoch";
    }

    /// <summary>Creates the callback; <paramref name="updateFreq"/> defaults to <c>"epoch"</c>.</summary>
    public TensorBoard(string logDir = "logs", int histogramFreq = 0, UpdateFrequency? updateFreq = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDir);
        if (histogramFreq < 0) throw new ArgumentException($"TensorBoard: histogramFreq must be >= 0; got {histogramFreq}.");
        LogDir = logDir;
        HistogramFreq = histogramFreq;
        UpdateFreq = updateFreq ?? "epoch";
    }

    /// <summary>The log directory; files go to its <c>train</c> and <c>validation</c> subdirectories.</summary>
    public string LogDir { get; }
    /// <summary>Epochs between weight histograms (0: none).</summary>
    public int HistogramFreq { get; }
    /// <summary>How often batch-level scalars are written.</summary>
    public UpdateFrequency UpdateFreq { get; }

    /// <summary>The training event file, once created.</summary>
    public string? TrainFile => trainWriter?.FilePath;
    /// <summary>The validation event file, once created.</summary>
    public string? ValidationFile => valWriter?.FilePath;

    private EventFileWriter TrainWriter => trainWriter ??= new EventFileWriter(Path.Combine(LogDir, "train"));
    private EventFileWriter ValWriter => valWriter ??= new EventFileWriter(Path.Combine(LogDir, "validation"));

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        CloseWriters();
        globalTrainBatch = 0;
        _ = TrainWriter; // Keras opens the training writer when training begins
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => CloseWriters();

    /// <summary>Flushes and closes the event files that are open; safe to call more than once.</summary>
    public void Dispose() => CloseWriters();

    internal override void ReleaseAfterFailedFit() => CloseWriters();

    /// <inheritdoc />
    public override void OnTestBegin(IReadOnlyDictionary<string, double> logs) => _ = ValWriter;

    /// <inheritdoc />
    public override void OnTestEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (Model is null || !Model.IsCompiled) return;
        foreach (var (name, value) in logs) ValWriter.Scalar($"evaluation_{name}_vs_iterations", value, Model.Optimizer.Iterations);
        // Outside Fit (Evaluate with this callback) nothing else would flush or close the file.
        ValWriter.Flush();
    }

    /// <inheritdoc />
    public override void OnTrainBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => globalTrainBatch++;

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (UpdateFreq.Batches is not int n || globalTrainBatch % n != 0) return;
        foreach (var (name, value) in logs) TrainWriter.Scalar("batch_" + name, value, globalTrainBatch);
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var train = logs.Where(p => !p.Key.StartsWith("val_", StringComparison.Ordinal)).ToList();
        var val = logs.Where(p => p.Key.StartsWith("val_", StringComparison.Ordinal)).ToList();
        if (Model is not null && Model.IsCompiled)
        {
            train.RemoveAll(p => p.Key == "learning_rate");
            train.Add(new("learning_rate", CallbackSupport.GetLearningRate(Model)));
        }
        foreach (var (name, value) in train) TrainWriter.Scalar("epoch_" + name, value, epoch);
        foreach (var (name, value) in val) ValWriter.Scalar("epoch_" + name[4..], value, epoch);
        if (HistogramFreq > 0 && epoch % HistogramFreq == 0 && Model is not null)
        {
            foreach (var layer in Model.Layers)
            {
                foreach (var weight in layer.Weights)
                {
                    var values = weight.ToArray().Select(v => (double)v).ToList();
                    TrainWriter.Histogram(weight.Path.Replace(':', '_') + "/histogram", values, epoch);
                }
            }
        }
        trainWriter?.Flush();
        valWriter?.Flush();
    }

    private void CloseWriters()
    {
        trainWriter?.Dispose();
        valWriter?.Dispose();
        trainWriter = null;
        valWriter = null;
    }
}
