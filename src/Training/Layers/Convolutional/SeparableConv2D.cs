namespace OnnxKeras.Layers;

/// <summary>
/// Depthwise separable 2D convolution (Keras's <c>SeparableConv2D</c>): a depthwise convolution (each input channel with
/// its own <see cref="BaseSeparableConv.DepthMultiplier"/> filters) followed by a 1x1 pointwise convolution to
/// <see cref="BaseSeparableConv.Filters"/> channels. Weights in Keras's order and layout: depthwise_kernel
/// [kh, kw, input_channels, depth_multiplier], pointwise_kernel [1, 1, input_channels * depth_multiplier, filters], bias [filters].
/// </summary>
/// <example><code>new SeparableConv2D(64, kernelSize: 3, padding: "same", activation: "relu")</code></example>
public sealed class SeparableConv2D : BaseSeparableConv
{
    /// <summary>Creates a SeparableConv2D layer with Keras's defaults (stride 1, "valid" padding, depth multiplier 1,
    /// glorot_uniform kernels, zero bias).</summary>
    public SeparableConv2D(int filters, IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", string? dataFormat = null,
        IntTuple? dilationRate = null, int depthMultiplier = 1, ActivationFunction? activation = null, bool useBias = true,
        Initializer? depthwiseInitializer = null, Initializer? pointwiseInitializer = null, Initializer? biasInitializer = null,
        Regularizer? depthwiseRegularizer = null, Regularizer? pointwiseRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? depthwiseConstraint = null, Constraint? pointwiseConstraint = null, Constraint? biasConstraint = null)
        : base(2, depthMultiplier, filters, kernelSize, strides, padding, dataFormat, dilationRate, activation, useBias,
            depthwiseInitializer, pointwiseInitializer, biasInitializer, depthwiseRegularizer, pointwiseRegularizer, biasRegularizer,
            depthwiseConstraint, pointwiseConstraint, biasConstraint)
    {
    }
}
