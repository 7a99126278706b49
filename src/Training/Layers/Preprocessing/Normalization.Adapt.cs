using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

// Adapt: the population mean and variance of data over every axis but the kept ones (Keras's Normalization.adapt).
public sealed partial class Normalization
{
    /// <summary>
    /// Learns the mean and variance of <paramref name="data"/> (all samples at once, first axis the batch; converted by
    /// <see cref="TensorConvert.ToTensor"/>). Builds the layer for the data's shape if it is not built.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer was given mean and variance.</exception>
    /// <exception cref="ArgumentException">Data whose kept axes differ from the shape the layer was built for.</exception>
    /// <example><code>var norm = new Normalization(); norm.Adapt(new float[,] { { 1, 10 }, { 3, 30 } });   // mean (2, 20), variance (1, 100)</code></example>
    public void Adapt(Array data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var t = TensorConvert.ToTensor(data, nameof(data));
        Adapt(t);
    }

    /// <summary>As <see cref="Adapt(Array)"/> for a one-dimensional array (this overload settles the choice between the array and tensor forms).</summary>
    /// <example><code>var norm = new Normalization(axis: null); norm.Adapt(new float[] { 1, 2, 3, 4, 5 });   // mean 3, variance 2</code></example>
    public void Adapt<T>(T[] data) where T : unmanaged => Adapt((Array)data);

    /// <summary>As <see cref="Adapt(Array)"/> for a tensor.</summary>
    /// <example><code>var norm = new Normalization(); norm.Adapt(torch.rand(100, 4));</code></example>
    public void Adapt(Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        PrepareAdapt(Shape.Of(data.shape));
        using var scope = NewDisposeScope();
        var (mean, variance, _) = Moments(data);
        Store(mean, variance);
    }

    /// <summary>
    /// Learns the mean and variance of the first tensor of every element of <paramref name="dataset"/> (batched as
    /// Keras requires; an unbatched dataset is read in batches of 128), combining the batches' statistics exactly.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer was given mean and variance.</exception>
    /// <exception cref="ArgumentException">An empty or infinite dataset, or batches whose kept axes differ.</exception>
    /// <example><code>var norm = new Normalization(); norm.Adapt(Dataset.FromTensorSlices(x, y).Batch(64));</code></example>
    public void Adapt(Dataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Cardinality == Dataset.Infinite)
            throw new ArgumentException("Normalization.Adapt: the dataset is infinite; adapt on a finite one (no Repeat()).", nameof(dataset));
        if (!dataset.IsBatched) dataset = dataset.Batch(128);
        Tensor? totalMean = null, totalVariance = null;
        long totalCount = 0;
        try
        {
            using var it = dataset.Elements().GetEnumerator();
            while (true)
            {
                using var scope = NewDisposeScope();
                if (!it.MoveNext()) break;
                var batch = it.Current[0];
                PrepareAdapt(Shape.Of(batch.shape));
                var (mean, variance, count) = Moments(batch);
                if (count == 0) continue;
                totalCount += count;
                double batchWeight = (double)count / totalCount, existingWeight = 1 - batchWeight;
                if (totalMean is null)
                {
                    totalMean = mean.MoveToOuterDisposeScope().DetachFromDisposeScope();
                    totalVariance = variance.MoveToOuterDisposeScope().DetachFromDisposeScope();
                    continue;
                }
                // Keras's pooled update (lack-of-fit sum of squares): exact population variance of all batches together.
                var newMean = totalMean * existingWeight + mean * batchWeight;
                var newVariance = (totalVariance! + (totalMean - newMean).square()) * existingWeight + (variance + (mean - newMean).square()) * batchWeight;
                totalMean.Dispose();
                totalVariance!.Dispose();
                totalMean = newMean.MoveToOuterDisposeScope().DetachFromDisposeScope();
                totalVariance = newVariance.MoveToOuterDisposeScope().DetachFromDisposeScope();
            }
            if (totalMean is null) throw new ArgumentException("Normalization.Adapt: the dataset yielded no values.", nameof(dataset));
            Store(totalMean, totalVariance!);
        }
        finally
        {
            totalMean?.Dispose();
            totalVariance?.Dispose();
        }
    }

    /// <summary>Refuses a layer with given statistics; builds for the data's shape (batch unknown) or checks it against the built one.</summary>
    private void PrepareAdapt(Shape dataShape)
    {
        if (Mean is not null)
            throw new InvalidOperationException($"Layer '{Name}' (Normalization) was given mean and variance; Adapt would replace them. " +
                "Create it without them to learn them.");
        if (!Built)
        {
            int rank = dataShape.Rank;
            bool batchKept = Axis.Any(a => a == 0 || a == -rank);
            EnsureBuilt(batchKept || rank == 0 ? dataShape : new Shape([null, .. dataShape.Dims[1..]]));
            return;
        }
        var built = BuildInputShape!;
        if (dataShape.Rank != built.Rank || keep.Any(d => dataShape[(int)d] != built[(int)d]))
            throw new ArgumentException($"Layer '{Name}' (Normalization) was built with input shape {built}, but Adapt got data of an " +
                $"incompatible shape {dataShape}.");
    }

    /// <summary>Float64 mean and population variance over the reduced axes, and how many values each statistic covers.</summary>
    private (Tensor Mean, Tensor Variance, long Count) Moments(Tensor data)
    {
        var d = data.detach().to_type(ScalarType.Float64);
        var reduce = Enumerable.Range(0, (int)d.dim()).Select(i => (long)i).Where(i => !keep.Contains(i)).ToArray();
        if (reduce.Length == 0) return (d, zeros_like(d), 1);
        long count = reduce.Aggregate(1L, (a, i) => a * d.shape[i]);
        if (count == 0) return (d, d, 0);
        return (d.mean(reduce), d.var(reduce, unbiased: false), count);
    }

    private void Store(Tensor mean, Tensor variance)
    {
        using var scope = NewDisposeScope();
        adaptMean!.Assign(mean.to_type(ScalarType.Float32).reshape(statShape).to(adaptMean.Value.device));
        adaptVariance!.Assign(variance.to_type(ScalarType.Float32).reshape(statShape).to(adaptVariance.Value.device));
    }
}
