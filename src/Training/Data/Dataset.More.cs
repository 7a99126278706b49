using static TorchSharp.torch;

namespace OnnxKeras.Data;

// The file cache, Interleave and Window.
public abstract partial class Dataset
{
    /// <summary>
    /// Caches the elements in the file <paramref name="filename"/> (tf.data's <c>cache(filename)</c>). The first complete
    /// pass writes them to a temporary file beside it, renamed to <paramref name="filename"/> only when the pass has read
    /// every element, so a pass stopped early (Take, stepsPerEpoch, an exception) leaves no cache: the next pass writes
    /// it again, and a truncated file is never trusted. Once the file exists, every pass (in this process or a later
    /// one) reads it and not this dataset: delete the file when the data changes. Tensors are stored with their dtype
    /// and shape; they come back on the CPU.
    /// </summary>
    /// <exception cref="ArgumentException">An empty file name, or an infinite dataset.</exception>
    /// <exception cref="InvalidDataException">(When read) the file is not a cache file or is damaged.</exception>
    /// <example><code>var ds = Dataset.FromTensorSlices(x, y).Map(e => [e[0] / 255, e[1]]).Cache("/tmp/train.cache").Batch(32);</code></example>
    public Dataset Cache(string filename)
    {
        if (string.IsNullOrEmpty(filename)) throw new ArgumentException("Cache: the file name is empty; call Cache() for a memory cache.", nameof(filename));
        if (Cardinality == Infinite) throw new ArgumentException("Cache needs a finite dataset: call Cache before Repeat().");
        return new FileCacheDataset(this, Path.GetFullPath(filename));
    }

    /// <summary>
    /// Maps each element to a dataset with <paramref name="fn"/> and interleaves their elements (tf.data's
    /// <c>interleave</c>, deterministic order): <paramref name="cycleLength"/> datasets are open at once, and
    /// <paramref name="blockLength"/> consecutive elements are taken from each in turn; a dataset that ends is replaced by
    /// the next element's. <paramref name="cycleLength"/> null uses the number of processors, as tf.data's AUTOTUNE.
    /// The datasets <paramref name="fn"/> returns must be unbatched (batch after Interleave). Cardinality: unknown.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="cycleLength"/> or <paramref name="blockLength"/> below 1, a
    /// batched input, or <paramref name="numParallelCalls"/> other than null (parallel interleave is not implemented).</exception>
    /// <example><code>
    /// // Elements 0..3, each expanded to three rows; two at a time, two rows from each in turn.
    /// var ds = Dataset.FromTensorSlices(torch.arange(4)).Interleave(e => Dataset.FromTensorSlices(e[0].repeat(3)), cycleLength: 2, blockLength: 2);
    /// </code></example>
    public Dataset Interleave(Func<Tensor[], Dataset> fn, int? cycleLength = null, int blockLength = 1, int? numParallelCalls = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        if (cycleLength is < 1) throw new ArgumentException($"Interleave: cycleLength must be >= 1; got {cycleLength}.", nameof(cycleLength));
        if (blockLength < 1) throw new ArgumentException($"Interleave: blockLength must be >= 1; got {blockLength}.", nameof(blockLength));
        if (numParallelCalls is not null)
            throw new ArgumentException("Interleave: numParallelCalls is not implemented (only null, sequential); " +
                "use Prefetch or a parallel Map for overlap.", nameof(numParallelCalls));
        if (IsBatched) throw new ArgumentException("Interleave needs an unbatched dataset (its elements are the inputs of fn).");
        return new InterleaveDataset(this, fn, cycleLength ?? Environment.ProcessorCount, blockLength);
    }

    /// <summary>
    /// Sliding windows of <paramref name="size"/> elements (tf.data's <c>window</c> followed by batching each window):
    /// window <c>k</c> starts at element <c>k * shift</c> and holds every <paramref name="stride"/>-th element from there;
    /// each element of the result stacks a window's tensors along a new first dimension. Without
    /// <paramref name="dropRemainder"/> the last windows may be shorter (as in tf.data), and then cannot be batched with
    /// full ones. <paramref name="shift"/> defaults to <paramref name="size"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A size, shift or stride below 1, or a batched dataset.</exception>
    /// <example><code>
    /// // A series of 100 steps as windows of 10 consecutive steps, one window per step: 91 windows of shape [10, 4].
    /// var windows = Dataset.FromTensorSlices(torch.rand(100, 4)).Window(10, shift: 1, dropRemainder: true).Batch(16);
    /// </code></example>
    public Dataset Window(int size, int? shift = null, int stride = 1, bool dropRemainder = false)
    {
        if (size < 1) throw new ArgumentException($"Window: size must be >= 1; got {size}.", nameof(size));
        if (shift is < 1) throw new ArgumentException($"Window: shift must be >= 1; got {shift}.", nameof(shift));
        if (stride < 1) throw new ArgumentException($"Window: stride must be >= 1; got {stride}.", nameof(stride));
        if (IsBatched) throw new ArgumentException("Window needs an unbatched dataset (call Window before Batch).");
        return new WindowDataset(this, size, shift ?? size, stride, dropRemainder);
    }
}

internal sealed class InterleaveDataset(Dataset inner, Func<Tensor[], Dataset> fn, int cycleLength, int blockLength) : Dataset
{
    public override long Cardinality => inner.Cardinality == 0 ? 0 : inner.Cardinality == Infinite ? Infinite : Unknown;
    public override bool IsBatched => false;

    // tf.data's InterleaveDatasetOp, step by step: a slot with an open dataset yields its next element (moving on after
    // blockLength of them); an ended one is closed and the cycle moves on; an empty slot opens the next input element.
    public override IEnumerable<Tensor[]> Elements()
    {
        var open = new IEnumerator<Tensor[]>?[cycleLength];
        var args = new Tensor[]?[cycleLength];
        using var input = inner.Elements().GetEnumerator();
        bool endOfInput = false;
        int numOpen = 0, cycle = 0, block = 0;
        try
        {
            while (!endOfInput || numOpen > 0)
            {
                if (open[cycle] is { } it)
                {
                    if (it.MoveNext())
                    {
                        if (++block == blockLength) Advance();
                        yield return it.Current;
                        continue;
                    }
                    Close(cycle);
                    numOpen--;
                    Advance();
                }
                else if (!endOfInput)
                {
                    if (!input.MoveNext())
                    {
                        endOfInput = true;
                        continue;
                    }
                    // The input element outlives the step that read it: held detached while its dataset is open.
                    args[cycle] = Owned.Detach(input.Current);
                    var ds = fn(args[cycle]!) ?? throw new InvalidOperationException("Interleave: fn returned null instead of a dataset.");
                    if (ds.IsBatched) throw new InvalidOperationException("Interleave: fn returned a batched dataset; batch after Interleave.");
                    open[cycle] = ds.Elements().GetEnumerator();
                    numOpen++;
                }
                else Advance();
            }
        }
        finally
        {
            for (int i = 0; i < cycleLength; i++) Close(i);
        }

        void Advance()
        {
            block = 0;
            cycle = (cycle + 1) % cycleLength;
        }

        void Close(int slot)
        {
            open[slot]?.Dispose();
            open[slot] = null;
            Owned.Dispose(args[slot]);
            args[slot] = null;
        }
    }
}

internal sealed class WindowDataset(Dataset inner, int size, int shift, int stride, bool dropRemainder) : Dataset
{
    private long Span => (long)(size - 1) * stride + 1;

    public override long Cardinality
    {
        get
        {
            long n = inner.Cardinality;
            if (n < 0) return n;
            if (dropRemainder) return n < Span ? 0 : (n - Span) / shift + 1;
            return (n + shift - 1) / shift;
        }
    }
    public override bool IsBatched => false;

    public override IEnumerable<Tensor[]> Elements()
    {
        // buffer[i] is element first + i, held detached (it outlives the step that read it).
        var buffer = new List<Tensor[]>();
        long first = 0, start = 0;
        bool ended = false;
        using var it = inner.Elements().GetEnumerator();
        try
        {
            while (true)
            {
                while (!ended && first + buffer.Count < start + Span)
                {
                    if (it.MoveNext()) buffer.Add(Owned.Detach(it.Current));
                    else ended = true;
                }
                // Elements before the window start (shift > span) are read and dropped.
                while (buffer.Count > 0 && first < start)
                {
                    Owned.Dispose(buffer[0]);
                    buffer.RemoveAt(0);
                    first++;
                }
                long available = first + buffer.Count - start;
                if (available <= 0 || (dropRemainder && available < Span)) yield break;
                var rows = new List<Tensor[]>();
                for (long k = 0; k < size && k * stride < available; k++) rows.Add(buffer[(int)(start - first + k * stride)]);
                yield return Enumerable.Range(0, rows[0].Length).Select(j => stack(rows.Select(r => r[j]).ToArray())).ToArray();
                start += shift;
            }
        }
        finally
        {
            foreach (var e in buffer) Owned.Dispose(e);
        }
    }
}
