namespace OnnxKeras.Layers;

/// <summary>
/// Densely connected layer: <c>activation(inputs @ kernel + bias)</c> with the kernel in Keras's layout
/// [input_dim, units]. Applies to the last axis of inputs of any rank &gt;= 2.
/// </summary>
/// <example><code>new Dense(32, activation: "relu", kernelRegularizer: Regularizers.L2(0.01), kernelConstraint: Constraints.MaxNorm(2))</code></example>
public sealed class Dense : Layer
{
    private Variable? kernel;
    private Variable? bias;

    /// <summary>Creates a Dense layer with Keras's defaults (glorot_uniform kernel, zero bias, linear activation).</summary>
    public Dense(int units, ActivationFunction? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null)
    {
        if (units <= 0) throw new ArgumentException($"Dense: units must be a positive integer; got {units}.", nameof(units));
        Units = units;
        Activation = activation ?? Activations.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        KernelConstraint = kernelConstraint;
        BiasConstraint = biasConstraint;
    }

    /// <summary>Output size.</summary>
    public int Units { get; }
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
    /// <summary>Projection applied to the kernel after each optimizer update.</summary>
    public Constraint? KernelConstraint { get; }
    /// <summary>Projection applied to the bias after each optimizer update.</summary>
    public Constraint? BiasConstraint { get; }

    /// <summary>The kernel [input_dim, units] (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The bias [units], or null without bias.</summary>
    public Variable? Bias => bias;

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        long inputDim = inputShape[^1] ?? throw new ArgumentException($"Layer '{Name}' (Dense) needs a known last input dimension; got {inputShape}.");
        kernel = AddWeight("kernel", Shape.Of(inputDim, Units), KernelInitializer, KernelRegularizer, constraint: KernelConstraint);
        if (UseBias) bias = AddWeight("bias", Shape.Of(Units), BiasInitializer, BiasRegularizer, constraint: BiasConstraint);
        InputSpec = new InputSpec { MinRank = 2, Axes = new Dictionary<int, long> { [-1] = inputDim } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        Activation.Apply(Ops.Linear(inputs, kernel!, bias is null ? null : (KTensor)bias));

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(Units);

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("units", Units).With("activation", Activation.Name).With("use_bias", UseBias)
        .With("kernel_initializer", KernelInitializer).With("bias_initializer", BiasInitializer)
        .With("kernel_regularizer", KernelRegularizer).With("bias_regularizer", BiasRegularizer)
        .With("kernel_constraint", KernelConstraint).With("bias_constraint", BiasConstraint);
}
