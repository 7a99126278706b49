using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>Elements of a user's sequence, checked against the output signature; handed out as new handles.</summary>
internal sealed class GeneratorDataset(Func<IEnumerable<Tensor[]>> generator, TensorSpec[] signature, bool batched) : Dataset
{
    public override long Cardinality => Unknown;
    public override bool IsBatched => batched;

    public override IEnumerable<Tensor[]> Elements()
    {
        long index = 0;
        foreach (var e in generator() ?? throw new InvalidOperationException("FromGenerator: the generator returned null instead of a sequence."))
        {
            if (e is null) throw new InvalidOperationException($"FromGenerator: element {index} is null.");
            if (e.Length != signature.Length)
                throw new InvalidOperationException($"FromGenerator: element {index} has {e.Length} tensor(s); the output signature has {signature.Length}.");
            for (int k = 0; k < e.Length; k++)
            {
                if (e[k] is null) throw new InvalidOperationException($"FromGenerator: tensor {k} of element {index} is null.");
                if (signature[k].Mismatch(e[k]) is string why)
                    throw new InvalidOperationException($"FromGenerator: tensor {k} of element {index} does not match the output signature: {why}.");
            }
            index++;
            yield return e.Select(t => t.alias()).ToArray();
        }
    }
}

internal sealed class MapDataset(Dataset inner, Func<Tensor[], Tensor[]> fn) : Dataset
{
    public override long Cardinality => inner.Cardinality;
    public override bool IsBatched => inner.IsBatched;
    public override IEnumerable<Tensor[]> Elements() => inner.Elements().Select(fn);
}

internal sealed class FilterDataset(Dataset inner, Func<Tensor[], bool> predicate) : Dataset
{
    public override long Cardinality => inner.Cardinality == Infinite ? Infinite : Unknown;
    public override bool IsBatched => inner.IsBatched;
    public override IEnumerable<Tensor[]> Elements() => inner.Elements().Where(predicate);
}

/// <summary>Copies of the first complete pass, replayed (as new handles) on later passes.</summary>
internal sealed class CacheDataset(Dataset inner) : Dataset
{
    private List<Tensor[]>? cache;

    public override long Cardinality => inner.Cardinality;
    public override bool IsBatched => inner.IsBatched;

    public override IEnumerable<Tensor[]> Elements()
    {
        var done = Volatile.Read(ref cache);
        if (done is not null)
        {
            foreach (var e in done) yield return e.Select(t => t.alias()).ToArray();
            yield break;
        }
        var building = new List<Tensor[]>();
        bool complete = false;
        try
        {
            foreach (var e in inner.Elements())
            {
                building.Add(e.Select(Copy).ToArray());
                yield return e;
            }
            complete = true;
        }
        finally
        {
            // Only a complete pass is kept; a concurrent pass that finished first wins.
            if (!complete || Interlocked.CompareExchange(ref cache, building, null) is not null)
            {
                foreach (var e in building) Owned.Dispose(e);
            }
        }
    }

    private static Tensor Copy(Tensor t)
    {
        using var detached = t.detach();
        var copy = detached.clone();
        copy.DetachFromDisposeScope();
        return copy;
    }
}

/// <summary>The rows of each batch.</summary>
internal sealed class UnbatchDataset(Dataset inner) : Dataset
{
    public override long Cardinality => inner.Cardinality == Infinite ? Infinite : inner.Cardinality == 0 ? 0 : Unknown;
    public override bool IsBatched => false;

    public override IEnumerable<Tensor[]> Elements()
    {
        foreach (var e in inner.Elements())
        {
            // The batch outlives the step that read it: hold it detached while its rows are read.
            var batch = Owned.Detach(e);
            try
            {
                if (batch.Any(t => t.dim() == 0)) throw new InvalidOperationException("Unbatch: a batch holds a scalar tensor, which has no rows.");
                long n = batch[0].shape[0];
                if (batch.Any(t => t.shape[0] != n))
                    throw new InvalidOperationException("Unbatch: the tensors of a batch have different first dimensions " +
                        $"({string.Join(", ", batch.Select(t => t.shape[0]))}).");
                for (long i = 0; i < n; i++) yield return batch.Select(t => t[i]).ToArray();
            }
            finally
            {
                Owned.Dispose(batch);
            }
        }
    }
}

internal sealed class ZipDataset(Dataset[] datasets) : Dataset
{
    public override long Cardinality
    {
        get
        {
            var known = datasets.Select(d => d.Cardinality).Where(c => c >= 0).ToList();
            if (known.Count > 0) return known.Min();
            return datasets.Any(d => d.Cardinality == Unknown) ? Unknown : Infinite;
        }
    }
    public override bool IsBatched => datasets[0].IsBatched;

    public override IEnumerable<Tensor[]> Elements()
    {
        var its = new List<IEnumerator<Tensor[]>>(datasets.Length);
        try
        {
            foreach (var d in datasets) its.Add(d.Elements().GetEnumerator());
            while (true)
            {
                var parts = new List<Tensor>();
                foreach (var it in its)
                {
                    if (!it.MoveNext()) yield break;
                    parts.AddRange(it.Current);
                }
                yield return [.. parts];
            }
        }
        finally
        {
            foreach (var it in its) it.Dispose();
        }
    }
}

internal sealed class ConcatenateDataset(Dataset first, Dataset second) : Dataset
{
    public override long Cardinality =>
        first.Cardinality == Infinite || second.Cardinality == Infinite ? Infinite
        : first.Cardinality == Unknown || second.Cardinality == Unknown ? Unknown
        : first.Cardinality + second.Cardinality;
    public override bool IsBatched => first.IsBatched;

    public override IEnumerable<Tensor[]> Elements()
    {
        int? width = null;
        foreach (var e in first.Elements())
        {
            width ??= e.Length;
            yield return e;
        }
        foreach (var e in second.Elements())
        {
            if (width is int w && e.Length != w)
                throw new InvalidOperationException($"Concatenate: the first dataset's elements have {w} tensor(s), the second's have {e.Length}.");
            yield return e;
        }
    }
}
