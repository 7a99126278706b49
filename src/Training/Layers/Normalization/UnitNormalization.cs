namespace OnnxKeras.Layers;

/// <summary>
/// Scales each sample to unit L2 norm over <see cref="Axis"/> (Keras's <c>UnitNormalization</c>):
/// <c>x / sqrt(max(sum(x^2, axis), 1e-12))</c>, so an all-zero slice stays zero. No weights.
/// </summary>
/// <example><code>new UnitNormalization(); new UnitNormalization(axis: [1, 2]);</code></example>
public sealed class UnitNormalization : Layer
{
    private const double MinSquareSum = 1e-12;

    /// <summary>Creates the layer over several axes (Keras's list <c>axis</c>; negative values count from the end).</summary>
    /// <exception cref="ArgumentException"><paramref name="axis"/> is empty or repeats an axis.</exception>
    public UnitNormalization(int[] axis)
    {
        ArgumentNullException.ThrowIfNull(axis);
        if (axis.Length == 0) throw new ArgumentException("UnitNormalization: axis must name at least one axis; got an empty list.", nameof(axis));
        if (axis.Distinct().Count() != axis.Length)
            throw new ArgumentException($"UnitNormalization: axis has repeated entries: [{string.Join(", ", axis)}].", nameof(axis));
        Axis = (int[])axis.Clone();
    }

    /// <summary>Creates the layer over one axis (Keras's default: the last).</summary>
    public UnitNormalization(int axis = -1) : this([axis])
    {
    }

    /// <summary>The axes normalized over, as given.</summary>
    public IReadOnlyList<int> Axis { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var squares = Ops.Square(inputs);
        foreach (int a in Resolve(inputs.Shape)) squares = Ops.Sum(squares, a, keepDims: true);
        return Ops.Divide(inputs, Ops.Sqrt(Ops.Clip(squares, MinSquareSum, double.PositiveInfinity)));
    }

    private int[] Resolve(Shape inputShape)
    {
        int rank = inputShape.Rank;
        var resolved = Axis.Select(a => a < 0 ? a + rank : a).ToArray();
        if (resolved.Any(a => a < 1 || a >= rank) || resolved.Distinct().Count() != resolved.Length)
        {
            throw new ArgumentException(
                $"Layer '{Name}' (UnitNormalization): axis [{string.Join(", ", Axis)}] must name distinct non-batch axes of input shape {inputShape}.");
        }
        return resolved;
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        Resolve(inputShape);
        return inputShape;
    }

    /// <summary>Keras passes the input mask through this layer.</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("axis", Axis.Count == 1 ? Axis[0] : Axis.ToArray());
}
