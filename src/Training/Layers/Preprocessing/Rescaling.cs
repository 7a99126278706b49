namespace OnnxKeras.Layers;

/// <summary>
/// Rescales inputs to <c>inputs * scale + offset</c> in float32, in training and inference alike (Keras's <c>Rescaling</c>).
/// Integer inputs are cast to float32 first.
/// </summary>
/// <example><code>new Rescaling(1.0 / 255); new Rescaling(1.0 / 127.5, offset: -1);</code></example>
public sealed class Rescaling : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="scale">Factor applied to the inputs.</param>
    /// <param name="offset">Added after scaling.</param>
    public Rescaling(double scale, double offset = 0.0)
    {
        if (!double.IsFinite(scale)) throw new ArgumentException($"Rescaling: scale must be a finite number; got {scale}.", nameof(scale));
        if (!double.IsFinite(offset)) throw new ArgumentException($"Rescaling: offset must be a finite number; got {offset}.", nameof(offset));
        Scale = scale;
        Offset = offset;
    }

    /// <summary>Factor applied to the inputs.</summary>
    public double Scale { get; }

    /// <summary>Added after scaling.</summary>
    public double Offset { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Add(Ops.Multiply(Ops.Cast(inputs, "float32"), Scale), Offset);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("scale", Scale).With("offset", Offset);
}
