namespace OnnxKeras.Layers;

/// <summary>
/// Bidirectional wrapper for recurrent layers (Keras's <c>Bidirectional</c>): runs a forward copy of the layer and a
/// backward copy (<c>go_backwards</c> flipped) on the same input and merges their outputs. With <c>return_sequences</c>
/// the backward output is re-reversed so both are in input time order. Merge modes: <c>concat</c> (default, last axis),
/// <c>sum</c>, <c>mul</c>, <c>ave</c>, or null (the two outputs separately). As in Keras, the copies are rebuilt from the
/// wrapped layer's config (named <c>forward_*</c> and <c>backward_*</c>) and do not reuse its weights; the weights are
/// the forward layer's then the backward layer's. With <c>return_state</c> the outputs are the merged output(s), then
/// the forward states, then the backward states (call <see cref="Layer.ApplyMany"/>). An input mask goes to both layers;
/// as in Keras, with <c>return_sequences</c> both output zeros at masked timesteps (<see cref="RecurrentLayer.ZeroOutputForMask"/>).
/// Initial states (Keras's <c>initial_state</c>) are the forward layer's states followed by the backward layer's, given as
/// extra inputs (<see cref="Apply(KTensor, IReadOnlyList{KTensor}, bool)"/>).
/// </summary>
/// <example><code>var y = new Bidirectional(new LSTM(16, returnSequences: true)).Apply(Keras.Input([null, 8]));   // [batch, time, 32]</code></example>
public sealed class Bidirectional : Layer
{
    private static readonly string?[] MergeModes = ["concat", "sum", "mul", "ave", null];
    private readonly RecurrentLayer forwardLayer;
    private readonly RecurrentLayer backwardLayer;

    /// <summary>Wraps <paramref name="layer"/> (an <see cref="RecurrentLayer"/>: SimpleRNN, LSTM or GRU).</summary>
    /// <param name="layer">The recurrent layer to run in both directions; the forward copy is rebuilt from its config.</param>
    /// <param name="mergeMode">How to combine the outputs: concat, sum, mul, ave, or null for both separately.</param>
    /// <param name="backwardLayer">Optional layer for the backward direction; it must have the opposite <c>go_backwards</c>
    /// and the same <c>return_sequences</c> and <c>return_state</c>. By default a copy of <paramref name="layer"/>.</param>
    public Bidirectional(Layer layer, string? mergeMode = "concat", Layer? backwardLayer = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer is not RecurrentLayer rnn)
            throw new ArgumentException("Bidirectional: the wrapped layer must be a recurrent layer (SimpleRNN, LSTM, GRU); got " +
                $"{layer.GetType().Name} '{layer.Name}'.", nameof(layer));
        if (!MergeModes.Contains(mergeMode))
            throw new ArgumentException($"Bidirectional: invalid merge_mode '{mergeMode}'; expected one of concat, sum, mul, ave or null.", nameof(mergeMode));
        MergeMode = mergeMode;
        forwardLayer = Copy(rnn, "forward_", rnn.GoBackwards);
        if (backwardLayer is null) this.backwardLayer = Copy(rnn, "backward_", !rnn.GoBackwards);
        else if (backwardLayer is RecurrentLayer back) this.backwardLayer = back;
        else throw new ArgumentException("Bidirectional: backward_layer must be a recurrent layer (SimpleRNN, LSTM, GRU); got " +
            $"{backwardLayer.GetType().Name} '{backwardLayer.Name}'.", nameof(backwardLayer));

        if (forwardLayer.GoBackwards == this.backwardLayer.GoBackwards)
            throw new ArgumentException("Bidirectional: the forward and backward layers need different go_backwards values; both have " +
                $"{forwardLayer.GoBackwards}.", nameof(backwardLayer));
        if (forwardLayer.ReturnSequences != this.backwardLayer.ReturnSequences || forwardLayer.ReturnState != this.backwardLayer.ReturnState)
            throw new ArgumentException("Bidirectional: the forward and backward layers need the same return_sequences and return_state; " +
                $"got {forwardLayer.ReturnSequences}/{forwardLayer.ReturnState} and " +
                $"{this.backwardLayer.ReturnSequences}/{this.backwardLayer.ReturnState}.", nameof(backwardLayer));
        // Keras forces zero_output_for_mask = return_sequences on both layers.
        forwardLayer.ZeroOutputForMask = forwardLayer.ReturnSequences;
        this.backwardLayer.ZeroOutputForMask = this.backwardLayer.ReturnSequences;
        InputSpec = null; // the sequence is checked by the wrapped layers; initial states that follow it are rank 2
    }

    /// <summary>Calls the layer on <paramref name="inputs"/> from <paramref name="initialState"/>: the forward layer's states
    /// (h, or h and c for LSTM), then the backward layer's (Keras's <c>initial_state</c>).</summary>
    public KTensor Apply(KTensor inputs, IReadOnlyList<KTensor> initialState, bool training = false) =>
        Apply([inputs, .. initialState], training);

    /// <summary>Like <see cref="Apply(KTensor, IReadOnlyList{KTensor}, bool)"/>, returning every output.</summary>
    public IReadOnlyList<KTensor> ApplyMany(KTensor inputs, IReadOnlyList<KTensor> initialState, bool training = false) =>
        ApplyMany([inputs, .. initialState], training);

    /// <summary>Clears the carried states of both layers when they are stateful (<see cref="RecurrentLayer.ResetStates"/>).</summary>
    public void ResetStates()
    {
        forwardLayer.ResetStates();
        backwardLayer.ResetStates();
    }

    /// <summary>The inputs of each direction: the sequence, then that direction's half of the initial states.</summary>
    internal (KTensor[] Forward, KTensor[] Backward) SplitInputs(IReadOnlyList<KTensor> inputs)
    {
        int n = forwardLayer.States;
        if (inputs.Count != 1 && inputs.Count != 1 + 2 * n)
            throw new ArgumentException($"Layer '{Name}' (Bidirectional) takes the input sequence and optionally {2 * n} initial states " +
                $"({n} for each direction); got {inputs.Count} inputs.");
        if (inputs.Count == 1) return ([inputs[0]], [inputs[0]]);
        return ([inputs[0], .. inputs.Skip(1).Take(n)], [inputs[0], .. inputs.Skip(1 + n)]);
    }

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <summary>Keras's <c>compute_mask</c>: the input mask for each returned sequence (both with merge_mode null), none otherwise.</summary>
    public override IReadOnlyList<KTensor?> ComputeMask(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor?> masks)
    {
        var mask = ReturnSequences && masks.Count > 0 ? masks[0] : null;
        return MergeMode is null ? [mask, mask] : [mask];
    }

    /// <summary>How the two outputs are merged (concat, sum, mul, ave, or null for both separately).</summary>
    public string? MergeMode { get; }

    /// <summary>The forward-direction layer.</summary>
    public RecurrentLayer ForwardLayer => forwardLayer;

    /// <summary>The backward-direction layer.</summary>
    public RecurrentLayer BackwardLayer => backwardLayer;

    /// <summary>Whether the outputs are sequences (the wrapped layer's <c>return_sequences</c>).</summary>
    public bool ReturnSequences => forwardLayer.ReturnSequences;

    /// <summary>Whether the final states follow the output (the wrapped layer's <c>return_state</c>).</summary>
    public bool ReturnState => forwardLayer.ReturnState;

    /// <summary>The forward layer, then the backward layer (Keras's weight order).</summary>
    public override IReadOnlyList<Layer> Sublayers => [forwardLayer, backwardLayer];

    private static RecurrentLayer Copy(RecurrentLayer layer, string prefix, bool goBackwards)
    {
        var config = layer.GetConfig();
        string name = layer.Name;
        config["name"] = prefix + (name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name);
        config["go_backwards"] = goBackwards;
        return (RecurrentLayer)LayerRegistry.FromConfig(layer.GetType(), config);
    }

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        new InputSpec { Rank = 3 }.Check(this, inputShape);
        forwardLayer.EnsureBuilt(inputShape);
        backwardLayer.EnsureBuilt(inputShape);
    }

    /// <inheritdoc />
    public override void Build(IReadOnlyList<Shape> inputShapes)
    {
        var (fw, bw) = SplitShapes(inputShapes);
        new InputSpec { Rank = 3 }.Check(this, inputShapes[0]);
        forwardLayer.EnsureBuilt(fw);
        backwardLayer.EnsureBuilt(bw);
    }

    private (Shape[] Forward, Shape[] Backward) SplitShapes(IReadOnlyList<Shape> shapes)
    {
        int n = forwardLayer.States;
        if (shapes.Count != 1 && shapes.Count != 1 + 2 * n)
            throw new ArgumentException($"Layer '{Name}' (Bidirectional) takes the input sequence and optionally {2 * n} initial states " +
                $"({n} for each direction); got {shapes.Count} inputs.");
        if (shapes.Count == 1) return ([shapes[0]], [shapes[0]]);
        return ([shapes[0], .. shapes.Skip(1).Take(n)], [shapes[0], .. shapes.Skip(1 + n)]);
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var outputs = Call([inputs], training);
        return outputs.Count == 1 ? outputs[0]
            : throw new InvalidOperationException($"Layer '{Name}' (Bidirectional) returns {outputs.Count} outputs; call it with ApplyMany.");
    }

    /// <inheritdoc />
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false)
    {
        var (forwardInputs, backwardInputs) = SplitInputs(inputs);
        new InputSpec { Rank = 3 }.Check(this, inputs[0].Shape);
        var y = forwardLayer.ApplyMany(forwardInputs, training);
        var yRev = backwardLayer.ApplyMany(backwardInputs, training);
        KTensor a = y[0], b = yRev[0];
        if (ReturnSequences) b = Ops.Flip(b, 1);
        KTensor[] merged = MergeMode switch
        {
            "concat" => [Ops.Concatenate([a, b], -1)],
            "sum" => [a + b],
            "mul" => [a * b],
            "ave" => [(a + b) * 0.5],
            _ => [a, b],
        };
        return [.. merged, .. y.Skip(1), .. yRev.Skip(1)];
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => ComputeOutputShapes([inputShape])[0];

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes)
    {
        var (fw, bw) = SplitShapes(inputShapes);
        new InputSpec { Rank = 3 }.Check(this, inputShapes[0]);
        backwardLayer.ComputeOutputShapes(bw);
        var shapes = forwardLayer.ComputeOutputShapes(fw);
        var output = shapes[0];
        var states = shapes.Skip(1).ToList();
        Shape[] merged = MergeMode switch
        {
            "concat" => [output.WithLast(output[^1] * 2)],
            null => [output, output],
            _ => [output],
        };
        return [.. merged, .. states, .. states];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("merge_mode", MergeMode)
        .With("layer", LayerRegistry.Serialize(forwardLayer))
        .With("backward_layer", LayerRegistry.Serialize(backwardLayer));
}
