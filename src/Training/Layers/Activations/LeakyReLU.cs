namespace OnnxKeras.Layers;

/// <summary>
/// Leaky ReLU layer (Keras's <c>LeakyReLU</c>): <c>x</c> for <c>x &gt;= 0</c>, else <c>negative_slope * x</c>.
/// The layer's default slope is 0.3, as in Keras 3 (the <c>leaky_relu</c> activation's default is 0.2).
/// </summary>
/// <example><code>new LeakyReLU(negativeSlope: 0.1)</code></example>
public sealed class LeakyReLU : Layer
{
    /// <summary>Creates the layer with slope <paramref name="negativeSlope"/> (&gt;= 0) for negative inputs.</summary>
    public LeakyReLU(double negativeSlope = 0.3)
    {
        if (!(negativeSlope >= 0) || double.IsInfinity(negativeSlope))
            throw new ArgumentException($"LeakyReLU: negative_slope must be a finite number >= 0; got {negativeSlope}.", nameof(negativeSlope));
        NegativeSlope = negativeSlope;
    }

    /// <summary>Slope for negative inputs.</summary>
    public double NegativeSlope { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.LeakyRelu(inputs, NegativeSlope);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("negative_slope", NegativeSlope);
}
