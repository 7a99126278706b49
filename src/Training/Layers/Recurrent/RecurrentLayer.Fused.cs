using static TorchSharp.torch;

namespace OnnxKeras.Layers;

// The fused path of RecurrentLayer.Run: libtorch's whole-sequence kernel (FusedRecurrence) on the Keras-layout weights
// viewed in libtorch's layout, for the configurations where it computes exactly what the step-by-step loop computes.
public abstract partial class RecurrentLayer
{
    /// <summary>
    /// Whether the layer may run libtorch's fused recurrence (what PyTorch's <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> run)
    /// instead of its step-by-step loop (default true). It is used only where it computes the same function: LSTM and GRU
    /// (<c>reset_after</c>) with tanh and sigmoid, SimpleRNN with tanh or relu; no input mask; no recurrent dropout in
    /// training; not during ONNX export. Gradients reach the layer's variables either way.
    /// </summary>
    public bool UseFusedKernel { get; set; } = true;

    /// <summary>Calls that ran the fused kernel / the step-by-step loop (for tests that check which path a configuration takes).</summary>
    internal int FusedCalls { get; private set; }

    /// <inheritdoc cref="FusedCalls"/>
    internal int LoopCalls { get; private set; }

    /// <summary>
    /// The layer's libtorch kernel (lstm, gru, rnn_tanh, rnn_relu), or null where its activations or options have none.
    /// </summary>
    private protected virtual string? FusedKernel => null;

    /// <summary>For each of libtorch's gate blocks, the Keras gate block it is (LSTM i,f,c,o and SimpleRNN: the same).</summary>
    private protected virtual int[]? FusedGateOrder => null;

    /// <summary>The input and recurrent biases in Keras's gate order (null: zeros).</summary>
    private protected virtual (Tensor? Input, Tensor? Recurrent) FusedBiases => (bias?.Value, null);

    /// <summary>Whether <paramref name="f"/> is the built-in activation <paramref name="builtin"/>.</summary>
    private protected static bool Is(ActivationFunction f, ActivationFunction builtin) =>
        ReferenceEquals(f, builtin) || f.Function.Equals(builtin.Function);

    /// <summary>Whether this call can take the fused path (see <see cref="UseFusedKernel"/>).</summary>
    private bool CanFuse(KTensor inputs, KTensor[] initialState, KTensor? mask, bool training)
    {
        if (!UseFusedKernel || FusedKernel is null || mask is not null || (training && RecurrentDropout > 0)) return false;
        if (inputs.Tracer is not null || initialState.Any(s => s.Tracer is not null)) return false; // export traces the ops
        var dtype = Kernel.Value.dtype;
        if (inputs.Value.dtype != dtype || initialState.Any(s => s.Value.dtype != dtype)) return false;
        return FusedRecurrence.Available;
    }

    /// <summary>
    /// The recurrence in one libtorch kernel: the (dropped-out) inputs, reversed for <see cref="GoBackwards"/>, through the
    /// kernel from <paramref name="states"/>; returns the output (sequence or last) followed by the final states.
    /// </summary>
    private KTensor[] RunFused(KTensor inputs, KTensor[] states, KTensor[]? inputMasks)
    {
        var x = inputs.Value;
        // One mask shared by the gates (there are per-gate masks only with recurrent dropout, which takes the loop):
        // masking the inputs before the kernel is masking them before the input projection, as Project does.
        if (inputMasks is not null) x = x * inputMasks[0].Value.unsqueeze(1);
        if (GoBackwards) x = x.flip(1);
        var (inputBias, recurrentBias) = FusedBiases;
        var w = new[] { Gates(Kernel.Value, 1).t(), Gates(RecurrentKernel.Value, 1).t(), BiasOrZeros(inputBias), BiasOrZeros(recurrentBias) };
        var result = FusedRecurrence.Run(FusedKernel!, x, states.Select(s => s.Value).ToArray(), w, is_grad_enabled());
        var final = result.Skip(1).Select(t => (KTensor)t).ToArray();
        if (Stateful) Carry(final);
        return [ReturnSequences ? result[0] : final[0], .. final];
    }

    /// <summary>Keras's gate blocks along <paramref name="axis"/> in libtorch's order.</summary>
    private Tensor Gates(Tensor t, int axis)
    {
        var order = FusedGateOrder;
        if (order is null || order.Select((g, i) => g == i).All(same => same)) return t;
        return cat(order.Select(g => t.narrow(axis, g * (long)Units, Units)).ToArray(), axis);
    }

    private Tensor BiasOrZeros(Tensor? b) =>
        b is null ? zeros([GateCount * (long)Units], Kernel.Value.dtype, Kernel.Value.device) : Gates(b, 0);
}
