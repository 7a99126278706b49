namespace OnnxKeras.Layers;

/// <summary>
/// Softmax layer (Keras's <c>Softmax</c>): <c>exp(x - max(x)) / sum(exp(x - max(x)))</c> along <see cref="Axis"/>
/// (the last axis by default), or jointly over several axes.
/// </summary>
/// <example><code>new Softmax(); new Softmax(axis: 1); new Softmax(axis: [1, 2]);</code></example>
public sealed class Softmax : Layer
{
    private readonly int[] axis;

    /// <summary>Creates a softmax jointly over the axes <paramref name="axis"/> (Keras's list <c>axis</c>).</summary>
    public Softmax(int[] axis)
    {
        ArgumentNullException.ThrowIfNull(axis);
        if (axis.Length == 0) throw new ArgumentException("Softmax: axis must name at least one axis; got an empty list.", nameof(axis));
        if (axis.Distinct().Count() != axis.Length)
            throw new ArgumentException($"Softmax: axis has repeated entries: [{string.Join(", ", axis)}].", nameof(axis));
        this.axis = (int[])axis.Clone();
    }

    /// <summary>Creates a softmax along <paramref name="axis"/> (default the last).</summary>
    public Softmax(int axis = -1) : this([axis])
    {
    }

    /// <summary>The axes the softmax normalizes over.</summary>
    public IReadOnlyList<int> Axis => axis;

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        Check(inputs.Shape);
        return Ops.Softmax(inputs, axis);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        Check(inputShape);
        return inputShape;
    }

    private void Check(Shape shape)
    {
        var resolved = axis.Select(a => a < 0 ? a + shape.Rank : a).ToArray();
        if (resolved.Any(a => a < 0 || a >= shape.Rank) || resolved.Distinct().Count() != resolved.Length)
            throw new ArgumentException($"Layer '{Name}' (Softmax): axis [{string.Join(", ", axis)}] is not valid for input shape " +
                $"{shape} (rank {shape.Rank}).");
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("axis", axis.Length == 1 ? axis[0] : axis.ToArray());
}
