namespace OnnxKeras.Layers;

/// <summary>
/// Depthwise 2D convolution (Keras's <c>DepthwiseConv2D</c>): each input channel is convolved with its own
/// <see cref="DepthMultiplier"/> filters, giving <c>input_channels * depth_multiplier</c> output channels (channel
/// <c>c * depth_multiplier + m</c> from input channel c and filter m). The kernel keeps Keras's layout
/// [kh, kw, input_channels, depth_multiplier] (named "kernel" as in Keras 3); the bias is [input_channels * depth_multiplier].
/// </summary>
/// <example><code>new DepthwiseConv2D(3, padding: "same", depthMultiplier: 2)</code></example>
public sealed class DepthwiseConv2D : Layer
{
    private Variable? kernel;
    private Variable? bias;

    /// <summary>Creates a DepthwiseConv2D layer with Keras's defaults (stride 1, "valid" padding, depth multiplier 1, glorot_uniform kernel, zero bias).</summary>
    public DepthwiseConv2D(IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", int depthMultiplier = 1, string? dataFormat = null,
        IntTuple? dilationRate = null, ActivationFunction? activation = null, bool useBias = true,
        Initializer? depthwiseInitializer = null, Initializer? biasInitializer = null,
        Regularizer? depthwiseRegularizer = null, Regularizer? biasRegularizer = null)
    {
        const string owner = nameof(DepthwiseConv2D);
        if (depthMultiplier <= 0) throw new ArgumentException($"{owner}: depth_multiplier must be a positive integer; got {depthMultiplier}.", nameof(depthMultiplier));
        KernelSize = kernelSize.Expand(2, owner, "kernel_size");
        Strides = (strides ?? 1).Expand(2, owner, "strides");
        Padding = ConvArgs.Padding(padding, owner, "valid", "same");
        DepthMultiplier = depthMultiplier;
        DataFormat = ConvArgs.DataFormat(dataFormat, owner);
        DilationRate = (dilationRate ?? 1).Expand(2, owner, "dilation_rate");
        ConvArgs.CheckStridesAndDilation(Strides, DilationRate, owner);
        Activation = activation ?? Activations.Linear;
        UseBias = useBias;
        DepthwiseInitializer = depthwiseInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        DepthwiseRegularizer = depthwiseRegularizer;
        BiasRegularizer = biasRegularizer;
        InputSpec = new InputSpec { Rank = 4 };
    }

    /// <summary>Kernel size (height, width).</summary>
    public int[] KernelSize { get; }
    /// <summary>Strides (height, width).</summary>
    public int[] Strides { get; }
    /// <summary>"valid" or "same".</summary>
    public string Padding { get; }
    /// <summary>Number of filters per input channel.</summary>
    public int DepthMultiplier { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }
    /// <summary>Dilation (height, width).</summary>
    public int[] DilationRate { get; }
    /// <summary>Activation applied to the output.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }
    /// <summary>Depthwise kernel initializer.</summary>
    public Initializer DepthwiseInitializer { get; }
    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Depthwise kernel penalty.</summary>
    public Regularizer? DepthwiseRegularizer { get; }
    /// <summary>Bias penalty.</summary>
    public Regularizer? BiasRegularizer { get; }

    /// <summary>The depthwise kernel [kh, kw, input_channels, depth_multiplier] (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The bias [input_channels * depth_multiplier], or null without bias.</summary>
    public Variable? Bias => bias;

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        InputSpec!.Check(this, inputShape);
        long channels = ConvArgs.Channels(inputShape, this);
        kernel = AddWeight("kernel", Shape.Of(KernelSize[0], KernelSize[1], channels, DepthMultiplier), DepthwiseInitializer, DepthwiseRegularizer);
        if (UseBias) bias = AddWeight("bias", Shape.Of(channels * DepthMultiplier), BiasInitializer, BiasRegularizer);
        InputSpec = new InputSpec { Rank = 4, Axes = new Dictionary<int, long> { [-1] = channels } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        Activation.Apply(Ops.DepthwiseConv(inputs, kernel!, bias is null ? null : (KTensor)bias, Strides, Padding, DilationRate));

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        ConvArgs.ConvOutputShape(this, inputShape, KernelSize, Strides, Padding, DilationRate, inputShape[^1] * DepthMultiplier);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("depth_multiplier", DepthMultiplier).With("kernel_size", KernelSize.ToArray()).With("strides", Strides.ToArray())
        .With("padding", Padding).With("data_format", DataFormat).With("dilation_rate", DilationRate.ToArray())
        .With("activation", Activation.Name).With("use_bias", UseBias)
        .With("depthwise_initializer", DepthwiseInitializer).With("bias_initializer", BiasInitializer)
        .With("depthwise_regularizer", DepthwiseRegularizer).With("bias_regularizer", BiasRegularizer);
}
