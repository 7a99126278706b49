using static TorchSharp.torch;

namespace OnnxKeras.Layers;

// The recurrence loop of RecurrentLayer: initial states, dropout masks, masking and stateful states. The cell math is only
// in each layer's Step (through RecurrentProduct and RecurrentInput for the recurrent kernel) and in Project for the input
// kernel, so a fused whole-sequence kernel can take the place of the loop in Run for the cases it covers (no mask, no
// recurrent dropout).
public abstract partial class RecurrentLayer
{
    private readonly Generator? generator;
    private KTensor[]? recurrentMasks;
    private Tensor[]? carriedStates;

    /// <summary>
    /// Calls the layer on <paramref name="inputs"/> starting from <paramref name="initialState"/> (Keras's
    /// <c>layer(x, initial_state=[...])</c>): one [batch, units] tensor per state, h (and c for LSTM). Returns the single
    /// output; with <see cref="ReturnState"/> use <see cref="ApplyMany(KTensor, IReadOnlyList{KTensor}, bool)"/>.
    /// Works on symbolic tensors too: in a functional model the states are then extra inputs.
    /// </summary>
    /// <example><code>var y = new GRU(4).Apply(Keras.Input([null, 3]), initialState: [Keras.Input([4])]);</code></example>
    public KTensor Apply(KTensor inputs, IReadOnlyList<KTensor> initialState, bool training = false) =>
        Apply([inputs, .. initialState], training);

    /// <summary>Like <see cref="Apply(KTensor, IReadOnlyList{KTensor}, bool)"/>, returning every output (the output, then the
    /// final states with <see cref="ReturnState"/>).</summary>
    public IReadOnlyList<KTensor> ApplyMany(KTensor inputs, IReadOnlyList<KTensor> initialState, bool training = false) =>
        ApplyMany([inputs, .. initialState], training);

    /// <summary>
    /// Clears the states a <see cref="Stateful"/> layer carries from call to call (Keras's <c>reset_states</c>): the next
    /// call starts from zeros. The batch size stays the one the first call fixed.
    /// </summary>
    public void ResetStates()
    {
        if (carriedStates is null) return;
        foreach (var s in carriedStates) s.zero_();
    }

    /// <summary>The states a <see cref="Stateful"/> layer will start its next call from (null before its first call).</summary>
    public IReadOnlyList<Tensor>? CarriedStates => carriedStates;

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (ReturnState)
            throw new InvalidOperationException($"Layer '{Name}' ({GetType().Name}) has return_state=True and returns {1 + StateCount} " +
                "outputs; call it with ApplyMany.");
        return Call([inputs], training)[0];
    }

    /// <inheritdoc />
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false)
    {
        if (inputs.Count == 0) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs an input sequence.");
        CheckSequence(inputs[0].Shape);
        CheckStateShapes(inputs.Select(t => t.Shape).ToList());
        var all = Run(inputs[0], inputs.Skip(1).ToArray(), inputs[0].Mask, training);
        return ReturnState ? all : [all[0]];
    }

    /// <summary>
    /// Runs the recurrence; returns the output (sequence or last) followed by the final states. With a
    /// <paramref name="mask"/> [batch, time] each step keeps the old states where the mask is false and outputs the
    /// previous output there (or zeros with <see cref="ZeroOutputForMask"/>), as Keras's backend <c>rnn</c> does.
    /// </summary>
    private KTensor[] Run(KTensor inputs, KTensor[] initialState, KTensor? mask, bool training)
    {
        long steps = inputs.Shape[1]!.Value;
        long batch = inputs.Value.shape[0];
        if (steps == 0) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) needs at least one timestep; got input shape {inputs.Shape}.");
        if (mask is not null && (mask.Rank != 2 || mask.Value.shape[0] != batch || mask.Value.shape[1] != steps))
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}): the mask must be [batch, timesteps] = " +
                $"[{batch}, {steps}] for input of shape {inputs.Shape}; got a mask of shape {mask.Shape}.");
        if (mask is not null && mask.Value.dtype != ScalarType.Bool) mask = Ops.NotEqual(mask, 0); // Keras casts the mask to bool

        // Keras's RNN.call: dropout masks are drawn once per call, from the first step's shapes, and used at every step.
        bool dropping = training && (Dropout > 0 || RecurrentDropout > 0);
        int maskCount = RecurrentDropout > 0 ? GateCount : 1; // LSTM/GRU switch to one mask per gate with recurrent dropout
        var inputMasks = training && Dropout > 0 ? DropoutMasks(Dropout, batch, inputs.Value.shape[2], maskCount, inputs.Value.device) : null;
        var projected = Project(inputs, inputMasks);
        var states = InitialStates(inputs, initialState);
        recurrentMasks = dropping && RecurrentDropout > 0 ? DropoutMasks(RecurrentDropout, batch, Units, maskCount, inputs.Value.device) : null;
        try
        {
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
            if (Stateful) Carry(states);
            return [outputs is null ? output! : Ops.Stack(outputs, 1), .. states];
        }
        finally
        {
            recurrentMasks = null;
        }
    }

    /// <summary>The starting states: the given ones, the carried ones of a stateful layer, or zeros.</summary>
    private KTensor[] InitialStates(KTensor inputs, KTensor[] given)
    {
        long batch = inputs.Value.shape[0];
        foreach (var s in given)
        {
            if (s.Value.shape[0] != batch)
                throw new ArgumentException($"Layer '{Name}' ({GetType().Name}): an initial state must be [batch, units] = " +
                    $"[{batch}, {Units}]; got {s.Shape}.");
        }
        if (Stateful)
        {
            if (carriedStates is null)
            {
                carriedStates = Enumerable.Range(0, StateCount).Select(_ => zeros([batch, Units], ScalarType.Float32, inputs.Value.device)).ToArray();
                foreach (var s in carriedStates) s.DetachFromDisposeScope();
            }
            else if (carriedStates[0].shape[0] != batch)
            {
                throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) is stateful, so its batch size is fixed at " +
                    $"{carriedStates[0].shape[0]} (the first call's); got a batch of {batch}. Keras requires a fixed batch size for stateful RNNs.");
            }
        }
        // Keras's RNN.call: given initial states win over a stateful layer's carried ones (which the call's final states replace).
        if (given.Length > 0) return given;
        if (Stateful) return carriedStates!.Select(s => (KTensor)s.clone()).ToArray();
        return Enumerable.Range(0, StateCount).Select(_ => Ops.ZeroState(inputs, Units)).ToArray();
    }

    /// <summary>Keeps the final states (without their gradient history) for the next call of a stateful layer.</summary>
    private void Carry(KTensor[] states)
    {
        using var _ = no_grad();
        for (int i = 0; i < states.Length; i++) carriedStates![i].copy_(states[i].Value.detach());
    }

    /// <summary>The inputs of every timestep times the kernel, plus the input bias; in training with dropout the inputs are
    /// first multiplied by the mask (one for all gates, or gate by gate).</summary>
    private KTensor Project(KTensor inputs, KTensor[]? inputMasks)
    {
        if (inputMasks is null) return Ops.Linear(inputs, kernel!, InputBias);
        if (inputMasks.Length == 1) return Ops.Linear(inputs * Ops.ExpandDims(inputMasks[0], 1), kernel!, InputBias);
        var blocks = inputMasks.Select((m, g) => Ops.MatMul(inputs * Ops.ExpandDims(m, 1), KernelBlock(kernel!, g, 1))).ToArray();
        var projected = Ops.Concatenate(blocks, -1);
        return InputBias is { } b ? projected + b : projected;
    }

    /// <summary>Columns of gates [<paramref name="firstGate"/>, <paramref name="firstGate"/> + <paramref name="gates"/>) of a kernel.</summary>
    private KTensor KernelBlock(KTensor k, int firstGate, int gates) =>
        firstGate == 0 && gates == GateCount ? k : Ops.Slice(k, [0, firstGate * (long)Units], [-1, gates * (long)Units]);

    /// <summary>
    /// The previous output <paramref name="h"/> as gate <paramref name="gate"/> sees it before the recurrent kernel: in
    /// training with recurrent dropout, times that gate's mask (or the shared one); otherwise <paramref name="h"/> itself.
    /// </summary>
    protected KTensor RecurrentInput(KTensor h, int gate) =>
        recurrentMasks is null ? h : h * recurrentMasks[recurrentMasks.Length == 1 ? 0 : gate];

    /// <summary>
    /// <c>h @ recurrent_kernel</c> for gates [<paramref name="firstGate"/>, <paramref name="firstGate"/> + <paramref name="gates"/>)
    /// (all by default), each gate's block on <see cref="RecurrentInput"/> (so recurrent dropout applies gate by gate).
    /// </summary>
    protected KTensor RecurrentProduct(KTensor h, int firstGate = 0, int? gates = null)
    {
        int count = gates ?? GateCount - firstGate;
        if (recurrentMasks is null) return Ops.MatMul(h, KernelBlock(RecurrentKernel, firstGate, count));
        if (recurrentMasks.Length == 1) return Ops.MatMul(RecurrentInput(h, 0), KernelBlock(RecurrentKernel, firstGate, count));
        var blocks = Enumerable.Range(firstGate, count).Select(g => Ops.MatMul(RecurrentInput(h, g), KernelBlock(RecurrentKernel, g, 1))).ToArray();
        return blocks.Length == 1 ? blocks[0] : Ops.Concatenate(blocks, -1);
    }

    /// <summary>Keras's <c>backend.random.dropout(ones, rate)</c>: <paramref name="count"/> masks [batch, width] of 0 and
    /// 1 / (1 - rate), drawn on the CPU from the layer's generator (or the global one) so results do not depend on the device.</summary>
    private KTensor[] DropoutMasks(double rate, long batch, long width, int count, Device device) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            using var u = rand([batch, width], ScalarType.Float32, CPU, generator: generator ?? Keras.Generator);
            return (KTensor)(u.ge(rate).to_type(ScalarType.Float32) / (1 - rate)).to(device);
        }).ToArray();
}
