using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

public partial class Model
{
    /// <summary>Predictions for every sample of <paramref name="x"/>, computed in batches (Keras's <c>predict</c>).</summary>
    /// <example><code>NDArray probabilities = model.Predict(testX); int[] classes = probabilities.ArgMax();</code></example>
    public NDArray Predict(Array x, int? batchSize = null, int verbose = 0)
    {
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var result = Predict(xt, batchSize, verbose);
        return TensorConvert.ToNDArray(result);
    }

    /// <summary>Predictions for a tensor; the returned tensor (on the CPU) belongs to the caller.</summary>
    /// <example><code>using Tensor probabilities = model.Predict(xTensor, batchSize: 256);</code></example>
    public Tensor Predict(Tensor x, int? batchSize = null, int verbose = 0)
    {
        var outputs = PredictCore(new SliceDataset(new SliceSource([x])).Batch(CheckBatchSize(batchSize)), null);
        return SingleOutput(outputs);
    }

    /// <summary>Predictions of a model with several inputs and/or outputs, inputs and outputs by name.</summary>
    /// <example><code>
    /// var outputs = model.Predict(new Dictionary&lt;string, Array&gt; { ["title"] = titles, ["body"] = bodies });
    /// NDArray p = outputs["priority"];
    /// </code></example>
    public Dictionary<string, NDArray> Predict(Dictionary<string, Array> x, int? batchSize = null)
    {
        var xs = ByName(x, InputNames, "input");
        try
        {
            var outputs = PredictCore(new SliceDataset(new SliceSource(xs)).Batch(CheckBatchSize(batchSize)), null);
            var names = OutputNames;
            var result = new Dictionary<string, NDArray>(StringComparer.Ordinal);
            for (int k = 0; k < outputs.Length; k++)
            {
                using var o = outputs[k];
                result[names[k]] = TensorConvert.ToNDArray(o);
            }
            return result;
        }
        finally
        {
            foreach (var t in xs) t.Dispose();
        }
    }

    /// <summary>Predictions for a dataset of batches (inputs, optionally followed by targets); an infinite dataset needs <paramref name="steps"/>.</summary>
    /// <example><code>NDArray p = model.Predict(Dataset.FromTensorSlices(testX).Batch(32));</code></example>
    public NDArray Predict(Dataset dataset, int? steps = null, int verbose = 0)
    {
        if (!dataset.IsBatched) throw new ArgumentException("Predict needs a batched dataset: call .Batch(n) on it first.");
        if (dataset.Cardinality == Dataset.Infinite && steps is null) throw new ArgumentException("The dataset is infinite: pass steps to Predict.");
        using var result = SingleOutput(PredictCore(dataset, steps));
        return TensorConvert.ToNDArray(result);
    }

    /// <summary>Predictions for one batch (Keras's <c>predict_on_batch</c>).</summary>
    /// <example><code>NDArray p = model.PredictOnBatch(xBatch);</code></example>
    public NDArray PredictOnBatch(Array x)
    {
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        return Predict(x, batchSize: (int)Math.Max(1, xt.shape[0]));
    }

    private Tensor SingleOutput(Tensor[] outputs)
    {
        if (outputs.Length == 1) return outputs[0];
        foreach (var o in outputs) o.Dispose();
        throw new InvalidOperationException($"Model '{Name}' has {outputs.Length} outputs; use Predict with named inputs (a Dictionary) to get them all.");
    }

    /// <summary>Runs the model over the dataset; one CPU tensor per output, owned by the caller.</summary>
    private Tensor[] PredictCore(Dataset dataset, int? steps)
    {
        var batches = new List<Tensor[]>();
        try
        {
            using var it = dataset.Elements().GetEnumerator();
            for (int step = 0; steps is null || step < steps; step++)
            {
                using (var scope = NewDisposeScope())
                using (no_grad())
                {
                    if (!it.MoveNext()) break;
                    var (x, _, _) = Unpack(it.Current, requireY: false);
                    batches.Add(RunPredictStep(x).Select(o => o.Value.cpu().DetachFromDisposeScope()).ToArray());
                    ApplyAutomaticThreads(x);
                    ClearCallLosses(); // activity terms of this batch die with its scope
                }
                StepGarbage.AfterStep();
            }
            if (batches.Count == 0) throw new ArgumentException("Predict got no data: the input is empty.");
            return Enumerable.Range(0, batches[0].Length)
                .Select(k => batches.Count == 1 ? batches[0][k].alias() : cat(batches.Select(b => b[k]).ToArray(), 0))
                .ToArray();
        }
        finally
        {
            foreach (var b in batches) foreach (var o in b) o.Dispose();
        }
    }
}
