namespace OnnxKeras.Layers;

/// <summary>Concatenates inputs along <see cref="Axis"/> (default last); other dimensions must agree (Keras's <c>Concatenate</c>).</summary>
/// <example><code>var joined = new Concatenate().Apply([a, b]);</code></example>
public sealed class Concatenate(int axis = -1) : Merge
{
    /// <summary>The axis (negative counts from the end; 0, the batch axis, is not allowed).</summary>
    public int Axis { get; } = axis;

    /// <inheritdoc />
    protected override Shape CheckShapes(IReadOnlyList<Shape> shapes)
    {
        int rank = shapes[0].Rank;
        int a = Axis < 0 ? rank + Axis : Axis;
        if (a <= 0 || a >= rank)
            throw new ArgumentException($"Layer '{Name}' (Concatenate): axis {Axis} is invalid for inputs of rank {rank} (the batch axis " +
                "cannot be concatenated).");
        long? total = 0;
        foreach (var s in shapes)
        {
            if (s.Rank != rank)
                throw new ArgumentException($"Layer '{Name}' (Concatenate) needs inputs of the same rank; got shapes {string.Join(", ", shapes)}.");
            for (int i = 1; i < rank; i++)
            {
                if (i != a && s[i] is long d && shapes[0][i] is long d0 && d != d0)
                    throw new ArgumentException($"Layer '{Name}' (Concatenate) needs inputs with matching shapes except on the " +
                        $"concatenation axis {Axis}; got shapes {string.Join(", ", shapes)}.");
            }
            total = total is long t && s[a] is long x ? t + x : null;
        }
        var dims = shapes[0].Dims;
        dims[a] = total;
        return new Shape(dims);
    }

    /// <inheritdoc />
    protected override KTensor MergeFunction(IReadOnlyList<KTensor> inputs) => Ops.Concatenate(inputs, Axis);

    /// <summary>Masks pass (and-ed) through a concatenation of features (the last axis); along other axes they are dropped.</summary>
    public override bool SupportsMasking => Axis == -1 || (BuildInputShape is { } shape && Axis == shape.Rank - 1);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("axis", Axis);
}
