namespace OnnxKeras.Layers;

/// <summary>
/// Reshapes each sample to <see cref="TargetShape"/> (Keras's <c>Reshape</c>); the batch dimension is kept. One entry
/// may be -1, inferred from the input's size. Elements keep their row-major (C) order.
/// </summary>
/// <example><code>new Reshape([3, 4]); new Reshape([-1, 2, 2]);</code></example>
public sealed class Reshape : Layer
{
    private readonly long[] targetShape;

    /// <summary>Creates a reshape to <paramref name="targetShape"/> (without the batch dimension).</summary>
    public Reshape(long[] targetShape)
    {
        ArgumentNullException.ThrowIfNull(targetShape);
        if (targetShape.Count(d => d == -1) > 1)
            throw new ArgumentException($"Reshape: target_shape must not contain more than one -1; got {Format(targetShape)}.", nameof(targetShape));
        if (targetShape.Any(d => d < -1))
            throw new ArgumentException($"Reshape: target_shape entries must be >= 0 or -1 (inferred); got {Format(targetShape)}.", nameof(targetShape));
        this.targetShape = (long[])targetShape.Clone();
    }

    /// <summary>The per-sample target shape (may hold one -1).</summary>
    public IReadOnlyList<long> TargetShape => targetShape;

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var shape = inputs.Shape;
        var resolved = Resolve(shape).Select(d => d!.Value).ToArray();
        // -1 for the batch (the target is fully resolved), so the op does not depend on the batch size (ONNX export);
        // with an empty sample the batch cannot be inferred and is given.
        long batch = resolved.Aggregate(1L, (a, b) => a * b) == 0 ? shape[0]!.Value : -1;
        return Ops.Reshape(inputs, [batch, .. resolved]);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => new([inputShape[0], .. Resolve(inputShape)]);

    /// <summary>Keras's compute_reshape_output_shape on the per-sample dimensions; null where the input leaves a size unknown.</summary>
    private long?[] Resolve(Shape inputShape)
    {
        if (inputShape.Rank < 1) throw new ArgumentException($"Layer '{Name}' (Reshape) needs an input with a batch dimension; got shape {inputShape}.");
        var sample = inputShape.Slice(1, inputShape.Rank);
        if (!sample.IsFullyDefined) return targetShape.Select(d => d == -1 ? null : (long?)d).ToArray();
        long inputSize = sample.NumElements!.Value;
        int unknown = Array.IndexOf(targetShape, -1L);
        long known = targetShape.Where(d => d != -1).Aggregate(1L, (a, b) => a * b);
        if (unknown < 0)
        {
            if (known != inputSize)
                throw new ArgumentException($"Layer '{Name}' (Reshape) cannot reshape input of shape {inputShape} ({inputSize} values " +
                    $"per sample) to target shape {Format(targetShape)} ({known} values): the total size must be unchanged.");
            return targetShape.Select(d => (long?)d).ToArray();
        }
        if (known == 0 || inputSize % known != 0)
            throw new ArgumentException($"Layer '{Name}' (Reshape) cannot reshape input of shape {inputShape} ({inputSize} values per " +
                $"sample) to target shape {Format(targetShape)}: {inputSize} is not divisible by the known dimensions' product {known}.");
        var result = targetShape.Select(d => (long?)d).ToArray();
        result[unknown] = inputSize / known;
        return result;
    }

    private static string Format(long[] dims) => dims.Length == 1 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("target_shape", targetShape.ToArray());
}
