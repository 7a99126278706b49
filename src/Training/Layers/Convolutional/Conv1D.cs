namespace OnnxKeras.Layers;

/// <summary>
/// 1D convolution over the time axis of [batch, steps, channels] inputs (Keras's <c>Conv1D</c>); padding may also be
/// "causal" (all padding before, so output t sees inputs up to t).
/// Computes <c>activation(conv(inputs, kernel) + bias)</c> with the kernel [kernel_size, input_channels / groups,
/// filters] and bias [filters] in Keras's layout;
/// "same" padding puts the extra pixel at the end, as Keras does.
/// </summary>
/// <example><code>new Conv1D(32, kernelSize: 3, activation: "relu")</code></example>
public sealed class Conv1D : BaseConv
{
    /// <summary>Creates a Conv1D layer with Keras's defaults (stride 1, "valid" padding, glorot_uniform kernel, zero bias, linear activation).</summary>
    public Conv1D(int filters, IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", string? dataFormat = null,
        IntTuple? dilationRate = null, int groups = 1, ActivationFunction? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null)
        : base(1, filters, kernelSize, strides, padding, dataFormat, dilationRate, groups, activation, useBias,
            kernelInitializer, biasInitializer, kernelRegularizer, biasRegularizer, kernelConstraint, biasConstraint)
    {
    }
}
