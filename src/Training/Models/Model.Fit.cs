using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

public partial class Model
{
    /// <summary>Set by a callback in OnTrainBegin to make Fit start at this epoch (Keras's <c>_initial_epoch</c>).</summary>
    internal int? ResumeEpoch { get; set; }

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
        if (y is null) throw new ArgumentException("Fit on arrays or tensors needs labels y.", nameof(y));
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var yt = TensorConvert.ToTensor(y, nameof(y));
        using var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        return FitTensors([xt], [yt], batchSize, epochs, verbose, callbacks, validationSplit, validationData, shuffle, classWeight, wt, initialEpoch,
            stepsPerEpoch, validationSteps, validationFreq);
    }

    /// <summary>Trains on tensors (rows are samples); see the array overload for the parameters.</summary>
    /// <example><code>History h = model.Fit(xTensor, yTensor, epochs: 5, batchSize: 16, validationSplit: 0.1);</code></example>
    public History Fit(Tensor x, Tensor? y, int? batchSize = null, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null,
        double validationSplit = 0.0, ValidationData? validationData = null, bool shuffle = true, IReadOnlyDictionary<int, double>? classWeight = null,
        Tensor? sampleWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null, int? validationSteps = null, int validationFreq = 1)
    {
        if (y is null) throw new ArgumentException("Fit on arrays or tensors needs labels y.", nameof(y));
        return FitTensors([x], [y], batchSize, epochs, verbose, callbacks, validationSplit, validationData, shuffle, classWeight, sampleWeight,
            initialEpoch, stepsPerEpoch, validationSteps, validationFreq);
    }

    /// <summary>
    /// Trains a model with several inputs and/or outputs on arrays given by name (<see cref="InputNames"/>,
    /// <see cref="OutputNames"/>); the parameters are those of the single-array overload. A sample weight array
    /// applies to every output; <paramref name="classWeight"/> needs a model with one output (as in Keras);
    /// <paramref name="validationData"/> takes named arrays too (<c>(xDict, yDict)</c>) or a dataset.
    /// </summary>
    /// <example><code>
    /// model.Fit(new Dictionary&lt;string, Array&gt; { ["title"] = titles, ["body"] = bodies },
    ///     new Dictionary&lt;string, Array&gt; { ["priority"] = p, ["department"] = d }, epochs: 2);
    /// </code></example>
    public History Fit(Dictionary<string, Array> x, Dictionary<string, Array> y, int? batchSize = null, int epochs = 1, int verbose = 1,
        IEnumerable<Callback>? callbacks = null, double validationSplit = 0.0, ValidationData? validationData = null, bool shuffle = true,
        IReadOnlyDictionary<int, double>? classWeight = null, Array? sampleWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null,
        int? validationSteps = null, int validationFreq = 1)
    {
        var xs = ByName(x, InputNames, "input");
        var ys = ByName(y, OutputNames, "output");
        using var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        try
        {
            return FitTensors(xs, ys, batchSize, epochs, verbose, callbacks, validationSplit, validationData, shuffle, classWeight, wt, initialEpoch,
                stepsPerEpoch, validationSteps, validationFreq);
        }
        finally
        {
            foreach (var t in xs.Concat(ys)) t.Dispose();
        }
    }

    /// <summary>
    /// Trains on a dataset of batches holding the inputs, then the targets, then optionally sample weights (for one input and
    /// output: <c>(x, y)</c> or <c>(x, y, sampleWeight)</c>). An infinite dataset (<see cref="Dataset.Repeat"/>) needs
    /// <paramref name="stepsPerEpoch"/>; with it the dataset is read on across epochs (a finite dataset starts over once all
    /// its batches are read, ending that epoch early if needed, as in Keras 3).
    /// </summary>
    /// <example><code>model.Fit(ds, epochs: 10, stepsPerEpoch: 30, validationData: valDs, validationSteps: 3);</code></example>
    public History Fit(Dataset dataset, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null, ValidationData? validationData = null,
        IReadOnlyDictionary<int, double>? classWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null, int? validationSteps = null,
        int validationFreq = 1)
    {
        if (!dataset.IsBatched) throw new ArgumentException("Fit needs a batched dataset: call .Batch(n) on it first.", nameof(dataset));
        return FitCore(dataset, epochs, verbose, callbacks, validationData, classWeight, initialEpoch, stepsPerEpoch, validationSteps, validationFreq, null);
    }

    private History FitTensors(Tensor[] xs, Tensor[] ys, int? batchSize, int epochs, int verbose, IEnumerable<Callback>? callbacks,
        double validationSplit, ValidationData? validationData, bool shuffle, IReadOnlyDictionary<int, double>? classWeight,
        Tensor? sampleWeight, int initialEpoch, int? stepsPerEpoch, int? validationSteps, int validationFreq)
    {
        // Written so that NaN fails too (Keras requires 0 <= validation_split < 1).
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentException($"validationSplit must be in [0, 1); got {validationSplit}.", nameof(validationSplit));
        if (validationSplit > 0 && validationData is not null) throw new ArgumentException("Give either validationSplit or validationData, not both.");
        if (sampleWeight is not null && classWeight is not null)
            throw new ArgumentException("classWeight and sampleWeight cannot be given at the same time: fold the class weights into the sample weights.");
        int bs = CheckBatchSize(batchSize);
        long n = xs[0].shape[0];
        foreach (var (t, what) in xs.Skip(1).Select(t => (t, "an input")).Concat(ys.Select(t => (t, "y")))
            .Concat(sampleWeight is null ? [] : new[] { (sampleWeight, "sampleWeight") }))
        {
            if (t.shape[0] != n) throw new ArgumentException($"x has {n} samples but {what} has {t.shape[0]}; they must have the same number of samples.");
        }
        if (n == 0) throw new ArgumentException("Fit got no data: x has no samples (its first dimension is 0).", "x");
        Tensor[] parts = [.. xs, .. ys, .. sampleWeight is null ? Array.Empty<Tensor>() : [sampleWeight]];
        var source = new SliceSource(parts);
        ValidationData? validation = validationData;
        Dataset train;
        if (validationSplit > 0)
        {
            long splitAt = (long)(source.Length * (1 - validationSplit));
            if (splitAt == 0 || splitAt == source.Length)
                throw new ArgumentException($"validationSplit {validationSplit} leaves an empty training or validation set for {source.Length} samples.");
            var all = new SliceDataset(source);
            train = all.Take(splitAt);
            validation = all.Skip(splitAt).Batch(bs);
        }
        else train = new SliceDataset(source);
        if (shuffle) train = train.Shuffle((int)Math.Min(int.MaxValue, source.Length));
        return FitCore(train.Batch(bs), epochs, verbose, callbacks, validation, classWeight, initialEpoch, stepsPerEpoch, validationSteps, validationFreq, bs);
    }

    private History FitCore(Dataset train, int epochs, int verbose, IEnumerable<Callback>? callbacks, ValidationData? validation,
        IReadOnlyDictionary<int, double>? classWeight, int initialEpoch, int? stepsPerEpoch, int? validationSteps, int validationFreq, int? batchSize)
    {
        RequireCompiled(nameof(Fit));
        if (epochs < 0) throw new ArgumentException($"epochs must be >= 0; got {epochs}.");
        if (initialEpoch < 0 || initialEpoch > epochs)
            throw new ArgumentException($"initialEpoch must be in [0, epochs]; got {initialEpoch} with epochs {epochs}.");
        if (stepsPerEpoch is <= 0) throw new ArgumentException($"stepsPerEpoch must be positive; got {stepsPerEpoch}.");
        if (validationFreq <= 0) throw new ArgumentException($"validationFreq must be positive; got {validationFreq}.");
        if (verbose is < 0 or > 2) throw new ArgumentException($"verbose must be 0, 1 or 2; got {verbose}.");
        if (classWeight is not null && NumOutputs > 1)
            throw new ArgumentException("classWeight is only supported for models with one output (as in Keras); use sample weights.");
        if (train.Cardinality == Dataset.Infinite && stepsPerEpoch is null)
            throw new ArgumentException("The training dataset is infinite (Repeat() without a count): pass stepsPerEpoch so each epoch knows when to end.");
        if (train.Cardinality == 0) throw new ArgumentException("Fit got no data: the training dataset yields no batches (it has no samples).", "dataset");
        var owned = new List<Tensor>();
        try
        {
            var valDataset = ValidationDataset(validation, batchSize, validationSteps, owned);
            return Train(train, epochs, verbose, callbacks, valDataset, classWeight, initialEpoch, stepsPerEpoch, validationSteps, validationFreq);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    private History Train(Dataset train, int epochs, int verbose, IEnumerable<Callback>? callbacks, Dataset? valDataset,
        IReadOnlyDictionary<int, double>? classWeight, int initialEpoch, int? stepsPerEpoch, int? validationSteps, int validationFreq)
    {
        // History comes after the user's callbacks, as in Keras (CallbackList appends it), so it records what they add
        // to the epoch logs (learning_rate from ReduceLROnPlateau or LearningRateScheduler).
        var history = new History();
        var cbs = new List<Callback>();
        if (callbacks is not null) cbs.AddRange(callbacks);
        cbs.Add(history);
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
        ResumeEpoch = null;
        try
        {
            RunEpochs(train, epochs, cbs, valDataset, classWeight, initialEpoch, stepsPerEpoch, validationSteps, validationFreq, progbar, batchLogs, steps);
        }
        catch
        {
            // Keras does not call on_train_end when training fails; callbacks that own files still close them, so a CSV log
            // or a TensorBoard event file is complete up to the last finished epoch and not left open.
            foreach (var c in cbs) ReleaseQuietly(c);
            throw;
        }
        return history;
    }

    /// <summary>Releases a callback's files after a failed Fit; a failure to close must not hide the training exception.</summary>
    private static void ReleaseQuietly(Callback callback)
    {
        try
        {
            callback.ReleaseAfterFailedFit();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"{callback.GetType().Name}: could not close its files after the failed Fit: {e.Message}");
        }
    }

    /// <summary>OnTrainBegin, the epochs and OnTrainEnd: Fit's body, whose exceptions <see cref="Train"/> cleans up after.</summary>
    private void RunEpochs(Dataset train, int epochs, List<Callback> cbs, Dataset? valDataset, IReadOnlyDictionary<int, double>? classWeight,
        int initialEpoch, int? stepsPerEpoch, int? validationSteps, int validationFreq, Progbar progbar, bool batchLogs, long? steps)
    {
        var empty = new Dictionary<string, double>();
        foreach (var c in cbs) c.OnTrainBegin(empty);
        // A callback restoring an interrupted run (BackupAndRestore) says where to continue.
        if (ResumeEpoch is int resume) initialEpoch = Math.Max(initialEpoch, resume);

        using var tracker = new LossTracker();
        using var classWeights = ClassWeightTensor(classWeight);
        plan = null;
        // With stepsPerEpoch one iterator is read on across epochs (Keras 3's EpochIterator): when it has produced all
        // the batches of a finite dataset, the epoch ends early if it must, and the next epoch starts a fresh iterator.
        IEnumerator<Tensor[]>? persistent = null;
        long seen = 0, totalSteps = 0;
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
                            RunTrainStep(it.Current, tracker, classWeights);
                        }
                        StepGarbage.AfterStep();
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
                // An epoch without a batch has no loss: refuse rather than report 0 (Keras raises for empty logs too). With
                // stepsPerEpoch, a dataset that ran out after earlier batches ends training with the warning below.
                if (step == 0 && (!ranOut || totalSteps == 0))
                    throw new ArgumentException($"Fit got no data: the training dataset yielded no batches in epoch {epoch + 1} (no samples).", "dataset");
                totalSteps += step;
                if (ranOut)
                {
                    Console.Error.WriteLine(step == 0
                        ? "Your input ran out of data; interrupting training."
                        : "Your input ran out of data: this epoch ends early and the next one reads the dataset from the start. Make " +
                            "sure the dataset can produce at least stepsPerEpoch * epochs batches (use Repeat()).");
                }
                if (stepsPerEpoch is not null && (ranOut || seen >= numBatches))
                {
                    persistent?.Dispose();
                    persistent = null;
                    seen = 0;
                }
                if (step == 0 && ranOut) break; // the data ran out: nothing more to train on
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
    }

    private Dataset? ValidationDataset(ValidationData? validation, int? batchSize, int? validationSteps, List<Tensor> owned)
    {
        if (validation is null) return null;
        Dataset ds = validation.Dataset
            ?? new SliceDataset(new SliceSource(validation.Tensors(owned, (vx, vy) => [.. ByName(vx, InputNames, "validationData input"),
                .. ByName(vy, OutputNames, "validationData output")]))).Batch(batchSize ?? 32);
        if (!ds.IsBatched) throw new ArgumentException("validationData dataset must be batched: call .Batch(n) on it.");
        if (ds.Cardinality == 0) throw new ArgumentException("validationData has no samples: the validation dataset yields no batches.");
        if (ds.Cardinality == Dataset.Infinite && validationSteps is null)
            throw new ArgumentException("The validation dataset is infinite: pass validationSteps.");
        return ds;
    }
}
