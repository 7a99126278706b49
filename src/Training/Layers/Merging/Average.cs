namespace OnnxKeras.Layers;

/// <summary>Elementwise mean of the inputs (Keras's <c>Average</c>); inputs of the same shape.</summary>
/// <example><code>var merged = new Average().Apply([a, b]);</code></example>
public sealed class Average : Merge
{
    /// <inheritdoc />
    protected override KTensor MergeFunction(IReadOnlyList<KTensor> inputs)
    {
        var r = inputs[0]; for (int i = 1; i < inputs.Count; i++) r = Ops.Add(r, inputs[i]); return Ops.Multiply(r, 1.0 / inputs.Count);
    }
}
