namespace OnnxKeras.Layers;

/// <summary>Difference of exactly two inputs of the same shape, <c>a - b</c> (Keras's <c>Subtract</c>).</summary>
/// <example><code>var diff = new Subtract().Apply([a, b]);</code></example>
public sealed class Subtract : Merge
{
    /// <inheritdoc />
    protected override int MinInputs => 2;

    /// <inheritdoc />
    protected override int MaxInputs => 2;

    /// <inheritdoc />
    protected override KTensor MergeFunction(IReadOnlyList<KTensor> inputs) => Ops.Subtract(inputs[0], inputs[1]);
}
