namespace OnnxKeras.Layers;

/// <summary>
/// Shared implementation of <see cref="Conv1D"/>, <see cref="Conv2D"/> and <see cref="Conv3D"/> (Keras's <c>BaseConv</c>):
/// <c>activation(conv(inputs, kernel) + bias)</c> on channels_last inputs, with the kernel in Keras's layout
/// [*kernel_size, input_channels / groups, filters] and the bias [filters].
/// </summary>
public abstract class BaseConv : Layer
{
    private Variable? kernel;
    private Variable? bias;

    /// <summary>Validates and stores the arguments for a convolution over <paramref name="rank"/> spatial axes.</summary>
    protected BaseConv(int rank, int filters, IntTuple kernelSize, IntTuple? strides, string padding, string? dataFormat, IntTuple? dilationRate,
        int groups, ActivationFunction? activation, bool useBias, Initializer? kernelInitializer, Initializer? biasInitializer,
        Regularizer? kernelRegularizer, Regularizer? biasRegularizer)
    {
        string owner = GetType().Name;
        if (filters <= 0) throw new ArgumentException($"{owner}: filters must be a positive integer; got {filters}.", nameof(filters));
        if (groups <= 0) throw new ArgumentException($"{owner}: groups must be a positive integer; got {groups}.", nameof(groups));
        if (filters % groups != 0) throw new ArgumentException($"{owner}: filters ({filters}) must be divisible by groups ({groups}).", nameof(groups));
        Rank = rank;
        Filters = filters;
        KernelSize = kernelSize.Expand(rank, owner, "kernel_size");
        Strides = (strides ?? 1).Expand(rank, owner, "strides");
        Padding = rank == 1 ? ConvArgs.Padding(padding, owner, "valid", "same", "causal") : ConvArgs.Padding(padding, owner, "valid", "same");
        DataFormat = ConvArgs.DataFormat(dataFormat, owner);
        DilationRate = (dilationRate ?? 1).Expand(rank, owner, "dilation_rate");
        ConvArgs.CheckStridesAndDilation(Strides, DilationRate, owner);
        Groups = groups;
        Activation = activation ?? Activations.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        InputSpec = new InputSpec { Rank = rank + 2 };
    }

    /// <summary>Number of spatial axes.</summary>
    public int Rank { get; }
    /// <summary>Number of output channels.</summary>
    public int Filters { get; }
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
    /// <summary>Number of channel groups convolved separately.</summary>
    public int Groups { get; }
    /// <summary>Activation applied to the output.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }
    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Kernel penalty.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Bias penalty.</summary>
    public Regularizer? BiasRegularizer { get; }

    /// <summary>The kernel [*kernel_size, input_channels / groups, filters] (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The bias [filters], or null without bias.</summary>
    public Variable? Bias => bias;

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        InputSpec!.Check(this, inputShape);
        long channels = ConvArgs.Channels(inputShape, this);
        if (channels % Groups != 0)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}): the input channels ({channels}) must be divisible by groups ({Groups}); got input shape {inputShape}.");
        kernel = AddWeight("kernel", Shape.Of([.. KernelSize.Select(k => (long)k), channels / Groups, Filters]), KernelInitializer, KernelRegularizer);
        if (UseBias) bias = AddWeight("bias", Shape.Of(Filters), BiasInitializer, BiasRegularizer);
        InputSpec = new InputSpec { Rank = Rank + 2, Axes = new Dictionary<int, long> { [-1] = channels } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        Activation.Apply(Ops.Conv(inputs, kernel!, bias is null ? null : (KTensor)bias, Strides, Padding, DilationRate));

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        ConvArgs.ConvOutputShape(this, inputShape, KernelSize, Strides, Padding, DilationRate, Filters);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("filters", Filters).With("kernel_size", KernelSize.ToArray()).With("strides", Strides.ToArray()).With("padding", Padding)
        .With("data_format", DataFormat).With("dilation_rate", DilationRate.ToArray()).With("groups", Groups)
        .With("activation", Activation.Name).With("use_bias", UseBias)
        .With("kernel_initializer", KernelInitializer).With("bias_initializer", BiasInitializer)
        .With("kernel_regularizer", KernelRegularizer).With("bias_regularizer", BiasRegularizer);
}
