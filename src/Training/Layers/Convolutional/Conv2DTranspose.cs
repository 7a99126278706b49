namespace OnnxKeras.Layers;

/// <summary>
/// Transposed 2D convolution (Keras's <c>Conv2DTranspose</c>, sometimes called deconvolution) on [batch, height, width,
/// channels] inputs, with the kernel in Keras's layout [kh, kw, filters, input_channels] and bias [filters]. Output size
/// per axis: "same" <c>in * stride</c>, "valid" <c>(in - 1) * stride + max(kernel, stride)</c>; with
/// <c>outputPadding</c> TensorFlow's formulas (see <see cref="Ops.ConvTransposeOutputLength"/>).
/// </summary>
/// <example><code>new Conv2DTranspose(16, kernelSize: 3, strides: 2, padding: "same")</code></example>
public sealed class Conv2DTranspose : BaseConvTranspose
{
    /// <summary>Creates a Conv2DTranspose layer with Keras's defaults (stride 1, "valid" padding, glorot_uniform kernel, zero bias).</summary>
    public Conv2DTranspose(int filters, IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", IntTuple? outputPadding = null,
        string? dataFormat = null, IntTuple? dilationRate = null, ActivationFunction? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null)
        : base(2, filters, kernelSize, strides, padding, outputPadding, dataFormat, dilationRate, activation, useBias,
            kernelInitializer, biasInitializer, kernelRegularizer, biasRegularizer, kernelConstraint, biasConstraint)
    {
    }
}
