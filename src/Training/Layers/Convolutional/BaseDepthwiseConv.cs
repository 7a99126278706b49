namespace OnnxKeras.Layers;

/// <summary>
/// Shared implementation of the depthwise convolutions (Keras's <c>BaseDepthwiseConv</c>; <see cref="DepthwiseConv2D"/>):
/// each input channel is convolved with its own <see cref="DepthMultiplier"/> filters, giving
/// <c>input_channels * depth_multiplier</c> output channels (channel <c>c * depth_multiplier + m</c> from input channel c
/// and filter m). The kernel keeps Keras's layout [*kernel_size, input_channels, depth_multiplier] (named "kernel" as in
/// Keras 3); the bias is [input_channels * depth_multiplier].
/// </summary>
public abstract class BaseDepthwiseConv : ConvolutionBase
{
    private Variable? kernel;

    /// <summary>Validates and stores the arguments for a depthwise convolution over <paramref name="rank"/> spatial axes.</summary>
    protected BaseDepthwiseConv(int rank, IntTuple kernelSize, IntTuple? strides, string padding, int depthMultiplier, string? dataFormat,
        IntTuple? dilationRate, ActivationFunction? activation, bool useBias, Initializer? depthwiseInitializer, Initializer? biasInitializer,
        Regularizer? depthwiseRegularizer, Regularizer? biasRegularizer,
        Constraint? depthwiseConstraint, Constraint? biasConstraint)
        : base(rank, kernelSize, strides, padding, dataFormat, dilationRate, activation, useBias, biasInitializer, biasRegularizer,
            ["valid", "same"], biasConstraint)
    {
        if (depthMultiplier <= 0)
            throw new ArgumentException($"{GetType().Name}: depth_multiplier must be a positive integer; got {depthMultiplier}.", nameof(depthMultiplier));
        DepthMultiplier = depthMultiplier;
        DepthwiseInitializer = depthwiseInitializer ?? new GlorotUniform();
        DepthwiseRegularizer = depthwiseRegularizer;
        DepthwiseConstraint = depthwiseConstraint;
    }

    /// <summary>Number of filters per input channel.</summary>
    public int DepthMultiplier { get; }
    /// <summary>Depthwise kernel initializer.</summary>
    public Initializer DepthwiseInitializer { get; }
    /// <summary>Depthwise kernel penalty.</summary>
    public Regularizer? DepthwiseRegularizer { get; }
    /// <summary>Projection applied to the depthwise kernel after each optimizer update.</summary>
    public Constraint? DepthwiseConstraint { get; }

    /// <summary>The depthwise kernel [*kernel_size, input_channels, depth_multiplier] (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");

    /// <inheritdoc />
    protected override void BuildKernels(Shape inputShape, long inputChannels) =>
        kernel = AddWeight("kernel", Shape.Of([.. KernelSize.Select(k => (long)k), inputChannels, DepthMultiplier]), DepthwiseInitializer,
            DepthwiseRegularizer, constraint: DepthwiseConstraint);

    /// <inheritdoc />
    protected override long? OutputChannels(long? inputChannels) => inputChannels * DepthMultiplier;

    /// <inheritdoc />
    protected override KTensor Convolve(KTensor inputs, KTensor? bias) => Ops.DepthwiseConv(inputs, kernel!, bias, Strides, Padding, DilationRate);

    /// <inheritdoc />
    protected override IEnumerable<(string Key, object? Value)> ConfigBefore(string sharedKey) => sharedKey switch
    {
        "kernel_size" => [("depth_multiplier", DepthMultiplier)],
        "bias_initializer" => [("depthwise_initializer", DepthwiseInitializer)],
        "bias_regularizer" => [("depthwise_regularizer", DepthwiseRegularizer)],
        "bias_constraint" => [("depthwise_constraint", DepthwiseConstraint)],
        _ => [],
    };
}
