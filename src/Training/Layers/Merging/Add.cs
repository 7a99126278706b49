namespace OnnxKeras.Layers;

/// <summary>Sum of the inputs (Keras's <c>Add</c>); inputs of the same shape.</summary>
/// <example><code>var merged = new Add().Apply([a, b]);</code></example>
public sealed class Add : Merge
{
    /// <inheritdoc />
    protected override KTensor MergeFunction(IReadOnlyList<KTensor> inputs)
    {
        var r = inputs[0]; for (int i = 1; i < inputs.Count; i++) r = Ops.Add(r, inputs[i]); return r;
    }
}
