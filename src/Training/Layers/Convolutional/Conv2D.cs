namespace OnnxKeras.Layers;

/// <summary>
/// 2D convolution over [batch, height, width, channels] inputs (Keras's <c>Conv2D</c>).
/// Computes <c>activation(conv(inputs, kernel) + bias)</c> with the kernel [kh, kw, input_channels / groups, filters] and bias [filters] in Keras's layout;
/// "same" padding puts the extra pixel at the end, as Keras does.
/// </summary>
/// <example><code>new Conv2D(32, kernelSize: 3, activation: "relu")</code></example>
public sealed class Conv2D : BaseConv
{
    /// <summary>Creates a Conv2D layer with Keras's defaults (stride 1, "valid" padding, glorot_uniform kernel, zero bias, linear activation).</summary>
    public Conv2D(int filters, IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", string? dataFormat = null,
        IntTuple? dilationRate = null, int groups = 1, ActivationFunction? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null)
        : base(2, filters, kernelSize, strides, padding, dataFormat, dilationRate, groups, activation, useBias,
            kernelInitializer, biasInitializer, kernelRegularizer, biasRegularizer, kernelConstraint, biasConstraint)
    {
    }
}
