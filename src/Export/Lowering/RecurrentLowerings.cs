using OnnxKeras.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// SimpleRNN, LSTM and GRU lower to one ONNX RNN / LSTM / GRU op (layout 0, so the input is transposed to
/// [seq, batch, features] and the outputs back), with the weights converted to ONNX's layout as constants: W = kernelᵀ and
/// R = recurrent_kernelᵀ with the gate blocks in ONNX's order (Keras LSTM i, f, c, o becomes ONNX i, o, f, c; GRU z, r, h
/// is the same in both), B = [input bias, recurrent bias]. Bidirectional lowers to one op with direction "bidirectional"
/// (forward weights then backward weights) and its merge computed from Y. The sequence length may be dynamic. Layers whose
/// activations have no ONNX RNN counterpart, and layers whose input carries a mask (Keras's masking skips arbitrary
/// timesteps, which ONNX's sequence lengths cannot express), are traced step by step instead (fixed sequence length only).
/// Initial states given as inputs become the op's initial_h (and initial_c), so in an exported model they are graph inputs;
/// the op's optional sequence_lens before them is every sequence's full length. Dropout is training-only and absent.
/// A stateful layer has no ONNX form (its state lives between calls); export a stateless copy with initial states instead.
/// </summary>
internal sealed class RecurrentLowerings : ILayerLoweringFamily
{
    public void Register(LayerLoweringRegistry registry)
    {
        registry.Register(typeof(RecurrentLayer), (layer, args) => Lower((RecurrentLayer)layer, args));
        registry.Register(typeof(Bidirectional), (layer, args) => Lower((Bidirectional)layer, args));
    }

    /// <summary>The ONNX form of one recurrent layer: op type, Keras gate block for each ONNX gate slot, activations.</summary>
    private sealed record CellSpec(string OpType, int[] GateOrder, string[] Activations, double[] Alphas, double[] Betas,
        long? LinearBeforeReset, long Units, bool HasBias)
    {
        /// <summary>Whether two layers (the directions of a Bidirectional) fit in one ONNX op.</summary>
        public bool SameOp(CellSpec other) => OpType == other.OpType && Activations.SequenceEqual(other.Activations) && Alphas.SequenceEqual(other.Alphas) &&
            Betas.SequenceEqual(other.Betas) && LinearBeforeReset == other.LinearBeforeReset && Units == other.Units && HasBias == other.HasBias;
    }

    /// <summary>The layer's ONNX form, or null when an activation has no ONNX RNN activation.</summary>
    private static CellSpec? Spec(RecurrentLayer layer)
    {
        var alphas = new List<double>();
        var betas = new List<double>();
        string? Activation(ActivationFunction f)
        {
            switch (f.Name)
            {
                case "tanh": return "Tanh";
                case "sigmoid": return "Sigmoid";
                case "relu": return "Relu";
                case "hard_sigmoid":
                    // Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1).
                    alphas.Add(1.0 / 6);
                    betas.Add(0.5);
                    return "HardSigmoid";
                case "hard_sigmoid_keras2":
                    // Keras 2 (the recurrent activation of LSTM/GRU layers loaded from Keras 2 files): clip(0.2x + 0.5, 0, 1).
                    alphas.Add(0.2);
                    betas.Add(0.5);
                    return "HardSigmoid";
                case "linear":
                    alphas.Add(1.0);
                    betas.Add(0.0);
                    return "Affine";
                default: return null;
            }
        }
        // ONNX Runtime consumes activation_alpha / activation_beta in order, only for the activations that take them.
        string?[] activations = layer switch
        {
            LSTM lstm => [Activation(lstm.RecurrentActivation), Activation(lstm.Activation), Activation(lstm.Activation)],
            GRU gru => [Activation(gru.RecurrentActivation), Activation(gru.Activation)],
            SimpleRNN rnn => [Activation(rnn.Activation)],
            _ => [null],
        };
        if (activations.Any(a => a is null)) return null;
        var names = activations.Select(a => a!).ToArray();
        return layer switch
        {
            LSTM => new CellSpec("LSTM", [0, 3, 1, 2], names, [.. alphas], [.. betas], null, layer.Units, layer.UseBias),
            GRU gru => new CellSpec("GRU", [0, 1, 2], names, [.. alphas], [.. betas], gru.ResetAfter ? 1 : 0, layer.Units, layer.UseBias),
            _ => new CellSpec("RNN", [0], names, [.. alphas], [.. betas], null, layer.Units, layer.UseBias),
        };
    }

    /// <summary>Keras's gate blocks side by side along the last axis to ONNX's: transposed, blocks in <paramref name="order"/> along the first axis.</summary>
    private static Tensor Blocks(Tensor keras, int[] order, long units)
    {
        var t = keras.dim() == 1 ? keras : keras.t();
        var blocks = t.split(units, 0);
        return cat(order.Select(i => blocks[i]).ToArray(), 0);
    }

    /// <summary>W [gates*units, features], R [gates*units, units] and B [2*gates*units] (null without bias) of one direction.</summary>
    private static (Tensor W, Tensor R, Tensor? B) Weights(RecurrentLayer layer, CellSpec spec)
    {
        long units = layer.Units;
        var w = Blocks(layer.Kernel.Value.detach(), spec.GateOrder, units);
        var r = Blocks(layer.RecurrentKernel.Value.detach(), spec.GateOrder, units);
        Tensor? b = null;
        if (layer.Bias is { } bias)
        {
            var v = bias.Value.detach();
            // GRU with reset_after: [2, 3*units], row 0 the input bias, row 1 the recurrent bias; otherwise no recurrent bias.
            b = v.dim() == 2
                ? cat([Blocks(v[0], spec.GateOrder, units), Blocks(v[1], spec.GateOrder, units)], 0)
                : cat([Blocks(v, spec.GateOrder, units), zeros_like(v)], 0);
        }
        return (w, r, b);
    }

    /// <summary>Writes the ONNX op on x [batch, seq, features]; returns Y, Y_h (and Y_c for LSTM), null where no example was given.</summary>
    /// <paramref name="initial"/> holds each direction's initial states (h, or h and c), or is null for zeros.
    private static IReadOnlyList<KTensor?> OnnxOp(LoweringArgs args, KTensor x, CellSpec spec, string direction,
        (Tensor W, Tensor R, Tensor? B)[] weights, Tensor? y, Tensor? yh, Tensor? yc, KTensor[][]? initial = null)
    {
        var xt = Ops.Transpose(x, 1, 0, 2);
        List<KTensor> inputs = [xt, new KTensor(stack(weights.Select(w => w.W), 0)), new KTensor(stack(weights.Select(w => w.R), 0))];
        if (spec.HasBias) inputs.Add(new KTensor(stack(weights.Select(w => w.B!), 0)));
        else if (initial is not null) inputs.Add(new KTensor(zeros(weights.Length, 2 * weights[0].W.shape[0]))); // B precedes initial_h
        if (initial is not null)
        {
            inputs.Add(SequenceLengths(x, xt));
            for (int k = 0; k < initial[0].Length; k++)
            {
                // [num_directions, batch, units]
                inputs.Add(initial.Length == 1 ? Ops.ExpandDims(initial[0][k], 0) : Ops.Stack(initial.Select(s => s[k]).ToArray(), 0));
            }
        }
        var attributes = new List<(string Name, object Value)>
        {
            ("hidden_size", spec.Units),
            ("direction", direction),
            ("activations", weights.SelectMany(_ => spec.Activations).ToArray()),
        };
        if (spec.Alphas.Length > 0) attributes.Add(("activation_alpha", weights.SelectMany(_ => spec.Alphas).ToArray()));
        if (spec.Betas.Length > 0) attributes.Add(("activation_beta", weights.SelectMany(_ => spec.Betas).ToArray()));
        if (spec.LinearBeforeReset is long lbr) attributes.Add(("linear_before_reset", lbr));
        Tensor?[] examples = spec.OpType == "LSTM" ? [y, yh, yc] : [y, yh];
        return args.OnnxNodeOutputs(spec.OpType, inputs, examples, [.. attributes]);
    }

    private static KTensor Squeeze(LoweringArgs args, KTensor t, long axis) =>
        args.OnnxNode("Squeeze", [t, new KTensor(tensor(new[] { axis }))], t.Value.squeeze(axis));

    /// <summary>ONNX's sequence_lens [batch] (int32), every entry the sequence length, from the traced x [batch, seq, ...] and
    /// xt [seq, batch, ...] (so it follows dynamic sizes): zeros [batch, 1] plus the sum of ones [seq, 1].</summary>
    private static KTensor SequenceLengths(KTensor x, KTensor xt)
    {
        var steps = Ops.Sum(Ops.Add(Ops.ZeroState(xt, 1), 1.0), axis: 0); // [1]
        return Ops.Cast(Ops.Reshape(Ops.Add(Ops.ZeroState(x, 1), steps), -1), "int32");
    }

    private static void CheckStateless(RecurrentLayer layer)
    {
        if (layer.Stateful)
            throw new NotSupportedException("a stateful recurrent layer carries its states from call to call, which an ONNX graph " +
                "cannot hold; export a copy with stateful=False and give the states as initial-state inputs instead.");
    }

    /// <summary>One recurrent layer: direction forward, or reverse for go_backwards (Keras then returns the sequence in processing order).</summary>
    private static IReadOnlyList<KTensor> Lower(RecurrentLayer layer, LoweringArgs args) => Lower(layer, args, args.Inputs);

    /// <summary>One recurrent layer on <paramref name="inputs"/>: the sequence, then optionally its initial states.</summary>
    private static IReadOnlyList<KTensor> Lower(RecurrentLayer layer, LoweringArgs args, IReadOnlyList<KTensor> inputs)
    {
        CheckStateless(layer);
        var spec = Spec(layer);
        // ONNX's RNN ops take sequence lengths, not a mask of arbitrary timesteps: a masked input is traced step by step.
        if (spec is null || inputs[0].Mask is not null) return layer.Call(inputs);
        var x = inputs[0];
        // The layer's eager outputs on the example data are the examples of the ONNX outputs.
        var eager = layer.Call(inputs.Select(t => new KTensor(t.Value)).ToList());
        Tensor? y = null, yh = null, yc = null;
        if (layer.ReturnSequences)
        {
            var sequence = layer.GoBackwards ? eager[0].Value.flip(1) : eager[0].Value;
            y = sequence.permute(1, 0, 2).unsqueeze(1);
        }
        if (!layer.ReturnSequences || layer.ReturnState) yh = (layer.ReturnState ? eager[1] : eager[0]).Value.unsqueeze(0);
        if (layer is LSTM && layer.ReturnState) yc = eager[2].Value.unsqueeze(0);
        KTensor[][]? initial = inputs.Count > 1 ? [inputs.Skip(1).ToArray()] : null;
        var outputs = OnnxOp(args, x, spec, layer.GoBackwards ? "reverse" : "forward", [Weights(layer, spec)], y, yh, yc, initial);

        KTensor output;
        if (layer.ReturnSequences)
        {
            // Y [seq, 1, batch, units] -> [batch, seq, units], in processing order for go_backwards.
            output = Ops.Transpose(Squeeze(args, outputs[0]!, 1), 1, 0, 2);
            if (layer.GoBackwards) output = Ops.Flip(output, 1);
        }
        else output = Squeeze(args, outputs[1]!, 0);
        if (!layer.ReturnState) return [output];
        var h = layer.ReturnSequences ? Squeeze(args, outputs[1]!, 0) : output;
        return layer is LSTM ? [output, h, Squeeze(args, outputs[2]!, 0)] : [output, h];
    }

    /// <summary>
    /// Bidirectional: one ONNX op with direction "bidirectional" when both directions have the same form (ONNX's direction 0
    /// processes forward, 1 backward), else one op per direction; the merge is the layer's.
    /// </summary>
    private static IReadOnlyList<KTensor> Lower(Bidirectional layer, LoweringArgs args)
    {
        RecurrentLayer fw = layer.ForwardLayer, bw = layer.BackwardLayer;
        CheckStateless(fw);
        CheckStateless(bw);
        if (args.Inputs[0].Mask is not null) return layer.Call(args.Inputs); // each direction traced step by step with the mask
        var (fwInputs, bwInputs) = layer.SplitInputs(args.Inputs);
        var spec = Spec(fw);
        var backSpec = Spec(bw);
        if (spec is null || backSpec is null || !spec.SameOp(backSpec) || fw.GetType() != bw.GetType())
        {
            var forward = Lower(fw, args, fwInputs);
            var backward = Lower(bw, args, bwInputs);
            var b = layer.ReturnSequences ? Ops.Flip(backward[0], 1) : backward[0];
            return [.. Merge(layer.MergeMode, forward[0], b), .. forward.Skip(1), .. backward.Skip(1)];
        }

        var x = args.Inputs[0];
        var fwEager = fw.Call(fwInputs.Select(t => new KTensor(t.Value)).ToList());
        var bwEager = bw.Call(bwInputs.Select(t => new KTensor(t.Value)).ToList());
        int fwSlot = fw.GoBackwards ? 1 : 0, bwSlot = 1 - fwSlot;
        RecurrentLayer[] slots = fwSlot == 0 ? [fw, bw] : [bw, fw];
        IReadOnlyList<KTensor>[] slotEager = fwSlot == 0 ? [fwEager, bwEager] : [bwEager, fwEager];
        Tensor? y = null, yh = null, yc = null;
        if (layer.ReturnSequences)
        {
            // ONNX's Y is in input time order for both directions.
            y = stack(slots.Select((l, i) => (l.GoBackwards ? slotEager[i][0].Value.flip(1) : slotEager[i][0].Value).permute(1, 0, 2)), 1);
        }
        if (!layer.ReturnSequences || layer.ReturnState) yh = stack(slotEager.Select(o => (layer.ReturnState ? o[1] : o[0]).Value), 0);
        if (fw is LSTM && layer.ReturnState) yc = stack(slotEager.Select(o => o[2].Value), 0);
        KTensor[][]? initial = null;
        if (fwInputs.Length > 1)
        {
            KTensor[] fwStates = fwInputs[1..], bwStates = bwInputs[1..];
            initial = fwSlot == 0 ? [fwStates, bwStates] : [bwStates, fwStates];
        }
        var outputs = OnnxOp(args, x, spec, "bidirectional", slots.Select(l => Weights(l, spec)).ToArray(), y, yh, yc, initial);

        var states = new List<KTensor>();
        if (layer.ReturnState)
        {
            foreach (var slot in new[] { fwSlot, bwSlot })
            {
                states.Add(Ops.Take(outputs[1]!, slot, axis: 0));
                if (fw is LSTM) states.Add(Ops.Take(outputs[2]!, slot, axis: 0));
            }
        }
        bool plainConcat = layer.MergeMode == "concat" && fwSlot == 0;
        long units = spec.Units;
        if (layer.ReturnSequences)
        {
            var sequences = outputs[0]!;
            if (plainConcat)
            {
                // Y [seq, 2, batch, units] -> [batch, seq, 2, units] -> [batch, seq, 2 * units] (forward then backward).
                var t = Ops.Transpose(sequences, 2, 0, 1, 3);
                var merged = args.OnnxNode("Reshape", [t, new KTensor(tensor(new long[] { 0, 0, -1 }))],
                    t.Value.reshape(t.Value.shape[0], t.Value.shape[1], -1));
                return [merged, .. states];
            }
            KTensor Sequence(int slot)
            {
                var s = Ops.Transpose(Ops.Take(sequences, slot, axis: 1), 1, 0, 2);
                // A forward layer with go_backwards returns its sequence reversed, and the merge reverses the backward one.
                return fw.GoBackwards ? Ops.Flip(s, 1) : s;
            }
            return [.. Merge(layer.MergeMode, Sequence(fwSlot), Sequence(bwSlot)), .. states];
        }
        if (plainConcat) return [Ops.Reshape(Ops.Transpose(outputs[1]!, 1, 0, 2), -1, 2 * units), .. states];
        return [.. Merge(layer.MergeMode, Ops.Take(outputs[1]!, fwSlot, axis: 0), Ops.Take(outputs[1]!, bwSlot, axis: 0)), .. states];
    }

    /// <summary>Bidirectional's merge of the forward and (time-aligned) backward outputs.</summary>
    private static KTensor[] Merge(string? mode, KTensor a, KTensor b) => mode switch
    {
        "concat" => [Ops.Concatenate([a, b], -1)],
        "sum" => [a + b],
        "mul" => [a * b],
        "ave" => [(a + b) * 0.5],
        _ => [a, b],
    };
}
