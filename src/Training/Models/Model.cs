using System.Diagnostics;
using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

/// <summary>
/// A layer with training and inference (Keras's <c>Model</c>): <see cref="Compile"/>, <see cref="Fit(Array, Array?, int?, int, int, IEnumerable{Callback}?, double, ValidationData?, bool, IReadOnlyDictionary{int, double}?, Array?, int, int?, int?, int)"/>,
/// <see cref="Evaluate(Array, Array, int?, int, Array?, IEnumerable{Callback}?)"/>, <see cref="Predict(Array, int?, int)"/> and their
/// batch variants. Make a functional model with <c>new Model(inputs, outputs)</c> from <see cref="Keras.Input"/> tensors,
/// subclass it and override <see cref="Layer.Call(KTensor, bool)"/> for a subclassed model (layers held in fields are
/// tracked automatically), or use <see cref="Sequential"/>.
/// </summary>
/// <example><code>
/// var input = Keras.Input(shape: [72]);
/// var hidden = new Dense(32, activation: "relu").Apply(input);
/// var output = new Dense(10, activation: "softmax").Apply(hidden);
/// var model = new Model(input, output);
/// </code></example>
public class Model : Layer
{
    private readonly FunctionalGraph? graph;

    /// <summary>For subclassed models: create layers in the constructor and override <see cref="Layer.Call(KTensor, bool)"/>.</summary>
    protected Model() { }

    /// <summary>A functional model from a <see cref="Keras.Input"/> tensor to an output tensor.</summary>
    public Model(KTensor inputs, KTensor outputs, string? name = null) : this([inputs], [outputs], name) { }

    /// <summary>A functional model with several inputs and/or outputs.</summary>
    public Model(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor> outputs, string? name = null)
    {
        if (name is not null) Name = name;
        graph = new FunctionalGraph(inputs, outputs, Name);
        EnsureBuilt(graph.Inputs.Select(t => t.Shape).ToList());
    }

    /// <summary>
    /// The layer graph: a functional model's, or a built <see cref="Sequential"/>'s chain; null for a subclassed model
    /// (its computation is C# code, not a graph).
    /// </summary>
    public virtual FunctionalGraph? Graph => graph;

    /// <inheritdoc />
    public override IReadOnlyList<Layer> Sublayers => graph?.Layers ?? base.Sublayers;

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        if (graph is null) base.Build(inputShape);
    }

    /// <inheritdoc />
    public override void Build(IReadOnlyList<Shape> inputShapes)
    {
        if (graph is null) base.Build(inputShapes);
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (graph is null) return base.Call(inputs, training);
        var outs = graph.Run([inputs], training);
        return outs.Count == 1 ? outs[0] : throw new InvalidOperationException($"Model '{Name}' has {outs.Count} outputs; call it with ApplyMany.");
    }

    /// <inheritdoc />
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false) =>
        graph is null ? base.Call(inputs, training) : graph.Run(inputs, training);

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes) =>
        graph is null ? base.ComputeOutputShapes(inputShapes) : graph.Outputs.Select(o => new Shape([inputShapes[0][0], .. o.Shape.Dims[1..]])).ToList();

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        graph is null ? base.ComputeOutputShape(inputShape) : ComputeOutputShapes([inputShape])[0];

    private Optimizer? optimizer;
    private Loss? loss;
    private List<Metric> metrics = [];
    private List<Metric> requestedMetrics = [];
    private bool metricsResolved;
    private bool warnedNoTrainableWeights;

    /// <summary>Set by callbacks to end <c>Fit</c> after the current batch/epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>The optimizer given to Compile.</summary>
    public Optimizer Optimizer => optimizer ?? throw NotCompiled("Optimizer");

    /// <summary>The loss given to Compile.</summary>
    public Loss Loss => loss ?? throw NotCompiled("Loss");

    /// <summary>True after Compile.</summary>
    public bool IsCompiled => optimizer is not null && loss is not null;

    /// <summary>The compiled metrics (after the first batch, <c>accuracy</c> is resolved to its concrete kind).</summary>
    public IReadOnlyList<Metric> Metrics => metrics;

    /// <summary>The layers of the model, in order.</summary>
    public virtual IReadOnlyList<Layer> Layers => Sublayers;

    /// <summary>The layer named <paramref name="name"/>.</summary>
    public Layer GetLayer(string name) => Layers.FirstOrDefault(l => l.Name == name)
        ?? throw new ArgumentException($"No layer named '{name}' in model '{Name}'. Layers: {string.Join(", ", Layers.Select(l => l.Name))}.");

    /// <summary>
    /// Configures training: the optimizer (object or name; Keras's default is rmsprop), the loss (object or name)
    /// and metrics (objects or names; <c>accuracy</c> is resolved from the shapes of labels and predictions as Keras 3 does).
    /// </summary>
    /// <example><code>model.Compile(optimizer: new Adam(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);</code></example>
    public void Compile(Optimizer? optimizer = null, Loss? loss = null, IEnumerable<Metric>? metrics = null)
    {
        // Recompiling with the same optimizer instance keeps it (and its state), as in Keras; only a replaced one is released.
        if (!ReferenceEquals(this.optimizer, optimizer)) this.optimizer?.Dispose();
        this.optimizer = optimizer ?? new RMSprop();
        this.loss = loss ?? throw new ArgumentException("Compile needs a loss, e.g. loss: \"categorical_crossentropy\". Valid names: " + string.Join(", ", LossRegistry.Names.Order()) + ".");
        foreach (var m in this.metrics) m.Dispose();
        requestedMetrics = metrics?.ToList() ?? [];
        var dup = requestedMetrics.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Metric '{dup.Key}' is given twice to Compile.");
        if (requestedMetrics.Any(m => m.Name == "loss")) throw new ArgumentException("A metric cannot be named 'loss'.");
        this.metrics = requestedMetrics;
        metricsResolved = false;
    }

    // ------------------------------------------------------------------ Fit

    /// <summary>
    /// Trains on arrays for <paramref name="epochs"/> epochs (Keras's <c>fit</c>): batches of <paramref name="batchSize"/>
    /// (32 by default), shuffled each epoch unless <paramref name="shuffle"/> is false; the last
    /// <paramref name="validationSplit"/> fraction of the samples (before shuffling) or <paramref name="validationData"/>
    /// is evaluated after each epoch. Returns the <see cref="History"/> of per-epoch results.
    /// </summary>
    /// <example><code>History h = model.Fit(trainX, trainY, epochs: 10, batchSize: 100, validationData: (valX, valY));</code></example>
    public History Fit(Array x, Array? y = null, int? batchSize = null, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null,
        double validationSplit = 0.0, ValidationData? validationData = null, bool shuffle = true, IReadOnlyDictionary<int, double>? classWeight = null,
        Array? sampleWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null, int? validationSteps = null, int validationFreq = 1)
    {
        var xt = TensorConvert.ToTensor(x, nameof(x));
        var yt = y is null ? null : TensorConvert.ToTensor(y, nameof(y));
        var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        try
        {
            return Fit(xt, yt, batchSize, epochs, verbose, callbacks, validationSplit, validationData, shuffle, classWeight, wt, initialEpoch, stepsPerEpoch, validationSteps, validationFreq);
        }
        finally
        {
            xt.Dispose();
            yt?.Dispose();
            wt?.Dispose();
        }
    }

    /// <summary>Trains on tensors (rows are samples); see the array overload for the parameters.</summary>
    public History Fit(Tensor x, Tensor? y, int? batchSize = null, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null,
        double validationSplit = 0.0, ValidationData? validationData = null, bool shuffle = true, IReadOnlyDictionary<int, double>? classWeight = null,
        Tensor? sampleWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null, int? validationSteps = null, int validationFreq = 1)
    {
        if (y is null) throw new ArgumentException("Fit on arrays or tensors needs labels y.", nameof(y));
        if (validationSplit is < 0 or >= 1) throw new ArgumentException($"validationSplit must be in [0, 1); got {validationSplit}.", nameof(validationSplit));
        if (validationSplit > 0 && validationData is not null) throw new ArgumentException("Give either validationSplit or validationData, not both.");
        if (sampleWeight is not null && classWeight is not null) throw new ArgumentException("classWeight and sampleWeight cannot be given at the same time: fold the class weights into the sample weights.");
        int bs = CheckBatchSize(batchSize);
        Tensor[] parts = sampleWeight is null ? [x, y] : [x, y, sampleWeight];
        var source = new SliceSource(parts);
        ValidationData? validation = validationData;
        Dataset train;
        if (validationSplit > 0)
        {
            long splitAt = (long)(source.Length * (1 - validationSplit));
            if (splitAt == 0 || splitAt == source.Length) throw new ArgumentException($"validationSplit {validationSplit} leaves an empty training or validation set for {source.Length} samples.");
            var all = new SliceDataset(source);
            train = all.Take(splitAt);
            validation = all.Skip(splitAt).Batch(bs);
        }
        else train = new SliceDataset(source);
        if (shuffle) train = train.Shuffle((int)Math.Min(int.MaxValue, source.Length));
        return FitCore(train.Batch(bs), epochs, verbose, callbacks, validation, classWeight, initialEpoch, stepsPerEpoch, validationSteps, validationFreq, bs);
    }

    /// <summary>
    /// Trains on a dataset of <c>(x, y)</c> or <c>(x, y, sampleWeight)</c> batches. An infinite dataset
    /// (<see cref="Dataset.Repeat"/>) needs <paramref name="stepsPerEpoch"/>; with it the dataset is read on across epochs
    /// (a finite dataset starts over once all its batches are read, ending that epoch early if needed, as in Keras 3).
    /// </summary>
    /// <example><code>model.Fit(ds, epochs: 10, stepsPerEpoch: 30, validationData: valDs, validationSteps: 3);</code></example>
    public History Fit(Dataset dataset, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null, ValidationData? validationData = null,
        IReadOnlyDictionary<int, double>? classWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null, int? validationSteps = null, int validationFreq = 1)
    {
        if (!dataset.IsBatched) throw new ArgumentException("Fit needs a batched dataset: call .Batch(n) on it first.", nameof(dataset));
        return FitCore(dataset, epochs, verbose, callbacks, validationData, classWeight, initialEpoch, stepsPerEpoch, validationSteps, validationFreq, null);
    }

    private History FitCore(Dataset train, int epochs, int verbose, IEnumerable<Callback>? callbacks, ValidationData? validation,
        IReadOnlyDictionary<int, double>? classWeight, int initialEpoch, int? stepsPerEpoch, int? validationSteps, int validationFreq, int? batchSize)
    {
        RequireCompiled(nameof(Fit));
        if (epochs < 0) throw new ArgumentException($"epochs must be >= 0; got {epochs}.");
        if (initialEpoch < 0 || initialEpoch > epochs) throw new ArgumentException($"initialEpoch must be in [0, epochs]; got {initialEpoch} with epochs {epochs}.");
        if (stepsPerEpoch is <= 0) throw new ArgumentException($"stepsPerEpoch must be positive; got {stepsPerEpoch}.");
        if (validationFreq <= 0) throw new ArgumentException($"validationFreq must be positive; got {validationFreq}.");
        if (verbose is < 0 or > 2) throw new ArgumentException($"verbose must be 0, 1 or 2; got {verbose}.");
        if (train.Cardinality == Dataset.Infinite && stepsPerEpoch is null)
            throw new ArgumentException("The training dataset is infinite (Repeat() without a count): pass stepsPerEpoch so each epoch knows when to end.");
        var valDataset = ValidationDataset(validation, batchSize, validationSteps);

        var history = new History();
        var cbs = new List<Callback> { history };
        if (callbacks is not null) cbs.AddRange(callbacks);
        long? steps = stepsPerEpoch is int spe ? spe : train.Cardinality >= 0 ? train.Cardinality : null;
        var fitParams = new Dictionary<string, object?> { ["epochs"] = epochs, ["steps"] = steps, ["verbose"] = verbose };
        foreach (var c in cbs)
        {
            c.Model = this;
            c.Params = fitParams;
        }
        bool batchLogs = cbs.Any(c => c.WatchesTrainBatches);
        var progbar = new Progbar(verbose);
        StopTraining = false;
        var empty = new Dictionary<string, double>();
        foreach (var c in cbs) c.OnTrainBegin(empty);

        using var tracker = new LossTracker();
        using var classWeights = ClassWeightTensor(classWeight);
        // With stepsPerEpoch one iterator is read on across epochs (Keras 3's EpochIterator): when it has produced all
        // the batches of a finite dataset, the epoch ends early if it must, and the next epoch starts a fresh iterator.
        IEnumerator<Tensor[]>? persistent = null;
        long seen = 0;
        long? numBatches = train.Cardinality >= 0 ? train.Cardinality : null;
        var epochLogs = new Dictionary<string, double>();
        try
        {
            for (int epoch = initialEpoch; epoch < epochs && !StopTraining; epoch++)
            {
                ResetMetrics(tracker);
                foreach (var c in cbs) c.OnEpochBegin(epoch, empty);
                progbar.EpochBegin(epoch, epochs);
                IEnumerator<Tensor[]> it;
                if (stepsPerEpoch is not null) it = persistent ??= train.Elements().GetEnumerator();
                else
                {
                    it = train.Elements().GetEnumerator();
                    seen = 0;
                }
                int step = 0;
                bool ranOut = false;
                try
                {
                    while (stepsPerEpoch is null || step < stepsPerEpoch)
                    {
                        // All batches of a dataset of known size read: stop before the batch hooks, as Keras does.
                        if (seen >= numBatches)
                        {
                            ranOut = stepsPerEpoch is not null;
                            break;
                        }
                        if (batchLogs)
                        {
                            foreach (var c in cbs) c.OnTrainBatchBegin(step, empty);
                        }
                        using (var scope = NewDisposeScope())
                        {
                            if (!it.MoveNext())
                            {
                                ranOut = stepsPerEpoch is not null;
                                break;
                            }
                            TrainStep(it.Current, tracker, classWeights);
                        }
                        step++;
                        seen++;
                        if (batchLogs)
                        {
                            var logs = CurrentLogs(tracker);
                            foreach (var c in cbs) c.OnTrainBatchEnd(step - 1, logs);
                        }
                        progbar.Update(step, steps, () => CurrentLogs(tracker));
                        if (StopTraining) break;
                    }
                }
                finally
                {
                    if (stepsPerEpoch is null) it.Dispose();
                }
                if (ranOut)
                {
                    Console.Error.WriteLine(step == 0
                        ? "Your input ran out of data: the dataset is empty; interrupting training."
                        : "Your input ran out of data: this epoch ends early and the next one reads the dataset from the start. Make sure the dataset can produce at least stepsPerEpoch * epochs batches (use Repeat()).");
                }
                if (stepsPerEpoch is not null && (ranOut || seen >= numBatches))
                {
                    persistent?.Dispose();
                    persistent = null;
                    seen = 0;
                }
                if (step == 0 && ranOut) break; // an empty dataset: nothing to train on
                epochLogs = CurrentLogs(tracker);
                if (valDataset is not null && (epoch + 1) % validationFreq == 0)
                {
                    var val = EvaluateCore(valDataset, validationSteps, cbs, progbar: null);
                    foreach (var (k, v) in val) epochLogs["val_" + k] = v;
                }
                progbar.EpochEnd(step, epochLogs);
                foreach (var c in cbs) c.OnEpochEnd(epoch, epochLogs);
            }
        }
        finally
        {
            persistent?.Dispose();
        }
        foreach (var c in cbs) c.OnTrainEnd(epochLogs);
        return history;
    }

    private Dataset? ValidationDataset(ValidationData? validation, int? batchSize, int? validationSteps)
    {
        if (validation is null) return null;
        Dataset ds = validation.Dataset ?? new SliceDataset(new SliceSource(validation.Tensors!)).Batch(batchSize ?? 32);
        if (!ds.IsBatched) throw new ArgumentException("validationData dataset must be batched: call .Batch(n) on it.");
        if (ds.Cardinality == Dataset.Infinite && validationSteps is null)
            throw new ArgumentException("The validation dataset is infinite: pass validationSteps.");
        return ds;
    }

    private void TrainStep(Tensor[] batch, LossTracker tracker, Tensor? classWeights)
    {
        var (x, y, w) = Unpack(batch, requireY: true);
        w = ApplyClassWeights(y!, w, classWeights);
        var yPred = Forward(x, training: true);
        ResolveMetrics(y!, yPred);
        var lossValue = Loss.Compute(y!, yPred, w is null ? null : (KTensor)w).Value;
        var total = lossValue;
        foreach (var penalty in Losses) total = total + penalty.Value;
        var trainable = TrainableWeights;
        if (trainable.Count > 0)
        {
            foreach (var v in trainable) v.Value.grad = null;
            total.backward();
            Optimizer.Apply(trainable);
        }
        else if (!warnedNoTrainableWeights)
        {
            // Keras warns and goes on (the loss and metrics are still computed); backward would fail here.
            warnedNoTrainableWeights = true;
            Console.Error.WriteLine($"Model '{Name}' does not have any trainable weights: training leaves it unchanged.");
        }
        using (no_grad())
        {
            tracker.Add(total.detach(), x.shape[0]);
            foreach (var m in metrics) m.UpdateState(y!, yPred.Value.detach(), w is null ? null : (KTensor)w);
        }
    }

    /// <summary>Runs the model forward on a device batch, building it on first use.</summary>
    internal KTensor Forward(Tensor x, bool training)
    {
        EnsureBuilt(new Shape([null, .. Shape.Of(x.shape).Dims[1..]]));
        var input = x.device == Keras.Device ? x : x.to(Keras.Device);
        if (input.dtype != ScalarType.Float32 && input.is_floating_point()) input = input.to_type(ScalarType.Float32);
        return Apply(input, training);
    }

    private static (Tensor X, Tensor? Y, Tensor? W) Unpack(Tensor[] batch, bool requireY)
    {
        if (batch.Length == 0 || batch.Length > 3) throw new ArgumentException($"Dataset elements must be (x), (x, y) or (x, y, sampleWeight); got {batch.Length} tensors.");
        var dev = Keras.Device;
        var x = batch[0];
        var y = batch.Length > 1 ? batch[1] : null;
        var w = batch.Length > 2 ? batch[2] : null;
        if (requireY && y is null) throw new ArgumentException("Training and evaluation need labels: dataset elements must be (x, y) or (x, y, sampleWeight).");
        if (y is not null && y.shape[0] != x.shape[0]) throw new ArgumentException($"x has {x.shape[0]} samples but y has {y.shape[0]}; they must match.");
        if (w is not null && w.shape[0] != x.shape[0]) throw new ArgumentException($"x has {x.shape[0]} samples but sampleWeight has {w.shape[0]}; they must match.");
        return (x.device == dev ? x : x.to(dev), y is null || y.device == dev ? y : y.to(dev), w is null || w.device == dev ? w : w.to(dev));
    }

    private static Tensor? ClassWeightTensor(IReadOnlyDictionary<int, double>? classWeight)
    {
        if (classWeight is null || classWeight.Count == 0) return null;
        if (classWeight.Keys.Any(k => k < 0)) throw new ArgumentException("classWeight keys must be class indices >= 0.");
        var table = new float[classWeight.Keys.Max() + 1];
        Array.Fill(table, 1f);
        foreach (var (k, v) in classWeight) table[k] = (float)v;
        return tensor(table, ScalarType.Float32, Keras.Device);
    }

    private static Tensor? ApplyClassWeights(Tensor y, Tensor? w, Tensor? classWeights)
    {
        if (classWeights is null) return w;
        // Keras raises when both are given (array adapter, tf.data adapter and train_on_batch alike).
        if (w is not null) throw new ArgumentException("classWeight and sampleWeight cannot be given at the same time: fold the class weights into the sample weights.");
        // Keras's class of a sample: argmax of one-hot labels, else the label rounded to the nearest integer.
        Tensor labels;
        if (y.is_floating_point() && y.dim() >= 2 && y.shape[^1] > 1) labels = y.argmax(-1);
        else
        {
            var column = y.reshape(y.shape[0], -1)[.., 0];
            labels = (column.is_floating_point() ? column.round() : column).to_type(ScalarType.Int64);
        }
        if (labels.max().item<long>() >= classWeights.shape[0]) throw new ArgumentException($"classWeight has no entry for class {labels.max().item<long>()}; give a weight for every class that occurs.");
        return classWeights.index_select(0, labels.reshape(-1)).reshape(labels.shape);
    }

    private void ResolveMetrics(Tensor y, KTensor yPred)
    {
        if (metricsResolved) return;
        metrics = requestedMetrics.Select(m => MetricRegistry.Resolve(m, Shape.Of(y.shape), yPred.Shape)).ToList();
        metricsResolved = true;
    }

    private void ResetMetrics(LossTracker tracker)
    {
        tracker.Reset();
        foreach (var m in metrics) m.ResetState();
    }

    private Dictionary<string, double> CurrentLogs(LossTracker tracker)
    {
        var logs = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = tracker.Result() };
        foreach (var m in metrics) logs[m.Name] = m.Result();
        return logs;
    }

    // ------------------------------------------------------------------ Evaluate

    /// <summary>Returns the loss and metrics on <paramref name="x"/>, <paramref name="y"/> (Keras's <c>evaluate</c>).</summary>
    /// <example><code>var result = model.Evaluate(testX, testY); Console.WriteLine(result["accuracy"]);</code></example>
    public Dictionary<string, double> Evaluate(Array x, Array y, int? batchSize = null, int verbose = 0, Array? sampleWeight = null, IEnumerable<Callback>? callbacks = null)
    {
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var yt = TensorConvert.ToTensor(y, nameof(y));
        using var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        return Evaluate(xt, yt, batchSize, verbose, wt, callbacks);
    }

    /// <summary>Evaluates on tensors.</summary>
    public Dictionary<string, double> Evaluate(Tensor x, Tensor y, int? batchSize = null, int verbose = 0, Tensor? sampleWeight = null, IEnumerable<Callback>? callbacks = null)
    {
        Tensor[] parts = sampleWeight is null ? [x, y] : [x, y, sampleWeight];
        return Evaluate(new SliceDataset(new SliceSource(parts)).Batch(CheckBatchSize(batchSize)), null, verbose, callbacks);
    }

    /// <summary>Evaluates on a dataset of (x, y) batches; an infinite dataset needs <paramref name="steps"/>.</summary>
    public Dictionary<string, double> Evaluate(Dataset dataset, int? steps = null, int verbose = 0, IEnumerable<Callback>? callbacks = null)
    {
        RequireCompiled(nameof(Evaluate));
        if (!dataset.IsBatched) throw new ArgumentException("Evaluate needs a batched dataset: call .Batch(n) on it first.");
        if (dataset.Cardinality == Dataset.Infinite && steps is null) throw new ArgumentException("The dataset is infinite: pass steps to Evaluate.");
        var cbs = callbacks?.ToList() ?? [];
        foreach (var c in cbs) c.Model = this;
        var progbar = verbose > 0 ? new Progbar(verbose) : null;
        return EvaluateCore(dataset, steps, cbs, progbar);
    }

    private Dictionary<string, double> EvaluateCore(Dataset dataset, int? steps, List<Callback> cbs, Progbar? progbar)
    {
        // As in Keras, evaluation reuses the compiled metrics: inside Fit the epoch's training results are read
        // before validation starts, and the next epoch resets them again.
        var empty = new Dictionary<string, double>();
        bool batchLogs = cbs.Any(c => c.WatchesTestBatches);
        foreach (var c in cbs) c.OnTestBegin(empty);
        using var tracker = new LossTracker();
        ResetMetrics(tracker);
        int step = 0;
        progbar?.EpochBegin(0, 1);
        // Stop at the dataset's known size too, so batch hooks only run for batches that exist (as in Keras).
        long? total = dataset.Cardinality >= 0 ? Math.Min(steps ?? long.MaxValue, dataset.Cardinality) : steps;
        using var it = dataset.Elements().GetEnumerator();
        while (total is null || step < total)
        {
            if (batchLogs) foreach (var c in cbs) c.OnTestBatchBegin(step, empty);
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                if (!it.MoveNext()) break;
                var (x, y, w) = Unpack(it.Current, requireY: true);
                var yPred = Forward(x, training: false);
                ResolveMetrics(y!, yPred);
                var lossValue = Loss.Compute(y!, yPred, w is null ? null : (KTensor)w).Value;
                foreach (var penalty in Losses) lossValue = lossValue + penalty.Value;
                tracker.Add(lossValue, x.shape[0]);
                foreach (var m in metrics) m.UpdateState(y!, yPred, w is null ? null : (KTensor)w);
            }
            step++;
            if (batchLogs)
            {
                var logs = CurrentLogs(tracker);
                foreach (var c in cbs) c.OnTestBatchEnd(step - 1, logs);
            }
            progbar?.Update(step, total, () => CurrentLogs(tracker));
        }
        if (step == 0) throw new ArgumentException("Evaluate got no data: the dataset is empty.");
        var result = CurrentLogs(tracker);
        progbar?.EpochEnd(step, result);
        foreach (var c in cbs) c.OnTestEnd(result);
        return result;
    }

    // ------------------------------------------------------------------ Predict

    /// <summary>Predictions for every sample of <paramref name="x"/>, computed in batches (Keras's <c>predict</c>).</summary>
    /// <example><code>NDArray probabilities = model.Predict(testX); int[] classes = probabilities.ArgMax();</code></example>
    public NDArray Predict(Array x, int? batchSize = null, int verbose = 0)
    {
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var result = Predict(xt, batchSize, verbose);
        return TensorConvert.ToNDArray(result);
    }

    /// <summary>Predictions for a tensor; the returned tensor (on the CPU) belongs to the caller.</summary>
    public Tensor Predict(Tensor x, int? batchSize = null, int verbose = 0) =>
        PredictCore(new SliceDataset(new SliceSource([x])).Batch(CheckBatchSize(batchSize)), null);

    /// <summary>Predictions for a dataset of x (or (x, y)) batches; an infinite dataset needs <paramref name="steps"/>.</summary>
    public NDArray Predict(Dataset dataset, int? steps = null, int verbose = 0)
    {
        if (!dataset.IsBatched) throw new ArgumentException("Predict needs a batched dataset: call .Batch(n) on it first.");
        if (dataset.Cardinality == Dataset.Infinite && steps is null) throw new ArgumentException("The dataset is infinite: pass steps to Predict.");
        using var result = PredictCore(dataset, steps);
        return TensorConvert.ToNDArray(result);
    }

    private Tensor PredictCore(Dataset dataset, int? steps)
    {
        var outputs = new List<Tensor>();
        try
        {
            using var it = dataset.Elements().GetEnumerator();
            for (int step = 0; steps is null || step < steps; step++)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                if (!it.MoveNext()) break;
                var (x, _, _) = Unpack(it.Current, requireY: false);
                outputs.Add(Forward(x, training: false).Value.cpu().MoveToOuterDisposeScope());
            }
            if (outputs.Count == 0) throw new ArgumentException("Predict got no data: the input is empty.");
            return outputs.Count == 1 ? outputs[0].alias() : cat(outputs.ToArray(), 0);
        }
        finally
        {
            foreach (var o in outputs) o.Dispose();
        }
    }

    // ------------------------------------------------------------------ batch-level API

    /// <summary>One gradient update on a single batch; returns the loss and metrics of that batch (Keras's <c>train_on_batch</c>).</summary>
    public Dictionary<string, double> TrainOnBatch(Array x, Array y, Array? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        RequireCompiled(nameof(TrainOnBatch));
        if (sampleWeight is not null && classWeight is not null) throw new ArgumentException("classWeight and sampleWeight cannot be given at the same time: fold the class weights into the sample weights.");
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var yt = TensorConvert.ToTensor(y, nameof(y));
        using var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        using var tracker = new LossTracker();
        using var cw = ClassWeightTensor(classWeight);
        ResetMetrics(tracker);
        using (var scope = NewDisposeScope()) TrainStep(wt is null ? [xt, yt] : [xt, yt, wt], tracker, cw);
        return CurrentLogs(tracker);
    }

    /// <summary>Loss and metrics of one batch, without updating (Keras's <c>test_on_batch</c>).</summary>
    public Dictionary<string, double> TestOnBatch(Array x, Array y, Array? sampleWeight = null)
    {
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var yt = TensorConvert.ToTensor(y, nameof(y));
        using var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        Tensor[] parts = wt is null ? [xt, yt] : [xt, yt, wt];
        return Evaluate(new SliceDataset(new SliceSource(parts)).Batch((int)xt.shape[0]));
    }

    /// <summary>Predictions for one batch (Keras's <c>predict_on_batch</c>).</summary>
    public NDArray PredictOnBatch(Array x)
    {
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        return Predict(x, batchSize: (int)Math.Max(1, xt.shape[0]));
    }

    // ------------------------------------------------------------------ Summary

    /// <summary>Prints Keras's summary table: layer (type), output shape, parameter count, and the totals.</summary>
    public void Summary(TextWriter? output = null)
    {
        var w = output ?? Console.Out;
        var rows = SummaryRows().ToList();
        const int c1 = 33, c2 = 24, c3 = 15;
        string Line(char l, char m, char r, char f) => l + new string(f, c1) + m + new string(f, c2) + m + new string(f, c3) + r;
        string Row(string a, string b, string c, char sep) => $"{sep} {a.PadRight(c1 - 2)} {sep} {b.PadRight(c2 - 2)} {sep} {c.PadLeft(c3 - 2)} {sep}";
        w.WriteLine($"Model: \"{Name}\"");
        w.WriteLine(Line('┏', '┳', '┓', '━'));
        w.WriteLine(Row("Layer (type)", "Output Shape", "Param #", '┃'));
        w.WriteLine(Line('┡', '╇', '┩', '━'));
        for (int i = 0; i < rows.Count; i++)
        {
            var (layer, shape) = rows[i];
            string p = layer.Built ? layer.CountParams().ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "0 (unbuilt)";
            w.WriteLine(Row($"{layer.Name} ({layer.GetType().Name})", shape?.ToString() ?? "?", p, '│'));
            if (i < rows.Count - 1) w.WriteLine(Line('├', '┼', '┤', '─'));
        }
        w.WriteLine(Line('└', '┴', '┘', '─'));
        long total = Weights.Sum(v => v.Size);
        long trainable = TrainableWeights.Sum(v => v.Size);
        w.WriteLine($" Total params: {Count(total)}");
        w.WriteLine($" Trainable params: {Count(trainable)}");
        w.WriteLine($" Non-trainable params: {Count(total - trainable)}");
        static string Count(long n) => $"{n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} ({FormatBytes(n * 4)})";
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes:0.00} B",
        < 1024 * 1024 => $"{TwoDecimals(bytes / 1024.0)} KB",
        < 1024L * 1024 * 1024 => $"{TwoDecimals(bytes / 1024.0 / 1024)} MB",
        _ => $"{TwoDecimals(bytes / 1024.0 / 1024 / 1024)} GB",
    };

    // Python's "{:.2f}" rounds exact ties to even (9.125 -> 9.12); .NET's "0.00" rounds them away from zero (9.13).
    private static string TwoDecimals(double v) =>
        Math.Round(v, 2, MidpointRounding.ToEven).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The rows of <see cref="Summary"/>: each layer and its output shape (null when unknown).</summary>
    protected virtual IEnumerable<(Layer Layer, Shape? OutputShape)> SummaryRows() =>
        graph is null ? Layers.Select(l => (l, (Shape?)null))
        : Layers.Select(l => (l, (Shape?)(l is InputLayer input ? input.Shape.WithBatch() : l.InboundNodes.FirstOrDefault(n => graph.Nodes.Contains(n))?.Outputs[0].Shape)));

    // ------------------------------------------------------------------ helpers

    private void RequireCompiled(string what)
    {
        if (!IsCompiled) throw new InvalidOperationException($"You must call Compile() before {what}(): model '{Name}' has no optimizer and loss yet.");
    }

    private InvalidOperationException NotCompiled(string what) => new($"Model '{Name}' has no {what} yet: call Compile() first.");

    private static int CheckBatchSize(int? batchSize) =>
        batchSize is null ? 32 : batchSize > 0 ? batchSize.Value : throw new ArgumentException($"batchSize must be positive; got {batchSize}.", nameof(batchSize));

    /// <summary>Running mean of batch losses weighted by batch size (Keras's loss tracker), kept on the device.</summary>
    private sealed class LossTracker : IDisposable
    {
        private Tensor? sum;
        private long count;

        public void Add(Tensor batchLoss, long batchSize)
        {
            using var weighted = batchLoss.detach().to_type(ScalarType.Float64) * (double)batchSize;
            if (sum is null) sum = weighted.clone().DetachFromDisposeScope();
            else sum.add_(weighted);
            count += batchSize;
        }

        public double Result() => sum is null || count == 0 ? 0.0 : sum.item<double>() / count;

        public void Reset()
        {
            sum?.Dispose();
            sum = null;
            count = 0;
        }

        public void Dispose() => Reset();
    }
}
