namespace OnnxKeras.Layers;

/// <summary>
/// Masks timesteps whose features all equal <see cref="MaskValue"/> (Keras's <c>Masking</c>). For inputs
/// [batch, time, features] the mask is <c>any(x != mask_value, axis=-1)</c> [batch, time]; the output is
/// <c>x * mask</c> (masked timesteps set to zero) and carries the mask (<see cref="KTensor.Mask"/>), which layers that
/// support masking pass on and recurrent layers consume: at a masked timestep they keep their states and repeat their
/// previous output.
/// </summary>
/// <example><code>
/// var model = new Sequential(new InputLayer([10, 8]), new Masking(maskValue: 0.0), new LSTM(32));
/// </code></example>
public sealed class Masking : Layer
{
    /// <summary>Creates a Masking layer.</summary>
    /// <param name="maskValue">The value that marks padding: a timestep is masked when all its features equal it.</param>
    public Masking(double maskValue = 0.0) => MaskValue = maskValue;

    /// <summary>The padding value.</summary>
    public double MaskValue { get; }

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        // The output and its mask computed together, as Keras's Masking.call does.
        var mask = Ops.Any(Ops.NotEqual(inputs, MaskValue), -1);
        return (inputs * Ops.Cast(Ops.ExpandDims(mask, -1), "float32")).WithMask(mask);
    }

    /// <inheritdoc />
    public override IReadOnlyList<KTensor?> ComputeMask(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor?> masks) =>
        [Ops.Any(Ops.NotEqual(inputs[0], MaskValue), -1)];

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("mask_value", MaskValue);
}
