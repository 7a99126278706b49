namespace OnnxKeras.Layers;

/// <summary>
/// Base of the built-in recurrent layers (<see cref="SimpleRNN"/>, <see cref="LSTM"/>, <see cref="GRU"/>): the Keras RNN
/// layer around its cell. Inputs are [batch, timesteps, features] (timesteps may be unknown symbolically). The weights
/// are in Keras's layout: <c>kernel</c> [features, k*units], <c>recurrent_kernel</c> [units, k*units] and <c>bias</c>,
/// with the k gates side by side in Keras's order. The inputs of all timesteps are projected by the kernel in one
/// matrix product, then a loop over the timesteps applies the recurrence (<see cref="Step"/>), starting from zero states.
/// </summary>
/// <remarks>
/// With <see cref="ReturnState"/> the layer has several outputs: the output, then the final states
/// (<c>[output, h]</c>, or <c>[output, h, c]</c> for LSTM); call it with <see cref="Layer.ApplyMany"/>.
/// With <see cref="GoBackwards"/> the sequence is processed from the last timestep to the first and, as in Keras,
/// the returned sequence is in that (reversed) order.
/// </remarks>
public abstract class RecurrentLayer : Layer
{
    private Variable? kernel;
    private Variable? recurrentKernel;
    private Variable? bias;

    /// <summary>Stores the arguments common to the recurrent layers and checks them.</summary>
    protected RecurrentLayer(int units, ActivationFunction activation, bool useBias,
        Initializer kernelInitializer, Initializer recurrentInitializer, Initializer biasInitializer,
        Regularizer? kernelRegularizer, Regularizer? recurrentRegularizer, Regularizer? biasRegularizer,
        bool returnSequences, bool returnState, bool goBackwards)
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
        InputSpec = new InputSpec { Rank = 3 };
    }

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
    /// <summary>Whether the output is the whole sequence [batch, timesteps, units] rather than the last output [batch, units].</summary>
    public bool ReturnSequences { get; }
    /// <summary>Whether the final states are returned after the output (use <see cref="Layer.ApplyMany"/>).</summary>
    public bool ReturnState { get; }
    /// <summary>Whether the input sequence is processed backwards (the returned sequence is then reversed).</summary>
    public bool GoBackwards { get; }

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
        new InputSpec { Rank = 3 }.Check(this, inputShape);
        long inputDim = inputShape[2] ?? throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs a known feature dimension; got input shape {inputShape}.");
        long width = GateCount * (long)Units;
        kernel = AddWeight("kernel", Shape.Of(inputDim, width), KernelInitializer, KernelRegularizer);
        recurrentKernel = AddWeight("recurrent_kernel", Shape.Of(Units, width), RecurrentInitializer, RecurrentRegularizer);
        if (UseBias) bias = AddWeight("bias", BiasShape, BiasBuildInitializer, BiasRegularizer);
        InputSpec = new InputSpec { Rank = 3, Axes = new Dictionary<int, long> { [-1] = inputDim } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (ReturnState) throw new InvalidOperationException($"Layer '{Name}' ({GetType().Name}) has return_state=True and returns {1 + StateCount} outputs; call it with ApplyMany.");
        return Run(inputs)[0];
    }

    /// <inheritdoc />
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false)
    {
        if (inputs.Count != 1) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes one input sequence; got {inputs.Count} inputs (initial states are not supported).");
        var all = Run(inputs[0]);
        return ReturnState ? all : [all[0]];
    }

    /// <summary>Runs the recurrence; returns the output (sequence or last) followed by the final states.</summary>
    private KTensor[] Run(KTensor inputs)
    {
        long steps = inputs.Shape[1]!.Value;
        if (steps == 0) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs at least one timestep; got input shape {inputs.Shape}.");
        var projected = Ops.Linear(inputs, kernel!, InputBias);
        var states = Enumerable.Range(0, StateCount).Select(_ => Ops.ZeroState(inputs, Units)).ToArray();
        var outputs = ReturnSequences ? new List<KTensor>((int)steps) : null;
        for (long s = 0; s < steps; s++)
        {
            long t = GoBackwards ? steps - 1 - s : s;
            states = Step(Ops.SelectAlong(projected, 1, t), states);
            outputs?.Add(states[0]);
        }
        var output = outputs is null ? states[0] : Ops.StackAlong(outputs, 1);
        return [output, .. states];
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => ComputeOutputShapes([inputShape])[0];

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes)
    {
        if (inputShapes.Count != 1) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes one input sequence; got {inputShapes.Count} inputs.");
        var shape = inputShapes[0];
        new InputSpec { Rank = 3 }.Check(this, shape);
        var output = ReturnSequences ? new Shape(shape[0], shape[1], Units) : new Shape(shape[0], Units);
        if (!ReturnState) return [output];
        return [output, .. Enumerable.Repeat(new Shape(shape[0], Units), StateCount)];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("units", Units).With("activation", Activation.Name).With("use_bias", UseBias)
        .With("kernel_initializer", KernelInitializer).With("recurrent_initializer", RecurrentInitializer).With("bias_initializer", BiasInitializer)
        .With("kernel_regularizer", KernelRegularizer).With("recurrent_regularizer", RecurrentRegularizer).With("bias_regularizer", BiasRegularizer)
        .With("return_sequences", ReturnSequences).With("return_state", ReturnState).With("go_backwards", GoBackwards);
}
