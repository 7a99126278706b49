namespace OnnxKeras.Layers;

/// <summary>
/// Depthwise separable 2D convolution (Keras's <c>SeparableConv2D</c>): a depthwise convolution (each input channel with
/// its own <see cref="DepthMultiplier"/> filters) followed by a 1x1 pointwise convolution to <see cref="Filters"/> channels.
/// Weights in Keras's order and layout: depthwise_kernel [kh, kw, input_channels, depth_multiplier], pointwise_kernel
/// [1, 1, input_channels * depth_multiplier, filters], bias [filters].
/// </summary>
/// <example><code>new SeparableConv2D(64, kernelSize: 3, padding: "same", activation: "relu")</code></example>
public sealed class SeparableConv2D : Layer
{
    private Variable? depthwiseKernel;
    private Variable? pointwiseKernel;
    private Variable? bias;

    /// <summary>Creates a SeparableConv2D layer with Keras's defaults (stride 1, "valid" padding, depth multiplier 1, glorot_uniform kernels, zero bias).</summary>
    public SeparableConv2D(int filters, IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", string? dataFormat = null,
        IntTuple? dilationRate = null, int depthMultiplier = 1, ActivationFunction? activation = null, bool useBias = true,
        Initializer? depthwiseInitializer = null, Initializer? pointwiseInitializer = null, Initializer? biasInitializer = null,
        Regularizer? depthwiseRegularizer = null, Regularizer? pointwiseRegularizer = null, Regularizer? biasRegularizer = null)
    {
        const string owner = nameof(SeparableConv2D);
        if (filters <= 0) throw new ArgumentException($"{owner}: filters must be a positive integer; got {filters}.", nameof(filters));
        if (depthMultiplier <= 0) throw new ArgumentException($"{owner}: depth_multiplier must be a positive integer; got {depthMultiplier}.", nameof(depthMultiplier));
        Filters = filters;
        KernelSize = kernelSize.Expand(2, owner, "kernel_size");
        Strides = (strides ?? 1).Expand(2, owner, "strides");
        Padding = ConvArgs.Padding(padding, owner, "valid", "same");
        DataFormat = ConvArgs.DataFormat(dataFormat, owner);
        DilationRate = (dilationRate ?? 1).Expand(2, owner, "dilation_rate");
        ConvArgs.CheckStridesAndDilation(Strides, DilationRate, owner);
        DepthMultiplier = depthMultiplier;
        Activation = activation ?? Activations.Linear;
        UseBias = useBias;
        DepthwiseInitializer = depthwiseInitializer ?? new GlorotUniform();
        PointwiseInitializer = pointwiseInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        DepthwiseRegularizer = depthwiseRegularizer;
        PointwiseRegularizer = pointwiseRegularizer;
        BiasRegularizer = biasRegularizer;
        InputSpec = new InputSpec { Rank = 4 };
    }

    /// <summary>Number of output channels.</summary>
    public int Filters { get; }
    /// <summary>Kernel size (height, width) of the depthwise step.</summary>
    public int[] KernelSize { get; }
    /// <summary>Strides (height, width) of the depthwise step.</summary>
    public int[] Strides { get; }
    /// <summary>"valid" or "same".</summary>
    public string Padding { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }
    /// <summary>Dilation (height, width) of the depthwise step.</summary>
    public int[] DilationRate { get; }
    /// <summary>Number of depthwise filters per input channel.</summary>
    public int DepthMultiplier { get; }
    /// <summary>Activation applied to the output.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }
    /// <summary>Depthwise kernel initializer.</summary>
    public Initializer DepthwiseInitializer { get; }
    /// <summary>Pointwise kernel initializer.</summary>
    public Initializer PointwiseInitializer { get; }
    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Depthwise kernel penalty.</summary>
    public Regularizer? DepthwiseRegularizer { get; }
    /// <summary>Pointwise kernel penalty.</summary>
    public Regularizer? PointwiseRegularizer { get; }
    /// <summary>Bias penalty.</summary>
    public Regularizer? BiasRegularizer { get; }

    /// <summary>The depthwise kernel [kh, kw, input_channels, depth_multiplier] (after build).</summary>
    public Variable DepthwiseKernel => depthwiseKernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The pointwise kernel [1, 1, input_channels * depth_multiplier, filters] (after build).</summary>
    public Variable PointwiseKernel => pointwiseKernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The bias [filters], or null without bias.</summary>
    public Variable? Bias => bias;

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        InputSpec!.Check(this, inputShape);
        long channels = ConvArgs.Channels(inputShape, this);
        depthwiseKernel = AddWeight("depthwise_kernel", Shape.Of(KernelSize[0], KernelSize[1], channels, DepthMultiplier), DepthwiseInitializer, DepthwiseRegularizer);
        pointwiseKernel = AddWeight("pointwise_kernel", Shape.Of(1, 1, channels * DepthMultiplier, Filters), PointwiseInitializer, PointwiseRegularizer);
        if (UseBias) bias = AddWeight("bias", Shape.Of(Filters), BiasInitializer, BiasRegularizer);
        InputSpec = new InputSpec { Rank = 4, Axes = new Dictionary<int, long> { [-1] = channels } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        Activation.Apply(Ops.SeparableConv(inputs, depthwiseKernel!, pointwiseKernel!, bias is null ? null : (KTensor)bias, Strides, Padding, DilationRate));

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        ConvArgs.ConvOutputShape(this, inputShape, KernelSize, Strides, Padding, DilationRate, Filters);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("depth_multiplier", DepthMultiplier).With("filters", Filters).With("kernel_size", KernelSize.ToArray())
        .With("strides", Strides.ToArray()).With("padding", Padding).With("data_format", DataFormat)
        .With("dilation_rate", DilationRate.ToArray()).With("activation", Activation.Name).With("use_bias", UseBias)
        .With("depthwise_initializer", DepthwiseInitializer).With("pointwise_initializer", PointwiseInitializer)
        .With("bias_initializer", BiasInitializer).With("depthwise_regularizer", DepthwiseRegularizer)
        .With("pointwise_regularizer", PointwiseRegularizer).With("bias_regularizer", BiasRegularizer);
}
