namespace OnnxKeras.Layers;

/// <summary>
/// Depthwise 2D convolution (Keras's <c>DepthwiseConv2D</c>): each input channel is convolved with its own
/// <see cref="BaseDepthwiseConv.DepthMultiplier"/> filters, giving <c>input_channels * depth_multiplier</c> output channels (channel
/// <c>c * depth_multiplier + m</c> from input channel c and filter m). The kernel keeps Keras's layout
/// [kh, kw, input_channels, depth_multiplier] (named "kernel" as in Keras 3); the bias is [input_channels * depth_multiplier].
/// </summary>
/// <example><code>new DepthwiseConv2D(3, padding: "same", depthMultiplier: 2)</code></example>
public sealed class DepthwiseConv2D : BaseDepthwiseConv
{
    /// <summary>Creates a DepthwiseConv2D layer with Keras's defaults (stride 1, "valid" padding, depth multiplier 1,
    /// glorot_uniform kernel, zero bias).</summary>
    public DepthwiseConv2D(IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", int depthMultiplier = 1, string? dataFormat = null,
        IntTuple? dilationRate = null, ActivationFunction? activation = null, bool useBias = true,
        Initializer? depthwiseInitializer = null, Initializer? biasInitializer = null,
        Regularizer? depthwiseRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? depthwiseConstraint = null, Constraint? biasConstraint = null)
        : base(2, kernelSize, strides, padding, depthMultiplier, dataFormat, dilationRate, activation, useBias,
            depthwiseInitializer, biasInitializer, depthwiseRegularizer, biasRegularizer, depthwiseConstraint, biasConstraint)
    {
    }
}
