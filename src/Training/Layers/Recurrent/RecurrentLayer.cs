namespace OnnxKeras.Layers;

/// <summary>
/// Base of the built-in recurrent layers (<see cref="SimpleRNN"/>, <see cref="LSTM"/>, <see cref="GRU"/>): the Keras RNN
/// layer around its cell. Inputs are [batch, timesteps, features] (timesteps may be unknown symbolically). The weights
/// are in Keras's layout: <c>kernel</c> [features, k*units], <c>recurrent_kernel</c> [units, k*units] and <c>bias</c>,
/// with the k gates side by side in Keras's order. The inputs of all timesteps are projected by the kernel in one
/// matrix product, then a loop over the timesteps applies the recurrence (<see cref="Step"/>), starting from zero states,
/// from the states given as extra inputs (Keras's <c>initial_state</c>: <see cref="Apply(KTensor, IReadOnlyList{KTensor}, bool)"/>),
/// or, with <see cref="Stateful"/>, from the final states of the previous call.
/// </summary>
/// <remarks>
/// With <see cref="ReturnState"/> the layer has several outputs: the output, then the final states
/// (<c>[output, h]</c>, or <c>[output, h, c]</c> for LSTM); call it with <see cref="Layer.ApplyMany"/>.
/// With <see cref="GoBackwards"/> the sequence is processed from the last timestep to the first and, as in Keras,
/// the returned sequence is in that (reversed) order.
/// An input that carries a mask (<see cref="KTensor.Mask"/>, e.g. from <see cref="Masking"/> or
/// <c>Embedding(maskZero: true)</c>) skips the masked timesteps as Keras's RNN does: there the states keep their previous
/// values and the output repeats the previous output (zeros before the first unmasked step), or is zero with
/// <see cref="ZeroOutputForMask"/>. With <see cref="ReturnSequences"/> the output sequence carries the same mask.
/// In training, <see cref="Dropout"/> and <see cref="RecurrentDropout"/> multiply the inputs and the previous output h by
/// masks drawn once per call and kept for every timestep, as Keras's cells do (one mask shared by the gates, or, for LSTM
/// and GRU with recurrent dropout, one mask per gate); at inference they do nothing.
/// </remarks>
public abstract partial class RecurrentLayer : Layer
{
    private static readonly InputSpec SequenceSpec = new() { Rank = 3 };
    private Variable? kernel;
    private Variable? recurrentKernel;
    private Variable? bias;
    private InputSpec sequenceSpec = SequenceSpec;

    /// <summary>Stores the arguments common to the recurrent layers and checks them.</summary>
    protected RecurrentLayer(int units, ActivationFunction activation, bool useBias,
        Initializer kernelInitializer, Initializer recurrentInitializer, Initializer biasInitializer,
        Regularizer? kernelRegularizer, Regularizer? recurrentRegularizer, Regularizer? biasRegularizer,
        bool returnSequences, bool returnState, bool goBackwards, bool zeroOutputForMask = false,
        Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null, Constraint? biasConstraint = null,
        double dropout = 0.0, double recurrentDropout = 0.0, long? seed = null, bool stateful = false, bool unroll = false)
    {
        if (units <= 0) throw new ArgumentException($"{GetType().Name}: units must be a positive integer; got {units}.", nameof(units));
        Units = units;
        Activation = activation;
        UseBias = useBias;
        KernelInitializer = kernelInitializer;
        RecurrentInitializer = recurrentInitializer;
        BiasInitializer = biasInitializer;
        KernelRegularizer = kernelRegularizer;
        RecurrentRegularizer = recurrentRegularizer;
        BiasRegularizer = biasRegularizer;
        ReturnSequences = returnSequences;
        ReturnState = returnState;
        GoBackwards = goBackwards;
        ZeroOutputForMask = zeroOutputForMask;
        KernelConstraint = kernelConstraint;
        RecurrentConstraint = recurrentConstraint;
        BiasConstraint = biasConstraint;
        Dropout = CheckRate(dropout, "dropout");
        RecurrentDropout = CheckRate(recurrentDropout, "recurrent_dropout");
        Seed = seed;
        if (seed is long s) generator = new TorchSharp.torch.Generator((ulong)s);
        Stateful = stateful;
        Unroll = unroll;
        // The sequence is checked by hand (CheckSequence): the initial states that may follow it are rank 2.
        InputSpec = null;
    }

    private double CheckRate(double rate, string name) => rate is >= 0 and < 1 ? rate
        : throw new ArgumentException($"{GetType().Name}: {name} must be in [0, 1); got {rate}.", name == "dropout" ? "dropout" : "recurrentDropout");

    /// <summary>Size of the output and of each state.</summary>
    public int Units { get; }
    /// <summary>Activation of the output / candidate (Keras default tanh).</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether the layer has a bias.</summary>
    public bool UseBias { get; }
    /// <summary>Initializer of <c>kernel</c> (Keras default glorot_uniform).</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Initializer of <c>recurrent_kernel</c> (Keras default orthogonal).</summary>
    public Initializer RecurrentInitializer { get; }
    /// <summary>Initializer of <c>bias</c> (Keras default zeros).</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Penalty on <c>kernel</c>.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Penalty on <c>recurrent_kernel</c>.</summary>
    public Regularizer? RecurrentRegularizer { get; }
    /// <summary>Penalty on <c>bias</c>.</summary>
    public Regularizer? BiasRegularizer { get; }
    /// <summary>Projection applied to <c>kernel</c> after each optimizer update.</summary>
    public Constraint? KernelConstraint { get; }
    /// <summary>Projection applied to <c>recurrent_kernel</c> after each optimizer update.</summary>
    public Constraint? RecurrentConstraint { get; }
    /// <summary>Projection applied to <c>bias</c> after each optimizer update.</summary>
    public Constraint? BiasConstraint { get; }
    /// <summary>Whether the output is the whole sequence [batch, timesteps, units] rather than the last output [batch, units].</summary>
    public bool ReturnSequences { get; }
    /// <summary>Whether the final states are returned after the output (use <see cref="Layer.ApplyMany"/>).</summary>
    public bool ReturnState { get; }
    /// <summary>Whether the input sequence is processed backwards (the returned sequence is then reversed).</summary>
    public bool GoBackwards { get; }
    /// <summary>Fraction of the input features dropped in training (Keras's <c>dropout</c>; one mask per call, fixed over the timesteps).</summary>
    public double Dropout { get; }
    /// <summary>Fraction of the previous output h dropped in training before the recurrent kernel (Keras's <c>recurrent_dropout</c>).</summary>
    public double RecurrentDropout { get; }
    /// <summary>Seed of the layer's own dropout stream; null draws from the global generator (<see cref="Keras.SetRandomSeed"/>).</summary>
    public long? Seed { get; }
    /// <summary>Whether the final states of a call are the initial states of the next (Keras's <c>stateful</c>); see <see cref="ResetStates"/>.</summary>
    public bool Stateful { get; }
    /// <summary>Keras's <c>unroll</c>: a performance hint kept for the config; the result is the same either way.</summary>
    public bool Unroll { get; }

    /// <summary>
    /// Whether the output at a masked timestep is zero (true) or the previous output (false, Keras's default). Keras's
    /// <c>Bidirectional</c> sets it to <see cref="ReturnSequences"/> on both of its layers.
    /// </summary>
    public bool ZeroOutputForMask { get; internal set; }

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <summary>Keras's RNN <c>compute_mask</c>: the input mask for a returned sequence, none for a last output or the states.</summary>
    public override IReadOnlyList<KTensor?> ComputeMask(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor?> masks) =>
        [ReturnSequences && masks.Count > 0 ? masks[0] : null];

    /// <summary>The input kernel [features, k*units] (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The recurrent kernel [units, k*units] (after build).</summary>
    public Variable RecurrentKernel => recurrentKernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The bias, or null without bias.</summary>
    public Variable? Bias => bias;

    /// <summary>Number of gates k side by side in the kernels (1 SimpleRNN, 4 LSTM, 3 GRU).</summary>
    protected abstract int GateCount { get; }

    /// <summary>Number of states (1, or 2 for LSTM's h and c); the first state is the output.</summary>
    protected virtual int StateCount => 1;

    /// <summary><see cref="StateCount"/> for the wrappers (Bidirectional splits its initial states with it).</summary>
    internal int States => StateCount;

    /// <summary>Shape of the bias weight (default [k*units]).</summary>
    protected virtual Shape BiasShape => Shape.Of(GateCount * (long)Units);

    /// <summary>The initializer used to create the bias (default <see cref="BiasInitializer"/>).</summary>
    protected virtual Initializer BiasBuildInitializer => BiasInitializer;

    /// <summary>The part of the bias added to the projected inputs (default the whole bias; null without bias).</summary>
    protected virtual KTensor? InputBias => bias is null ? null : (KTensor)bias;

    /// <summary>
    /// One timestep: from the projected input <c>x_t @ kernel + input bias</c> [batch, k*units] and the previous states,
    /// returns the new states (the first is the step's output).
    /// </summary>
    protected abstract KTensor[] Step(KTensor projectedInput, KTensor[] states);

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        SequenceSpec.Check(this, inputShape);
        long inputDim = inputShape[2] ?? throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs a known feature " +
            $"dimension; got input shape {inputShape}.");
        long width = GateCount * (long)Units;
        kernel = AddWeight("kernel", Shape.Of(inputDim, width), KernelInitializer, KernelRegularizer, constraint: KernelConstraint);
        recurrentKernel = AddWeight("recurrent_kernel", Shape.Of(Units, width), RecurrentInitializer, RecurrentRegularizer, constraint: RecurrentConstraint);
        if (UseBias) bias = AddWeight("bias", BiasShape, BiasBuildInitializer, BiasRegularizer, constraint: BiasConstraint);
        sequenceSpec = new InputSpec { Rank = 3, Axes = new Dictionary<int, long> { [-1] = inputDim } };
    }

    /// <summary>Builds from the sequence's shape; the shapes after it are the initial states, [batch, units] each.</summary>
    public override void Build(IReadOnlyList<Shape> inputShapes)
    {
        CheckStateShapes(inputShapes);
        Build(inputShapes[0]);
    }

    /// <summary>Checks the input sequence's shape against the layer's (rank 3, and the built feature size).</summary>
    private void CheckSequence(Shape shape) => sequenceSpec.Check(this, shape);

    /// <summary>Checks that the shapes after the sequence are none, or one [batch, units] per state.</summary>
    private void CheckStateShapes(IReadOnlyList<Shape> shapes)
    {
        if (shapes.Count == 1) return;
        if (shapes.Count != 1 + StateCount)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes the input sequence and optionally {StateCount} initial " +
                $"state{(StateCount == 1 ? "" : "s")} ({(StateCount == 1 ? "h" : "h, c")}); got {shapes.Count} inputs.");
        foreach (var s in shapes.Skip(1))
        {
            if (s.Rank != 2 || s[1] is long u && u != Units || s[0] is long b && shapes[0][0] is long n && b != n)
                throw new ArgumentException($"Layer '{Name}' ({GetType().Name}): an initial state must be [batch, units] = " +
                    $"{new Shape(shapes[0][0], Units)}; got {s}.");
        }
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => ComputeOutputShapes([inputShape])[0];

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes)
    {
        if (inputShapes.Count == 0) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs an input sequence.");
        var shape = inputShapes[0];
        CheckSequence(shape);
        CheckStateShapes(inputShapes);
        var output = ReturnSequences ? new Shape(shape[0], shape[1], Units) : new Shape(shape[0], Units);
        if (!ReturnState) return [output];
        return [output, .. Enumerable.Repeat(new Shape(shape[0], Units), StateCount)];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("units", Units).With("activation", Activation.Name).With("use_bias", UseBias)
        .With("kernel_initializer", KernelInitializer).With("recurrent_initializer", RecurrentInitializer).With("bias_initializer", BiasInitializer)
        .With("kernel_regularizer", KernelRegularizer).With("recurrent_regularizer", RecurrentRegularizer).With("bias_regularizer", BiasRegularizer)
        .With("kernel_constraint", KernelConstraint).With("recurrent_constraint", RecurrentConstraint).With("bias_constraint", BiasConstraint)
        .With("return_sequences", ReturnSequences).With("return_state", ReturnState).With("go_backwards", GoBackwards)
        .With("zero_output_for_mask", ZeroOutputForMask).With("stateful", Stateful).With("unroll", Unroll)
        .With("dropout", Dropout).With("recurrent_dropout", RecurrentDropout).With("seed", Seed);
}
