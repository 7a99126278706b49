using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>
/// An input pipeline in the style of <c>tf.data.Dataset</c>: each element is a tuple of tensors
/// (<c>x</c>, or <c>(x, y)</c>, or <c>(x, y, sample_weight)</c>). Pipelines built from in-memory tensors
/// (<see cref="FromTensorSlices(Tensor[])"/>) stay index-based until <see cref="Batch"/>, so a batch is one
/// slice or gather of the pre-loaded tensors: no per-sample tensors are created.
/// </summary>
/// <example><code>var ds = Dataset.FromTensorSlices(x, y).Shuffle(1000, seed: 1).Batch(32).Repeat();</code></example>
public abstract partial class Dataset
{
    /// <summary>Cardinality of an infinite dataset.</summary>
    public const long Infinite = -1;

    /// <summary>Cardinality of a dataset whose size is known only by reading it
    /// (<see cref="FromGenerator(Func{IEnumerable{Tensor[]}}, TensorSpec[], bool)"/>, <see cref="Filter"/>,
    /// <see cref="Unbatch"/>).</summary>
    public const long Unknown = -2;

    /// <summary>Number of elements, <see cref="Infinite"/> or <see cref="Unknown"/>.</summary>
    public abstract long Cardinality { get; }

    /// <summary>Whether elements are batches (first dimension is the batch).</summary>
    public abstract bool IsBatched { get; }

    /// <summary>
    /// Enumerates the elements. Tensors are created in the caller's dispose scope (the training loop opens
    /// one per step); the dataset's own source tensors are never disposed by it.
    /// </summary>
    public abstract IEnumerable<Tensor[]> Elements();

    /// <summary>A dataset whose elements are the rows (first-dimension slices) of <paramref name="tensors"/>, which must agree in length.</summary>
    /// <example><code>var ds = Dataset.FromTensorSlices(xTensor, yTensor).Batch(32);</code></example>
    public static Dataset FromTensorSlices(params Tensor[] tensors) => new SliceDataset(new SliceSource(tensors));

    /// <summary>Rows of .NET arrays: features (e.g. <c>float[,]</c>, <c>float[,,,]</c>) and labels (<c>float[,]</c> one-hot or <c>int[]</c>).</summary>
    /// <example><code>var ds = Dataset.FromTensorSlices(trainX, trainLabels).Shuffle(8000, seed: 1).Batch(32);   // float[,] and int[]</code></example>
    public static Dataset FromTensorSlices(Array x, Array? y = null, Array? sampleWeight = null)
    {
        var parts = new List<Tensor> { TensorConvert.ToTensor(x, nameof(x)) };
        if (y is not null) parts.Add(TensorConvert.ToTensor(y, nameof(y)));
        if (sampleWeight is not null) parts.Add(TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight)));
        return new SliceDataset(new SliceSource([.. parts]));
    }

    /// <summary>Groups consecutive elements into batches of <paramref name="batchSize"/>; the last may be smaller unless
    /// <paramref name="dropRemainder"/>.</summary>
    /// <example><code>var batches = Dataset.FromTensorSlices(x, y).Batch(32, dropRemainder: true);</code></example>
    public virtual Dataset Batch(int batchSize, bool dropRemainder = false)
    {
        if (batchSize <= 0) throw new ArgumentException($"Batch size must be positive; got {batchSize}.", nameof(batchSize));
        if (IsBatched) throw new InvalidOperationException("This dataset is already batched; call Batch once (unbatched elements first).");
        return new StackBatchDataset(this, batchSize, dropRemainder);
    }

    /// <summary>Repeats the dataset <paramref name="count"/> times, forever when null. A shuffled dataset is reshuffled each time.</summary>
    /// <example><code>model.Fit(Dataset.FromTensorSlices(x, y).Batch(32).Repeat(), epochs: 10, stepsPerEpoch: 30);</code></example>
    public virtual Dataset Repeat(int? count = null)
    {
        if (count is < 0) throw new ArgumentException($"Repeat count must be >= 0 or null (forever); got {count}.", nameof(count));
        return new RepeatDataset(this, count);
    }

    /// <summary>Shuffles with a buffer of <paramref name="bufferSize"/> elements (tf.data's algorithm); a buffer at least
    /// the dataset's size gives a uniform shuffle. Reshuffled on each iteration.</summary>
    /// <example><code>var ds = Dataset.FromTensorSlices(x, y).Shuffle(bufferSize: 1000, seed: 1).Batch(32);</code></example>
    public virtual Dataset Shuffle(int bufferSize, long? seed = null)
    {
        if (bufferSize <= 0) throw new ArgumentException($"Shuffle buffer size must be positive; got {bufferSize}.", nameof(bufferSize));
        return new ShuffleDataset(this, bufferSize, seed ?? Keras.NextSeed());
    }

    /// <summary>The first <paramref name="count"/> elements.</summary>
    /// <example><code>var validation = Dataset.FromTensorSlices(x, y).Take(1000).Batch(32);</code></example>
    public virtual Dataset Take(long count)
    {
        if (count < 0) throw new ArgumentException($"Take count must be >= 0; got {count}.", nameof(count));
        return new TakeSkipDataset(this, 0, count);
    }

    /// <summary>All but the first <paramref name="count"/> elements.</summary>
    /// <example><code>var training = Dataset.FromTensorSlices(x, y).Skip(1000).Batch(32);</code></example>
    public virtual Dataset Skip(long count)
    {
        if (count < 0) throw new ArgumentException($"Skip count must be >= 0; got {count}.", nameof(count));
        return new TakeSkipDataset(this, count, null);
    }
}

/// <summary>The in-memory tensors behind <see cref="Dataset.FromTensorSlices(Tensor[])"/>.</summary>
internal sealed class SliceSource
{
    public SliceSource(Tensor[] tensors)
    {
        if (tensors.Length == 0) throw new ArgumentException("FromTensorSlices needs at least one tensor.");
        foreach (var t in tensors)
        {
            if (t.dim() == 0) throw new ArgumentException("FromTensorSlices needs tensors with a first dimension to slice; got a scalar.");
        }
        long n = tensors[0].shape[0];
        for (int i = 1; i < tensors.Length; i++)
        {
            if (tensors[i].shape[0] != n)
                throw new ArgumentException($"FromTensorSlices: all tensors need the same number of rows; tensor 0 has {n}, " +
                    $"tensor {i} has {tensors[i].shape[0]}.");
        }
        Tensors = tensors;
        Length = n;
    }

    public Tensor[] Tensors { get; }
    public long Length { get; }

    /// <summary>Rows <paramref name="indices"/> of every tensor: a view when they are consecutive, else one gather.</summary>
    public Tensor[] Rows(ReadOnlySpan<long> indices)
    {
        bool consecutive = true;
        for (int i = 1; i < indices.Length && consecutive; i++) consecutive = indices[i] == indices[i - 1] + 1;
        if (consecutive)
        {
            long start = indices[0], length = indices.Length;
            return Tensors.Select(t => t.narrow(0, start, length)).ToArray();
        }
        var idx = tensor(indices.ToArray(), ScalarType.Int64);
        return Tensors.Select(t => t.index_select(0, t.device == idx.device ? idx : idx.to(t.device))).ToArray();
    }
}

/// <summary>Unbatched rows of a <see cref="SliceSource"/>, in an index order; stays index-based through Shuffle/Repeat/Take/Skip.</summary>
internal sealed class SliceDataset(SliceSource source, Func<IEnumerable<long>>? order = null, long? cardinality = null) : Dataset
{
    private IEnumerable<long> Order() => order?.Invoke() ?? Range(source.Length);

    private static IEnumerable<long> Range(long n)
    {
        for (long i = 0; i < n; i++) yield return i;
    }

    public override long Cardinality => cardinality ?? source.Length;
    public override bool IsBatched => false;

    public override IEnumerable<Tensor[]> Elements()
    {
        foreach (var i in Order())
        {
            yield return source.Tensors.Select(t => t[i]).ToArray();
        }
    }

    public override Dataset Batch(int batchSize, bool dropRemainder = false)
    {
        if (batchSize <= 0) throw new ArgumentException($"Batch size must be positive; got {batchSize}.", nameof(batchSize));
        return new SliceBatchDataset(source, Order, Cardinality, batchSize, dropRemainder);
    }

    public override Dataset Shuffle(int bufferSize, long? seed = null)
    {
        if (bufferSize <= 0) throw new ArgumentException($"Shuffle buffer size must be positive; got {bufferSize}.", nameof(bufferSize));
        var shuffler = new BufferShuffler(bufferSize, seed ?? Keras.NextSeed());
        return new SliceDataset(source, () => shuffler.Shuffle(Order()), Cardinality);
    }

    public override Dataset Repeat(int? count = null)
    {
        if (count is < 0) throw new ArgumentException($"Repeat count must be >= 0 or null (forever); got {count}.", nameof(count));
        long card = count is int c ? (Cardinality == Infinite ? Infinite : Cardinality * c) : (Cardinality == 0 ? 0 : Infinite);
        return new SliceDataset(source, () => RepeatDataset.Loop(Order, count), card);
    }

    public override Dataset Take(long count)
    {
        if (count < 0) throw new ArgumentException($"Take count must be >= 0; got {count}.", nameof(count));
        return new SliceDataset(source, () => Order().Take(checked((int)Math.Min(count, int.MaxValue))),
            Cardinality == Infinite ? count : Math.Min(count, Cardinality));
    }

    public override Dataset Skip(long count)
    {
        if (count < 0) throw new ArgumentException($"Skip count must be >= 0; got {count}.", nameof(count));
        return new SliceDataset(source, () => Order().Skip(checked((int)Math.Min(count, int.MaxValue))),
            Cardinality == Infinite ? Infinite : Math.Max(0, Cardinality - count));
    }
}

/// <summary>Batches of a <see cref="SliceSource"/>: each batch is one narrow (consecutive rows) or one index_select.</summary>
internal sealed class SliceBatchDataset(SliceSource source, Func<IEnumerable<long>> order, long unbatched, int batchSize, bool dropRemainder) : Dataset
{
    public override long Cardinality => unbatched == Infinite ? Infinite : dropRemainder ? unbatched / batchSize : (unbatched + batchSize - 1) / batchSize;
    public override bool IsBatched => true;

    public override IEnumerable<Tensor[]> Elements()
    {
        var buffer = new long[batchSize];
        int n = 0;
        foreach (var i in order())
        {
            buffer[n++] = i;
            if (n == batchSize)
            {
                yield return source.Rows(buffer);
                n = 0;
            }
        }
        if (n > 0 && !dropRemainder) yield return source.Rows(buffer.AsSpan(0, n));
    }
}

/// <summary>Batches any unbatched dataset by stacking elements.</summary>
internal sealed class StackBatchDataset(Dataset inner, int batchSize, bool dropRemainder) : Dataset
{
    public override long Cardinality =>
        inner.Cardinality < 0 ? inner.Cardinality
        : dropRemainder ? inner.Cardinality / batchSize
        : (inner.Cardinality + batchSize - 1) / batchSize;
    public override bool IsBatched => true;

    public override IEnumerable<Tensor[]> Elements()
    {
        var pending = new List<Tensor[]>(batchSize);
        foreach (var e in inner.Elements())
        {
            pending.Add(e);
            if (pending.Count == batchSize)
            {
                yield return Stack(pending);
                pending.Clear();
            }
        }
        if (pending.Count > 0 && !dropRemainder) yield return Stack(pending);
    }

    private static Tensor[] Stack(List<Tensor[]> items) =>
        Enumerable.Range(0, items[0].Length).Select(k => stack(items.Select(e => e[k]).ToArray())).ToArray();
}

internal sealed class RepeatDataset(Dataset inner, int? count) : Dataset
{
    // Repeating forever is infinite unless the input is empty (an unknown size counts as non-empty: Fit then needs stepsPerEpoch).
    public override long Cardinality => count is int c
        ? (c == 0 ? 0 : inner.Cardinality < 0 ? inner.Cardinality : inner.Cardinality * c)
        : (inner.Cardinality == 0 ? 0 : Infinite);
    public override bool IsBatched => inner.IsBatched;
    public override IEnumerable<Tensor[]> Elements() => Loop(inner.Elements, count);

    internal static IEnumerable<T> Loop<T>(Func<IEnumerable<T>> source, int? count)
    {
        for (int k = 0; count is null || k < count; k++)
        {
            bool any = false;
            foreach (var e in source())
            {
                any = true;
                yield return e;
            }
            if (!any) yield break; // repeating an empty dataset forever would hang
        }
    }
}

internal sealed class ShuffleDataset(Dataset inner, int bufferSize, long seed) : Dataset
{
    private readonly BufferShuffler shuffler = new(bufferSize, seed);
    public override long Cardinality => inner.Cardinality;
    public override bool IsBatched => inner.IsBatched;

    // Buffered elements outlive the caller's dispose scope of the step that read them: hold them detached, hand them back owned.
    public override IEnumerable<Tensor[]> Elements() => shuffler.Shuffle(inner.Elements().Select(Owned.Detach)).Select(Owned.Adopt);
}

internal sealed class TakeSkipDataset(Dataset inner, long skip, long? take) : Dataset
{
    public override long Cardinality
    {
        get
        {
            if (inner.Cardinality == Unknown) return take is 0 ? 0 : Unknown;
            long c = inner.Cardinality == Infinite ? Infinite : Math.Max(0, inner.Cardinality - skip);
            if (take is long t) c = c == Infinite ? t : Math.Min(c, t);
            return c;
        }
    }
    public override bool IsBatched => inner.IsBatched;

    public override IEnumerable<Tensor[]> Elements()
    {
        // Stop as soon as the count is reached, without pulling (and so computing) one more element from the input.
        if (take is 0) yield break;
        long i = 0, yielded = 0;
        foreach (var e in inner.Elements())
        {
            if (i++ < skip) continue;
            yield return e;
            if (take is long t && ++yielded >= t) yield break;
        }
    }
}

/// <summary>tf.data's buffered shuffle: keep a buffer, emit a random buffered element, refill its slot. Each pass uses the next seed.</summary>
internal sealed class BufferShuffler(int bufferSize, long seed)
{
    private int pass;

    public IEnumerable<T> Shuffle<T>(IEnumerable<T> source)
    {
        var rng = new Random(unchecked((int)(seed * 1000003 + pass++)));
        var buffer = new List<T>(Math.Min(bufferSize, 1 << 16));
        foreach (var e in source)
        {
            if (buffer.Count < bufferSize)
            {
                buffer.Add(e);
                continue;
            }
            int j = rng.Next(buffer.Count);
            yield return buffer[j];
            buffer[j] = e;
        }
        while (buffer.Count > 0)
        {
            int j = rng.Next(buffer.Count);
            yield return buffer[j];
            buffer[j] = buffer[^1];
            buffer.RemoveAt(buffer.Count - 1);
        }
    }
}
