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
/// An input that carries a mask (<see cref="KTensor.Mask"/>, e.g. from <see cref="Masking"/> or
/// <c>Embedding(maskZero: true)</c>) skips the masked timesteps as Keras's RNN does: there the states keep their previous
/// values and the output repeats the previous output (zeros before the first unmasked step), or is zero with
/// <see cref="ZeroOutputForMask"/>. With <see cref="ReturnSequences"/> the output sequence carries the same mask.
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
        bool returnSequences, bool returnState, bool goBackwards, bool zeroOutputForMask = false,
        Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null, Constraint? biasConstraint = null)
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
        long inputDim = inputShape[2] ?? throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs a known feature " +
            $"dimension; got input shape {inputShape}.");
        long width = GateCount * (long)Units;
        kernel = AddWeight("kernel", Shape.Of(inputDim, width), KernelInitializer, KernelRegularizer, constraint: KernelConstraint);
        recurrentKernel = AddWeight("recurrent_kernel", Shape.Of(Units, width), RecurrentInitializer, RecurrentRegularizer, constraint: RecurrentConstraint);
        if (UseBias) bias = AddWeight("bias", BiasShape, BiasBuildInitializer, BiasRegularizer, constraint: BiasConstraint);
        InputSpec = new InputSpec { Rank = 3, Axes = new Dictionary<int, long> { [-1] = inputDim } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (ReturnState)
            throw new InvalidOperationException($"Layer '{Name}' ({GetType().Name}) has return_state=True and returns {1 + StateCount} " +
                "outputs; call it with ApplyMany.");
        return Run(inputs, inputs.Mask)[0];
    }

    /// <inheritdoc />
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false)
    {
        if (inputs.Count != 1)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes one input sequence; got {inputs.Count} inputs (initial " +
                "states are not supported).");
        var all = Run(inputs[0], inputs[0].Mask);
        return ReturnState ? all : [all[0]];
    }

    /// <summary>
    /// Runs the recurrence; returns the output (sequence or last) followed by the final states. With a
    /// <paramref name="mask"/> [batch, time] each step keeps the old states where the mask is false and outputs the
    /// previous output there (or zeros with <see cref="ZeroOutputForMask"/>), as Keras's backend <c>rnn</c> does.
    /// </summary>
    private KTensor[] Run(KTensor inputs, KTensor? mask)
    {
        long steps = inputs.Shape[1]!.Value;
        if (steps == 0) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs at least one timestep; got input shape {inputs.Shape}.");
        var projected = Ops.Linear(inputs, kernel!, InputBias);
        var states = Enumerable.Range(0, StateCount).Select(_ => Ops.ZeroState(inputs, Units)).ToArray();
        if (mask is not null && (mask.Rank != 2 || mask.Value.shape[0] != inputs.Value.shape[0] || mask.Value.shape[1] != steps))
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}): the mask must be [batch, timesteps] = " +
                $"[{inputs.Value.shape[0]}, {steps}] for input of shape {inputs.Shape}; got a mask of shape {mask.Shape}.");
        if (mask is not null && mask.Value.dtype != TorchSharp.torch.ScalarType.Bool) mask = Ops.NotEqual(mask, 0); // Keras casts the mask to bool
        var outputs = ReturnSequences ? new List<KTensor>((int)steps) : null;
        KTensor? output = null;
        var timesteps = Ops.Unstack(projected, 1);
        var maskSteps = mask is null ? null : Ops.Unstack(mask, 1);
        for (long s = 0; s < steps; s++)
        {
            long t = GoBackwards ? steps - 1 - s : s;
            var next = Step(timesteps[t], states);
            if (mask is null)
            {
                states = next;
                output = next[0];
            }
            else
            {
                var keep = Ops.ExpandDims(maskSteps![t], -1); // [batch, 1], broadcast over the units
                var previous = ZeroOutputForMask || output is null ? Ops.ZeroState(inputs, Units) : output;
                output = Ops.Where(keep, next[0], previous);
                var old = states;
                states = next.Select((n, i) => Ops.Where(keep, n, old[i])).ToArray();
            }
            outputs?.Add(output);
        }
        return [outputs is null ? output! : Ops.Stack(outputs, 1), .. states];
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
        .With("kernel_constraint", KernelConstraint).With("recurrent_constraint", RecurrentConstraint).With("bias_constraint", BiasConstraint)
        .With("return_sequences", ReturnSequences).With("return_state", ReturnState).With("go_backwards", GoBackwards)
        .With("zero_output_for_mask", ZeroOutputForMask);
}
