namespace OnnxKeras.Layers;

/// <summary>
/// Transposed 2D convolution (Keras's <c>Conv2DTranspose</c>, sometimes called deconvolution) on [batch, height, width,
/// channels] inputs, with the kernel in Keras's layout [kh, kw, filters, input_channels] and bias [filters]. Output size
/// per axis: "same" <c>in * stride</c>, "valid" <c>(in - 1) * stride + max(kernel, stride)</c>; with
/// <c>outputPadding</c> TensorFlow's formulas (see <see cref="Ops.ConvTransposeOutputLength"/>).
/// </summary>
/// <example><code>new Conv2DTranspose(16, kernelSize: 3, strides: 2, padding: "same")</code></example>
public sealed class Conv2DTranspose : Layer
{
    private Variable? kernel;
    private Variable? bias;

    /// <summary>Creates a Conv2DTranspose layer with Keras's defaults (stride 1, "valid" padding, glorot_uniform kernel, zero bias).</summary>
    public Conv2DTranspose(int filters, IntTuple kernelSize, IntTuple? strides = null, string padding = "valid", IntTuple? outputPadding = null,
        string? dataFormat = null, IntTuple? dilationRate = null, ActivationFunction? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null)
    {
        const string owner = nameof(Conv2DTranspose);
        if (filters <= 0) throw new ArgumentException($"{owner}: filters must be a positive integer; got {filters}.", nameof(filters));
        Filters = filters;
        KernelSize = kernelSize.Expand(2, owner, "kernel_size");
        Strides = (strides ?? 1).Expand(2, owner, "strides");
        Padding = ConvArgs.Padding(padding, owner, "valid", "same");
        OutputPadding = outputPadding?.Expand(2, owner, "output_padding", allowZero: true);
        if (OutputPadding is not null && OutputPadding.Where((p, i) => p >= Strides[i]).Any())
            throw new ArgumentException($"{owner}: output_padding must be smaller than strides; got output_padding {outputPadding} with strides ({string.Join(", ", Strides)}).", nameof(outputPadding));
        DataFormat = ConvArgs.DataFormat(dataFormat, owner);
        DilationRate = (dilationRate ?? 1).Expand(2, owner, "dilation_rate");
        ConvArgs.CheckStridesAndDilation(Strides, DilationRate, owner);
        Activation = activation ?? Activations.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        InputSpec = new InputSpec { Rank = 4 };
    }

    /// <summary>Number of output channels.</summary>
    public int Filters { get; }
    /// <summary>Kernel size (height, width).</summary>
    public int[] KernelSize { get; }
    /// <summary>Strides (height, width).</summary>
    public int[] Strides { get; }
    /// <summary>"valid" or "same".</summary>
    public string Padding { get; }
    /// <summary>Extra output size per axis (each smaller than the stride), or null for Keras's default output size.</summary>
    public int[]? OutputPadding { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }
    /// <summary>Dilation (height, width).</summary>
    public int[] DilationRate { get; }
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

    /// <summary>The kernel [kh, kw, filters, input_channels] (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The bias [filters], or null without bias.</summary>
    public Variable? Bias => bias;

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        InputSpec!.Check(this, inputShape);
        long channels = ConvArgs.Channels(inputShape, this);
        kernel = AddWeight("kernel", Shape.Of(KernelSize[0], KernelSize[1], Filters, channels), KernelInitializer, KernelRegularizer);
        if (UseBias) bias = AddWeight("bias", Shape.Of(Filters), BiasInitializer, BiasRegularizer);
        InputSpec = new InputSpec { Rank = 4, Axes = new Dictionary<int, long> { [-1] = channels } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        Activation.Apply(Ops.ConvTranspose(inputs, kernel!, bias is null ? null : (KTensor)bias, Strides, Padding, OutputPadding, DilationRate));

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"Layer '{Name}' (Conv2DTranspose) expects input of rank 4; got shape {inputShape} (rank {inputShape.Rank}).");
        var dims = new long?[4];
        dims[0] = inputShape[0];
        for (int i = 0; i < 2; i++)
            dims[1 + i] = Ops.ConvTransposeOutputLength(inputShape[1 + i], KernelSize[i], Padding, Strides[i], OutputPadding?[i], DilationRate[i]);
        dims[3] = Filters;
        return new Shape(dims);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("filters", Filters).With("kernel_size", KernelSize.ToArray()).With("strides", Strides.ToArray()).With("padding", Padding)
        .With("output_padding", OutputPadding?.ToArray()).With("data_format", DataFormat).With("dilation_rate", DilationRate.ToArray())
        .With("activation", Activation.Name).With("use_bias", UseBias)
        .With("kernel_initializer", KernelInitializer).With("bias_initializer", BiasInitializer)
        .With("kernel_regularizer", KernelRegularizer).With("bias_regularizer", BiasRegularizer);
}
