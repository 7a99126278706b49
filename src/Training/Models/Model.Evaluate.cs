using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

public partial class Model
{
    /// <summary>Returns the loss and metrics on <paramref name="x"/>, <paramref name="y"/> (Keras's <c>evaluate</c>).</summary>
    /// <example><code>var result = model.Evaluate(testX, testY); Console.WriteLine(result["accuracy"]);</code></example>
    public Dictionary<string, double> Evaluate(Array x, Array y, int? batchSize = null, int verbose = 0, Array? sampleWeight = null,
        IEnumerable<Callback>? callbacks = null)
    {
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var yt = TensorConvert.ToTensor(y, nameof(y));
        using var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        return Evaluate(xt, yt, batchSize, verbose, wt, callbacks);
    }

    /// <summary>Evaluates on tensors.</summary>
    /// <example><code>double loss = model.Evaluate(xTensor, yTensor, batchSize: 64)["loss"];</code></example>
    public Dictionary<string, double> Evaluate(Tensor x, Tensor y, int? batchSize = null, int verbose = 0, Tensor? sampleWeight = null,
        IEnumerable<Callback>? callbacks = null)
    {
        Tensor[] parts = sampleWeight is null ? [x, y] : [x, y, sampleWeight];
        return Evaluate(new SliceDataset(new SliceSource(parts)).Batch(CheckBatchSize(batchSize)), null, verbose, callbacks);
    }

    /// <summary>Evaluates a model with several inputs and/or outputs on arrays given by name.</summary>
    /// <example><code>
    /// var result = model.Evaluate(new Dictionary&lt;string, Array&gt; { ["a"] = xa, ["b"] = xb },
    ///     new Dictionary&lt;string, Array&gt; { ["cls"] = yc, ["score"] = ys });
    /// </code></example>
    public Dictionary<string, double> Evaluate(Dictionary<string, Array> x, Dictionary<string, Array> y, int? batchSize = null, int verbose = 0)
    {
        var parts = ByName(x, InputNames, "input").Concat(ByName(y, OutputNames, "output")).ToArray();
        try
        {
            return Evaluate(new SliceDataset(new SliceSource(parts)).Batch(CheckBatchSize(batchSize)), null, verbose);
        }
        finally
        {
            foreach (var t in parts) t.Dispose();
        }
    }

    /// <summary>Evaluates on a dataset of (inputs, targets[, weights]) batches; an infinite dataset needs <paramref name="steps"/>.</summary>
    /// <example><code>var result = model.Evaluate(Dataset.FromTensorSlices(testX, testY).Batch(32)); Console.WriteLine(result["accuracy"]);</code></example>
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
        evaluationRegularized = null;
        while (total is null || step < total)
        {
            if (batchLogs) foreach (var c in cbs) c.OnTestBatchBegin(step, empty);
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                if (!it.MoveNext()) break;
                RunTestStep(it.Current, tracker);
                ApplyAutomaticThreads(it.Current);
            }
            StepGarbage.AfterStep();
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

    /// <summary>The regularized weights of the running evaluation, gathered after its first forward pass (which builds an unbuilt model).</summary>
    private IReadOnlyList<Variable>? evaluationRegularized;

    /// <summary>The built-in evaluation step on an unpacked batch (the caller turns gradients off).</summary>
    private void TestStepCore(Tensor[] x, Tensor[] y, Tensor?[] w, LossTracker tracker)
    {
        var predictions = Forward(x, training: false);
        long batchSize = x[0].size(0); // Unpack checked that every input has a batch axis
        var lossValue = OverriddenLoss(x, y, predictions, w)
            ?? TotalLoss(y, predictions, w, batchSize, evaluationRegularized ??= RegularizedWeights);
        tracker.Add(lossValue, batchSize);
        Objectives.UpdateMetrics(y, predictions, w);
    }

    /// <summary>Loss and metrics of one batch, without updating (Keras's <c>test_on_batch</c>).</summary>
    /// <example><code>double loss = model.TestOnBatch(xBatch, yBatch)["loss"];</code></example>
    public Dictionary<string, double> TestOnBatch(Array x, Array y, Array? sampleWeight = null)
    {
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var yt = TensorConvert.ToTensor(y, nameof(y));
        using var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        Tensor[] parts = wt is null ? [xt, yt] : [xt, yt, wt];
        return Evaluate(new SliceDataset(new SliceSource(parts)).Batch((int)Math.Max(1, xt.shape[0])));
    }
}
