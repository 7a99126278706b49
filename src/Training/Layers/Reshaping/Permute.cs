namespace OnnxKeras.Layers;

/// <summary>
/// Permutes the per-sample dimensions (Keras's <c>Permute</c>). <see cref="Dims"/> is 1-based and excludes the batch:
/// <c>new Permute([2, 1])</c> turns (batch, 10, 64) into (batch, 64, 10).
/// </summary>
/// <example><code>new Permute([2, 1])</code></example>
public sealed class Permute : Layer
{
    private readonly int[] dims;

    /// <summary>Creates a permutation layer; <paramref name="dims"/> must be a permutation of 1..n.</summary>
    public Permute(int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length == 0 || !dims.Order().SequenceEqual(Enumerable.Range(1, dims.Length)))
            throw new ArgumentException($"Permute: dims must be a permutation of 1..{dims.Length} (indexing starts at 1, the batch axis " +
                $"is excluded); got ({string.Join(", ", dims)}).", nameof(dims));
        this.dims = (int[])dims.Clone();
        InputSpec = new InputSpec { Rank = dims.Length + 1 };
    }

    /// <summary>The 1-based permutation of the per-sample axes.</summary>
    public IReadOnlyList<int> Dims => dims;

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Transpose(inputs, [0, .. dims.Select(d => (long)d)]);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        InputSpec!.Check(this, inputShape);
        return new Shape([inputShape[0], .. dims.Select(d => inputShape[d])]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("dims", dims.ToArray());
}
