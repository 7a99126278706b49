namespace OnnxKeras.Layers;

/// <summary>
/// What every convolution layer shares (<see cref="BaseConv"/>, <see cref="BaseConvTranspose"/>,
/// <see cref="BaseDepthwiseConv"/>, <see cref="BaseSeparableConv"/>, as in Keras's <c>base_conv</c> split): the
/// spatial arguments (kernel_size, strides, padding, data_format, dilation_rate), the activation and the bias, their
/// validation and their config. Computes <c>activation(convolve(inputs) + bias)</c> on channels_last inputs
/// [batch, *spatial, channels]; the kernels come first in the weights, then the bias.
/// </summary>
public abstract class ConvolutionBase : Layer
{
    private Variable? bias;

    /// <summary>
    /// Validates and stores the shared arguments for a convolution over <paramref name="rank"/> spatial axes;
    /// <paramref name="paddings"/> are the padding modes this layer accepts.
    /// </summary>
    protected ConvolutionBase(int rank, IntTuple kernelSize, IntTuple? strides, string padding, string? dataFormat, IntTuple? dilationRate,
        ActivationFunction? activation, bool useBias, Initializer? biasInitializer, Regularizer? biasRegularizer, string[] paddings,
        Constraint? biasConstraint = null)
    {
        string owner = GetType().Name;
        Rank = rank;
        KernelSize = kernelSize.Expand(rank, owner, "kernel_size");
        Strides = (strides ?? 1).Expand(rank, owner, "strides");
        Padding = ConvArgs.Padding(padding, owner, paddings);
        DataFormat = ConvArgs.DataFormat(dataFormat, owner);
        DilationRate = (dilationRate ?? 1).Expand(rank, owner, "dilation_rate");
        ConvArgs.CheckStridesAndDilation(Strides, DilationRate, owner);
        Activation = activation ?? Activations.Linear;
        UseBias = useBias;
        BiasInitializer = biasInitializer ?? new Zeros();
        BiasRegularizer = biasRegularizer;
        BiasConstraint = biasConstraint;
        InputSpec = new InputSpec { Rank = rank + 2 };
    }

    /// <summary>Number of spatial axes.</summary>
    public int Rank { get; }
    /// <summary>Kernel size per spatial axis.</summary>
    public int[] KernelSize { get; }
    /// <summary>Stride per spatial axis.</summary>
    public int[] Strides { get; }
    /// <summary>"valid", "same" or (Conv1D) "causal".</summary>
    public string Padding { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }
    /// <summary>Dilation per spatial axis.</summary>
    public int[] DilationRate { get; }
    /// <summary>Activation applied to the output.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }
    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Bias penalty.</summary>
    public Regularizer? BiasRegularizer { get; }
    /// <summary>Projection applied to the bias after each optimizer update.</summary>
    public Constraint? BiasConstraint { get; }

    /// <summary>The bias [output_channels], or null without bias (or before build).</summary>
    public Variable? Bias => bias;

    /// <summary>
    /// Creates the kernel weights for <paramref name="inputChannels"/> input channels (the last axis of
    /// <paramref name="inputShape"/>); the bias follows them.
    /// </summary>
    protected abstract void BuildKernels(Shape inputShape, long inputChannels);

    /// <summary>The number of output channels (the bias size) for <paramref name="inputChannels"/> input channels; null when unknown.</summary>
    protected abstract long? OutputChannels(long? inputChannels);

    /// <summary>The convolution of <paramref name="inputs"/> with the built kernels, adding <paramref name="bias"/> when given.</summary>
    protected abstract KTensor Convolve(KTensor inputs, KTensor? bias);

    /// <summary>
    /// The layer's own config entries that Keras writes just before the shared key <paramref name="sharedKey"/>
    /// ("kernel_size", "data_format", "activation", "bias_initializer", "bias_regularizer" or "bias_constraint"), so that the config keeps
    /// Keras's key order (filters first, the kernels' initializers before the bias's, ...).
    /// </summary>
    protected virtual IEnumerable<(string Key, object? Value)> ConfigBefore(string sharedKey) => [];

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        InputSpec!.Check(this, inputShape);
        long channels = ConvArgs.Channels(inputShape, this);
        BuildKernels(inputShape, channels);
        if (UseBias) bias = AddWeight("bias", Shape.Of(OutputChannels(channels)!.Value), BiasInitializer, BiasRegularizer, constraint: BiasConstraint);
        InputSpec = new InputSpec { Rank = Rank + 2, Axes = new Dictionary<int, long> { [-1] = channels } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        Activation.Apply(Convolve(inputs, bias is null ? null : (KTensor)bias));

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        ConvArgs.ConvOutputShape(this, inputShape, KernelSize, Strides, Padding, DilationRate, OutputChannels(inputShape[^1]));

    /// <inheritdoc />
    public override LayerConfig GetConfig()
    {
        var config = base.GetConfig();
        LayerConfig Shared(string key, object? value)
        {
            foreach (var (k, v) in ConfigBefore(key)) config.With(k, v);
            return config.With(key, value);
        }
        Shared("kernel_size", KernelSize.ToArray()).With("strides", Strides.ToArray()).With("padding", Padding);
        Shared("data_format", DataFormat).With("dilation_rate", DilationRate.ToArray());
        Shared("activation", Activation.Name).With("use_bias", UseBias);
        Shared("bias_initializer", BiasInitializer);
        Shared("bias_regularizer", BiasRegularizer);
        return Shared("bias_constraint", BiasConstraint);
    }
}
