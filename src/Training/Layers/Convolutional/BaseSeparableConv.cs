namespace OnnxKeras.Layers;

/// <summary>
/// Shared implementation of the depthwise separable convolutions (Keras's <c>BaseSeparableConv</c>;
/// <see cref="SeparableConv2D"/>): a depthwise convolution (each input channel with its own <see cref="DepthMultiplier"/>
/// filters) followed by a pointwise (kernel size 1) convolution to <see cref="Filters"/> channels. Weights in Keras's
/// order and layout: depthwise_kernel [*kernel_size, input_channels, depth_multiplier], pointwise_kernel
/// [1, ..., 1, input_channels * depth_multiplier, filters], bias [filters].
/// </summary>
public abstract class BaseSeparableConv : ConvolutionBase
{
    private Variable? depthwiseKernel;
    private Variable? pointwiseKernel;

    /// <summary>Validates and stores the arguments for a separable convolution over <paramref name="rank"/> spatial axes.</summary>
    protected BaseSeparableConv(int rank, int depthMultiplier, int filters, IntTuple kernelSize, IntTuple? strides, string padding,
        string? dataFormat, IntTuple? dilationRate, ActivationFunction? activation, bool useBias,
        Initializer? depthwiseInitializer, Initializer? pointwiseInitializer, Initializer? biasInitializer,
        Regularizer? depthwiseRegularizer, Regularizer? pointwiseRegularizer, Regularizer? biasRegularizer,
        Constraint? depthwiseConstraint, Constraint? pointwiseConstraint, Constraint? biasConstraint)
        : base(rank, kernelSize, strides, padding, dataFormat, dilationRate, activation, useBias, biasInitializer, biasRegularizer,
            ["valid", "same"], biasConstraint)
    {
        string owner = GetType().Name;
        if (filters <= 0) throw new ArgumentException($"{owner}: filters must be a positive integer; got {filters}.", nameof(filters));
        if (depthMultiplier <= 0)
            throw new ArgumentException($"{owner}: depth_multiplier must be a positive integer; got {depthMultiplier}.", nameof(depthMultiplier));
        Filters = filters;
        DepthMultiplier = depthMultiplier;
        DepthwiseInitializer = depthwiseInitializer ?? new GlorotUniform();
        PointwiseInitializer = pointwiseInitializer ?? new GlorotUniform();
        DepthwiseRegularizer = depthwiseRegularizer;
        PointwiseRegularizer = pointwiseRegularizer;
        DepthwiseConstraint = depthwiseConstraint;
        PointwiseConstraint = pointwiseConstraint;
    }

    /// <summary>Number of output channels.</summary>
    public int Filters { get; }
    /// <summary>Number of depthwise filters per input channel.</summary>
    public int DepthMultiplier { get; }
    /// <summary>Depthwise kernel initializer.</summary>
    public Initializer DepthwiseInitializer { get; }
    /// <summary>Pointwise kernel initializer.</summary>
    public Initializer PointwiseInitializer { get; }
    /// <summary>Depthwise kernel penalty.</summary>
    public Regularizer? DepthwiseRegularizer { get; }
    /// <summary>Pointwise kernel penalty.</summary>
    public Regularizer? PointwiseRegularizer { get; }
    /// <summary>Projection applied to the depthwise kernel after each optimizer update.</summary>
    public Constraint? DepthwiseConstraint { get; }
    /// <summary>Projection applied to the pointwise kernel after each optimizer update.</summary>
    public Constraint? PointwiseConstraint { get; }

    /// <summary>The depthwise kernel [*kernel_size, input_channels, depth_multiplier] (after build).</summary>
    public Variable DepthwiseKernel => depthwiseKernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The pointwise kernel [1, ..., 1, input_channels * depth_multiplier, filters] (after build).</summary>
    public Variable PointwiseKernel => pointwiseKernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");

    /// <inheritdoc />
    protected override void BuildKernels(Shape inputShape, long inputChannels)
    {
        depthwiseKernel = AddWeight("depthwise_kernel", Shape.Of([.. KernelSize.Select(k => (long)k), inputChannels, DepthMultiplier]),
            DepthwiseInitializer, DepthwiseRegularizer, constraint: DepthwiseConstraint);
        pointwiseKernel = AddWeight("pointwise_kernel", Shape.Of([.. Enumerable.Repeat(1L, Rank), inputChannels * DepthMultiplier, Filters]),
            PointwiseInitializer, PointwiseRegularizer, constraint: PointwiseConstraint);
    }

    /// <inheritdoc />
    protected override long? OutputChannels(long? inputChannels) => Filters;

    /// <inheritdoc />
    protected override KTensor Convolve(KTensor inputs, KTensor? bias) =>
        Ops.SeparableConv(inputs, depthwiseKernel!, pointwiseKernel!, bias, Strides, Padding, DilationRate);

    /// <inheritdoc />
    protected override IEnumerable<(string Key, object? Value)> ConfigBefore(string sharedKey) => sharedKey switch
    {
        "kernel_size" => [("depth_multiplier", DepthMultiplier), ("filters", Filters)],
        "bias_initializer" => [("depthwise_initializer", DepthwiseInitializer), ("pointwise_initializer", PointwiseInitializer)],
        "bias_regularizer" => [("depthwise_regularizer", DepthwiseRegularizer), ("pointwise_regularizer", PointwiseRegularizer)],
        "bias_constraint" => [("depthwise_constraint", DepthwiseConstraint), ("pointwise_constraint", PointwiseConstraint)],
        _ => [],
    };
}
