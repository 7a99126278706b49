namespace OnnxKeras.Layers;

/// <summary>Elementwise maximum of the inputs (Keras's <c>Maximum</c>); inputs of the same shape.</summary>
/// <example><code>var merged = new Maximum().Apply([a, b]);</code></example>
public sealed class Maximum : Merge
{
    /// <inheritdoc />
    protected override KTensor MergeFunction(IReadOnlyList<KTensor> inputs)
    {
        var r = inputs[0]; for (int i = 1; i < inputs.Count; i++) r = Ops.Maximum(r, inputs[i]); return r;
    }
}
