namespace OnnxKeras.Layers;

/// <summary>
/// Shared implementation of the transposed convolutions (Keras's <c>BaseConvTranspose</c>; <see cref="Conv2DTranspose"/>):
/// the gradient of a convolution, on channels_last inputs, with the kernel in Keras's layout
/// [*kernel_size, filters, input_channels] and the bias [filters]. Output size per axis: "same" <c>in * stride</c>,
/// "valid" <c>(in - 1) * stride + max(kernel, stride)</c>; with <c>outputPadding</c> TensorFlow's formulas (see
/// <see cref="Ops.ConvTransposeOutputLength"/>).
/// </summary>
public abstract class BaseConvTranspose : ConvolutionBase
{
    private Variable? kernel;

    /// <summary>Validates and stores the arguments for a transposed convolution over <paramref name="rank"/> spatial axes.</summary>
    protected BaseConvTranspose(int rank, int filters, IntTuple kernelSize, IntTuple? strides, string padding, IntTuple? outputPadding,
        string? dataFormat, IntTuple? dilationRate, ActivationFunction? activation, bool useBias, Initializer? kernelInitializer,
        Initializer? biasInitializer, Regularizer? kernelRegularizer, Regularizer? biasRegularizer,
        Constraint? kernelConstraint, Constraint? biasConstraint)
        : base(rank, kernelSize, strides, padding, dataFormat, dilationRate, activation, useBias, biasInitializer, biasRegularizer,
            ["valid", "same"], biasConstraint)
    {
        string owner = GetType().Name;
        if (filters <= 0) throw new ArgumentException($"{owner}: filters must be a positive integer; got {filters}.", nameof(filters));
        Filters = filters;
        OutputPadding = outputPadding?.Expand(rank, owner, "output_padding", allowZero: true);
        if (OutputPadding is not null && OutputPadding.Where((p, i) => p >= Strides[i]).Any())
            throw new ArgumentException($"{owner}: output_padding must be smaller than strides; got output_padding {outputPadding} with " +
                $"strides ({string.Join(", ", Strides)}).", nameof(outputPadding));
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        KernelRegularizer = kernelRegularizer;
        KernelConstraint = kernelConstraint;
    }

    /// <summary>Number of output channels.</summary>
    public int Filters { get; }
    /// <summary>Extra output size per axis (each smaller than the stride), or null for Keras's default output size.</summary>
    public int[]? OutputPadding { get; }
    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Kernel penalty.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Projection applied to the kernel after each optimizer update.</summary>
    public Constraint? KernelConstraint { get; }

    /// <summary>The kernel [*kernel_size, filters, input_channels] (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");

    /// <inheritdoc />
    protected override void BuildKernels(Shape inputShape, long inputChannels) =>
        kernel = AddWeight("kernel", Shape.Of([.. KernelSize.Select(k => (long)k), Filters, inputChannels]), KernelInitializer,
            KernelRegularizer, constraint: KernelConstraint);

    /// <inheritdoc />
    protected override long? OutputChannels(long? inputChannels) => Filters;

    /// <inheritdoc />
    protected override KTensor Convolve(KTensor inputs, KTensor? bias) =>
        Ops.ConvTranspose(inputs, kernel!, bias, Strides, Padding, OutputPadding, DilationRate);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != Rank + 2)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) expects input of rank {Rank + 2}; got shape {inputShape} " +
                $"(rank {inputShape.Rank}).");
        var dims = new long?[Rank + 2];
        dims[0] = inputShape[0];
        for (int i = 0; i < Rank; i++)
            dims[1 + i] = Ops.ConvTransposeOutputLength(inputShape[1 + i], KernelSize[i], Padding, Strides[i], OutputPadding?[i], DilationRate[i]);
        dims[^1] = Filters;
        return new Shape(dims);
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Key, object? Value)> ConfigBefore(string sharedKey) => sharedKey switch
    {
        "kernel_size" => [("filters", Filters)],
        "data_format" => [("output_padding", OutputPadding?.ToArray())],
        "bias_initializer" => [("kernel_initializer", KernelInitializer)],
        "bias_regularizer" => [("kernel_regularizer", KernelRegularizer)],
        "bias_constraint" => [("kernel_constraint", KernelConstraint)],
        _ => [],
    };
}
