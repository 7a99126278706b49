namespace OnnxKeras.Layers;

/// <summary>
/// Returns its input unchanged (Keras's <c>Identity</c>): a placeholder, e.g. where an optional block is switched off.
/// The mask passes through; the ONNX form is the identity as well.
/// </summary>
/// <example><code>var y = new Identity().Apply(x);</code></example>
public sealed class Identity : Layer
{
    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => inputs;

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer.</summary>
    public override bool SupportsMasking => true;
}
