namespace OnnxKeras.Layers;

/// <summary>
/// Shared implementation of <see cref="Conv1D"/>, <see cref="Conv2D"/> and <see cref="Conv3D"/> (Keras's <c>BaseConv</c>):
/// <c>activation(conv(inputs, kernel) + bias)</c> on channels_last inputs, with the kernel in Keras's layout
/// [*kernel_size, input_channels / groups, filters] and the bias [filters].
/// </summary>
public abstract class BaseConv : ConvolutionBase
{
    private Variable? kernel;

    /// <summary>Validates and stores the arguments for a convolution over <paramref name="rank"/> spatial axes.</summary>
    protected BaseConv(int rank, int filters, IntTuple kernelSize, IntTuple? strides, string padding, string? dataFormat, IntTuple? dilationRate,
        int groups, ActivationFunction? activation, bool useBias, Initializer? kernelInitializer, Initializer? biasInitializer,
        Regularizer? kernelRegularizer, Regularizer? biasRegularizer,
        Constraint? kernelConstraint, Constraint? biasConstraint)
        : base(rank, kernelSize, strides, padding, dataFormat, dilationRate, activation, useBias, biasInitializer, biasRegularizer,
            rank == 1 ? ["valid", "same", "causal"] : ["valid", "same"], biasConstraint)
    {
        string owner = GetType().Name;
        if (filters <= 0) throw new ArgumentException($"{owner}: filters must be a positive integer; got {filters}.", nameof(filters));
        if (groups <= 0) throw new ArgumentException($"{owner}: groups must be a positive integer; got {groups}.", nameof(groups));
        if (filters % groups != 0) throw new ArgumentException($"{owner}: filters ({filters}) must be divisible by groups ({groups}).", nameof(groups));
        Filters = filters;
        Groups = groups;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        KernelRegularizer = kernelRegularizer;
        KernelConstraint = kernelConstraint;
    }

    /// <summary>Number of output channels.</summary>
    public int Filters { get; }
    /// <summary>Number of channel groups convolved separately.</summary>
    public int Groups { get; }
    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Kernel penalty.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Projection applied to the kernel after each optimizer update.</summary>
    public Constraint? KernelConstraint { get; }

    /// <summary>The kernel [*kernel_size, input_channels / groups, filters] (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");

    /// <inheritdoc />
    protected override void BuildKernels(Shape inputShape, long inputChannels)
    {
        if (inputChannels % Groups != 0)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}): the input channels ({inputChannels}) must be divisible by " +
                $"groups ({Groups}); got input shape {inputShape}.");
        kernel = AddWeight("kernel", Shape.Of([.. KernelSize.Select(k => (long)k), inputChannels / Groups, Filters]), KernelInitializer,
            KernelRegularizer, constraint: KernelConstraint);
    }

    /// <inheritdoc />
    protected override long? OutputChannels(long? inputChannels) => Filters;

    /// <inheritdoc />
    protected override KTensor Convolve(KTensor inputs, KTensor? bias) => Ops.Conv(inputs, kernel!, bias, Strides, Padding, DilationRate);

    /// <inheritdoc />
    protected override IEnumerable<(string Key, object? Value)> ConfigBefore(string sharedKey) => sharedKey switch
    {
        "kernel_size" => [("filters", Filters)],
        "activation" => [("groups", Groups)],
        "bias_initializer" => [("kernel_initializer", KernelInitializer)],
        "bias_regularizer" => [("kernel_regularizer", KernelRegularizer)],
        "bias_constraint" => [("kernel_constraint", KernelConstraint)],
        _ => [],
    };
}
