namespace OnnxKeras.Layers;

/// <summary>What a layer accepts: rank bounds and fixed sizes of some axes (Keras's <c>InputSpec</c>).</summary>
public sealed class InputSpec
{
    /// <summary>Exact rank, if fixed.</summary>
    public int? Rank { get; init; }

    /// <summary>Minimum rank.</summary>
    public int? MinRank { get; init; }

    /// <summary>Required sizes by axis (negative axes count from the end).</summary>
    public IReadOnlyDictionary<int, long> Axes { get; init; } = new Dictionary<int, long>();

    /// <summary>Throws an <see cref="ArgumentException"/> naming the layer and both shapes when <paramref name="shape"/> does not fit.</summary>
    public void Check(Layer layer, Shape shape)
    {
        if (Rank is int r && shape.Rank != r)
            throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) expects input of rank {r}; got shape {shape} (rank {shape.Rank}).");
        if (MinRank is int m && shape.Rank < m)
            throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) expects input of rank >= {m}; got shape {shape} (rank {shape.Rank}).");
        foreach (var (axis, size) in Axes)
        {
            int a = axis < 0 ? shape.Rank + axis : axis;
            if (a < 0 || a >= shape.Rank || (shape[a] is long d && d != size))
            {
                var expected = layer.BuildInputShape?.ToString() ?? $"axis {axis} of size {size}";
                throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) expects input shape {expected} (axis {axis} " +
                    $"= {size}); got shape {shape}.");
            }
        }
    }
}
