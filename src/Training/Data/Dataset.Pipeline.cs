using static TorchSharp.torch;

namespace OnnxKeras.Data;

// Sources from any .NET sequence, and the tf.data transformations beyond batch/repeat/shuffle/take/skip.
public abstract partial class Dataset
{
    /// <summary><c>tf.data.AUTOTUNE</c>: for <see cref="Map(Func{Tensor[], Tensor[]}, int?)"/> one call per processor,
    /// for <see cref="Prefetch"/> a buffer of 2.</summary>
    public const int Autotune = -1;

    /// <summary>
    /// A dataset read from <paramref name="generator"/>, called anew for every pass (Keras's
    /// <c>tf.data.Dataset.from_generator(gen, output_signature=...)</c>). Every element must match
    /// <paramref name="outputSignature"/> (one <see cref="TensorSpec"/> per tensor: same dtype, same rank, equal known
    /// dimensions); a mismatch throws <see cref="InvalidOperationException"/> naming the element and the tensor. With
    /// <paramref name="batched"/> each element is already a batch (feed it to Fit as it is); otherwise call
    /// <see cref="Batch"/>. The cardinality is <see cref="Unknown"/>. The dataset hands out new handles on the yielded
    /// tensors, so tensors the generator keeps (a list it yields from) are never disposed by the reader.
    /// </summary>
    /// <exception cref="ArgumentException">An empty signature.</exception>
    /// <example><code>
    /// IEnumerable&lt;Tensor[]&gt; Rows() { for (int i = 0; i &lt; 100; i++) yield return [torch.full(4, i / 100f), torch.tensor(i % 3L)]; }
    /// var ds = Dataset.FromGenerator(Rows, [new TensorSpec(new Shape(4)), new TensorSpec(new Shape(), "int64")]).Batch(32);
    /// </code></example>
    public static Dataset FromGenerator(Func<IEnumerable<Tensor[]>> generator, TensorSpec[] outputSignature, bool batched = false)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return new GeneratorDataset(generator, CheckSignature(outputSignature), batched);
    }

    /// <summary>
    /// As <see cref="FromGenerator(Func{IEnumerable{Tensor[]}}, TensorSpec[], bool)"/> for a generator of .NET arrays,
    /// converted by <see cref="TensorConvert.ToTensor"/> (floating-point data to float32, <c>int</c>/<c>long</c> to int64)
    /// before the signature check.
    /// </summary>
    /// <example><code>
    /// IEnumerable&lt;Array[]&gt; Rows() { for (int i = 0; i &lt; 100; i++) yield return [new float[] { i, 2 * i }, new[] { i % 2 }]; }
    /// var ds = Dataset.FromGenerator(Rows, [new TensorSpec(new Shape(2)), new TensorSpec(new Shape(1), "int64")]).Batch(10);
    /// </code></example>
    public static Dataset FromGenerator(Func<IEnumerable<Array[]>> generator, TensorSpec[] outputSignature, bool batched = false)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return new GeneratorDataset(() => generator().Select(e => e.Select((a, k) => TensorConvert.ToTensor(a, $"element tensor {k}")).ToArray()),
            CheckSignature(outputSignature), batched);
    }

    /// <summary>
    /// A dataset over <paramref name="source"/>, enumerated anew for every pass (a C# iterator method restarts; a list
    /// is read again). See <see cref="FromGenerator(Func{IEnumerable{Tensor[]}}, TensorSpec[], bool)"/>.
    /// </summary>
    /// <example><code>
    /// var ds = Dataset.FromEnumerable(batches,
    ///     [new TensorSpec(new Shape(null, 4)), new TensorSpec(new Shape((long?)null), "int64")], batched: true);
    /// </code></example>
    public static Dataset FromEnumerable(IEnumerable<Tensor[]> source, TensorSpec[] outputSignature, bool batched = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        return FromGenerator(() => source, outputSignature, batched);
    }

    /// <summary>
    /// Transforms each element's tensors. With <paramref name="numParallelCalls"/> (a count, or <see cref="Autotune"/>)
    /// up to that many calls run at once on pool threads while the input is read on a background thread; the output
    /// keeps the input's order. An exception thrown by <paramref name="fn"/> surfaces, with its own type and stack trace,
    /// where the element is read (in Fit, Fit throws it); disposing the reader (Fit returning or throwing) stops the
    /// background work and waits for it. <paramref name="fn"/> must be thread-safe when parallel; random draws inside it
    /// are not reproducible then, as in tf.data.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="numParallelCalls"/> below 1 and not <see cref="Autotune"/>.</exception>
    /// <example><code>var scaled = Dataset.FromTensorSlices(x, y).Map(e => [e[0] / 255, e[1]], numParallelCalls: 2).Batch(32);</code></example>
    public Dataset Map(Func<Tensor[], Tensor[]> fn, int? numParallelCalls = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        if (numParallelCalls is null) return new MapDataset(this, fn);
        if (numParallelCalls is < 1 and not Autotune)
            throw new ArgumentException($"numParallelCalls must be >= 1 or Dataset.Autotune; got {numParallelCalls}.", nameof(numParallelCalls));
        int parallel = numParallelCalls == Autotune ? Environment.ProcessorCount : numParallelCalls.Value;
        return new BackgroundDataset(this, parallel, fn);
    }

    /// <summary>Transforms each <c>(x, y)</c> element; see <see cref="Map(Func{Tensor[], Tensor[]}, int?)"/>.</summary>
    /// <example><code>var scaled = Dataset.FromTensorSlices(x, y).Map((img, label) => (img / 255, label));</code></example>
    public Dataset Map(Func<Tensor, Tensor, (Tensor X, Tensor Y)> fn, int? numParallelCalls = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        return Map(e =>
        {
            if (e.Length < 2) throw new InvalidOperationException("Map with (x, y) needs elements of two tensors.");
            var (x, y) = fn(e[0], e[1]);
            return [x, y, .. e[2..]];
        }, numParallelCalls);
    }

    /// <summary>
    /// Reads up to <paramref name="bufferSize"/> elements ahead on a background thread (<see cref="Autotune"/>: 2), so
    /// a slow input (a generator, a <see cref="Map(Func{Tensor[], Tensor[]}, int?)"/>) overlaps with the training step.
    /// 0 returns this dataset. Errors of the input surface in order, where the reader would have met them; disposing
    /// the reader stops and joins the thread.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="bufferSize"/> below -1.</exception>
    /// <example><code>var ds = Dataset.FromTensorSlices(x, y).Map(e => [e[0] / 255, e[1]]).Batch(32).Prefetch(2);</code></example>
    public Dataset Prefetch(int bufferSize = Autotune)
    {
        if (bufferSize < Autotune)
            throw new ArgumentException($"Prefetch buffer size must be >= 0 or Dataset.Autotune (-1); got {bufferSize}.", nameof(bufferSize));
        return bufferSize == 0 ? this : new BackgroundDataset(this, bufferSize == Autotune ? 2 : bufferSize, fn: null);
    }

    /// <summary>
    /// Keeps the elements of the first complete pass in memory (copies) and replays them on later passes, so a slow
    /// source or Map runs once. A pass stopped early (Take, stepsPerEpoch) caches nothing, as tf.data's memory cache.
    /// Put it before <see cref="Shuffle"/> and <see cref="Repeat"/> so each epoch still gets a new order.
    /// </summary>
    /// <exception cref="ArgumentException">An infinite dataset (its pass never completes).</exception>
    /// <example><code>var ds = Dataset.FromTensorSlices(x, y).Map(e => [e[0] / 255, e[1]]).Cache().Shuffle(100, seed: 1).Batch(32);</code></example>
    public Dataset Cache()
    {
        if (Cardinality == Infinite) throw new ArgumentException("Cache needs a finite dataset: call Cache before Repeat().");
        return new CacheDataset(this);
    }

    /// <summary>The elements for which <paramref name="predicate"/> is true (cardinality <see cref="Unknown"/>).</summary>
    /// <example><code>var positives = Dataset.FromTensorSlices(x, y).Filter(e => e[1].item&lt;float&gt;() &gt; 0).Batch(32);</code></example>
    public Dataset Filter(Func<Tensor[], bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new FilterDataset(this, predicate);
    }

    /// <summary>Splits each batch into its rows (<c>Dataset.unbatch</c>); every tensor of a batch needs the same first dimension.</summary>
    /// <exception cref="InvalidOperationException">The dataset is not batched.</exception>
    /// <example><code>var rows = Dataset.FromTensorSlices(x, y).Batch(32).Unbatch().Batch(8);</code></example>
    public Dataset Unbatch()
    {
        if (!IsBatched) throw new InvalidOperationException("Unbatch needs a batched dataset (call Batch first).");
        return new UnbatchDataset(this);
    }

    /// <summary>
    /// Elements made of the tensors of each dataset's element in turn (<c>Dataset.zip((a, b))</c>: an element of
    /// <c>a</c> with <c>(x)</c> and one of <c>b</c> with <c>(y)</c> gives <c>(x, y)</c>); stops with the shortest.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two datasets, or batched and unbatched ones mixed.</exception>
    /// <example><code>var ds = Dataset.Zip(Dataset.FromTensorSlices(x), Dataset.FromTensorSlices(y)).Batch(32);</code></example>
    public static Dataset Zip(params Dataset[] datasets)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        if (datasets.Length < 2) throw new ArgumentException($"Zip needs at least two datasets; got {datasets.Length}.", nameof(datasets));
        if (datasets.Any(d => d.IsBatched != datasets[0].IsBatched))
            throw new ArgumentException("Zip: batched and unbatched datasets cannot be zipped.", nameof(datasets));
        return new ZipDataset(datasets);
    }

    /// <summary>This dataset's elements followed by <paramref name="other"/>'s, which must have as many tensors per element.</summary>
    /// <exception cref="ArgumentException">One is batched and the other is not.</exception>
    /// <example><code>var all = Dataset.FromTensorSlices(x1, y1).Concatenate(Dataset.FromTensorSlices(x2, y2)).Batch(32);</code></example>
    public Dataset Concatenate(Dataset other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.IsBatched != IsBatched) throw new ArgumentException("Concatenate: batched and unbatched datasets cannot be concatenated.", nameof(other));
        return new ConcatenateDataset(this, other);
    }

    private static TensorSpec[] CheckSignature(TensorSpec[] outputSignature)
    {
        ArgumentNullException.ThrowIfNull(outputSignature);
        if (outputSignature.Length == 0)
            throw new ArgumentException("outputSignature needs one TensorSpec per tensor of an element; got none.", nameof(outputSignature));
        foreach (var spec in outputSignature)
        {
            ArgumentNullException.ThrowIfNull(spec, nameof(outputSignature));
            _ = spec.ScalarType; // an unknown dtype fails here, not at the first element
        }
        return outputSignature;
    }
}
