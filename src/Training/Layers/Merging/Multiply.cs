namespace OnnxKeras.Layers;

/// <summary>Elementwise product of the inputs (Keras's <c>Multiply</c>); inputs of the same shape.</summary>
/// <example><code>var merged = new Multiply().Apply([a, b]);</code></example>
public sealed class Multiply : Merge
{
    /// <inheritdoc />
    protected override KTensor MergeFunction(IReadOnlyList<KTensor> inputs)
    {
        var r = inputs[0]; for (int i = 1; i < inputs.Count; i++) r = Ops.Multiply(r, inputs[i]); return r;
    }
}
