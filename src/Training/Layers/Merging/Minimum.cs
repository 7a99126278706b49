namespace OnnxKeras.Layers;

/// <summary>Elementwise minimum of the inputs (Keras's <c>Minimum</c>); inputs of the same shape.</summary>
/// <example><code>var merged = new Minimum().Apply([a, b]);</code></example>
public sealed class Minimum : Merge
{
    /// <inheritdoc />
    protected override KTensor MergeFunction(IReadOnlyList<KTensor> inputs)
    {
        var r = inputs[0]; for (int i = 1; i < inputs.Count; i++) r = Ops.Minimum(r, inputs[i]); return r;
    }
}
