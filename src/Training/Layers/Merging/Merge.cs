namespace OnnxKeras.Layers;

/// <summary>
/// Base of the elementwise merge layers (Keras's <c>Merge</c>): called on a list of at least two tensors of the same
/// shape (dimensions of size 1 broadcast), returns one tensor of that shape.
/// </summary>
public abstract class Merge : Layer
{
    /// <summary>Combines the inputs (all eager, same batch).</summary>
    protected abstract KTensor MergeFunction(IReadOnlyList<KTensor> inputs);

    /// <summary>Minimum number of inputs (2 for most merges).</summary>
    protected virtual int MinInputs => 2;

    /// <summary>Maximum number of inputs (unbounded for most merges).</summary>
    protected virtual int MaxInputs => int.MaxValue;

    /// <summary>Keras's merge layers support masking: the output mask is the logical and of the inputs' masks.</summary>
    public override bool SupportsMasking => true;

    /// <summary>Keras's <c>Merge.compute_mask</c>: the logical and of the masks the inputs carry (none when no input has one).</summary>
    public override IReadOnlyList<KTensor?> ComputeMask(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor?> masks)
    {
        var present = masks.OfType<KTensor>().ToList();
        return [present.Count == 0 ? null : present.Skip(1).Aggregate(present[0], Ops.LogicalAnd)];
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) merges a list of inputs: call it as layer.Apply([a, b]).");

    /// <inheritdoc />
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false) => [MergeFunction(inputs)];

    /// <inheritdoc />
    public override void Build(Shape inputShape) =>
        throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) merges a list of inputs: call it as layer.Apply([a, b]).");

    /// <inheritdoc />
    public override void Build(IReadOnlyList<Shape> inputShapes)
    {
        if (inputShapes.Count < MinInputs || inputShapes.Count > MaxInputs)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes " +
                $"{(MaxInputs == MinInputs ? $"exactly {MinInputs}" : $"at least {MinInputs}")} inputs; got {inputShapes.Count}.");
        CheckShapes(inputShapes);
    }

    /// <summary>Checks the input shapes fit together; the default requires equal (or broadcastable, size-1) dimensions.</summary>
    protected virtual Shape CheckShapes(IReadOnlyList<Shape> shapes)
    {
        var result = shapes[0];
        foreach (var s in shapes.Skip(1))
        {
            if (s.Rank != result.Rank)
                throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs inputs of the same rank; got shapes {string.Join(", ", shapes)}.");
            result = new Shape(result.Zip(s).Select(p => p switch
            {
                (null, var b) => b,
                (var a, null) => a,
                (1, var b) => b,
                (var a, 1) => a,
                var (a, b) when a == b => a,
                _ => throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs inputs of the same shape; got shapes {string.Join(", ", shapes)}."),
            }).ToArray());
        }
        return result;
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes) => [CheckShapes(inputShapes)];
}
