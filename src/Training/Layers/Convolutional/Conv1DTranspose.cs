namespace OnnxKeras.Layers;

/// <summary>
/// Transposed 1D convolution (Keras's <c>Conv1DTranspose</c>) on [batch, steps, channels] inputs, with the kernel in
/// Keras's layout [k, filters, input_channels] and bias [filters]. Output length: "same" <c>in * stride</c>, "valid"
/// <c>(in - 1) * stride + max(kernel, stride)</c>; with <c>outputPadding</c> TensorFlow's formulas (see
/// <see cref="Ops.ConvTransposeOutputLength"/>).
/// </summary>
/// <example><code>new Conv1DTranspose(16, kernelSize: 3, strides: 2, padding: "same")</code></example>
public sealed class Conv1DTranspose : BaseConvTranspose
{
    /// <summary>Creates a Conv1DTranspose layer with Keras's defaults (stride 1, "valid" padding, glorot_uniform kernel, zero bias).</summary>
    public Conv1DTranspose(int filters, IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", IntTuple? outputPadding = null,
        string? dataFormat = null, IntTuple? dilationRate = null, ActivationFunction? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null)
        : base(1, filters, kernelSize, strides, padding, outputPadding, dataFormat, dilationRate, activation, useBias,
            kernelInitializer, biasInitializer, kernelRegularizer, biasRegularizer, kernelConstraint, biasConstraint)
    {
    }
}
