using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// libtorch's whole-sequence recurrences (<c>torch.lstm</c>, <c>torch.gru</c>, <c>torch.rnn_tanh</c>, <c>torch.rnn_relu</c>:
/// what PyTorch's <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> run, oneDNN on CPU, cuDNN on CUDA), reached through a
/// TorchScript function because TorchSharp 0.107.0 binds them only inside its <c>nn</c> modules, whose parameters are
/// the modules' own. Here the weights are arguments, so they can be views of the layer's Keras-layout variables computed
/// at each call, and autograd carries the gradients back to those variables.
/// </summary>
/// <remarks>
/// One layer, one direction, batch first: <c>x</c> [batch, time, features], states [batch, units]; weights in libtorch's
/// layout (<c>w_ih</c> [gates*units, features], <c>w_hh</c> [gates*units, units], <c>b_ih</c>, <c>b_hh</c> [gates*units]).
/// Each function returns the output sequence, then the final states. <c>train</c> tells cuDNN/oneDNN to keep what backward
/// needs (there is no inter-layer dropout with one layer).
/// </remarks>
internal static class FusedRecurrence
{
    private const string Script = """
        def lstm(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, train: bool) -> List[Tensor]:
            y, h, c = torch.lstm(x, [h0.unsqueeze(0), c0.unsqueeze(0)], [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, train, False, True)
            return [y, h.squeeze(0), c.squeeze(0)]

        def gru(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, train: bool) -> List[Tensor]:
            y, h = torch.gru(x, h0.unsqueeze(0), [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, train, False, True)
            return [y, h.squeeze(0)]

        def rnn_tanh(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, train: bool) -> List[Tensor]:
            y, h = torch.rnn_tanh(x, h0.unsqueeze(0), [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, train, False, True)
            return [y, h.squeeze(0)]

        def rnn_relu(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, train: bool) -> List[Tensor]:
            y, h = torch.rnn_relu(x, h0.unsqueeze(0), [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, train, False, True)
            return [y, h.squeeze(0)]

        """; // TorchScript wants the last line ended

    private static readonly Lazy<jit.CompilationUnit?> Unit = new(() =>
    {
        try
        {
            return jit.compile(Script);
        }
        catch (ExternalException)
        {
            return null; // a libtorch without these ops: the layers keep their step-by-step loop
        }
    });

    /// <summary>Whether the kernels are available in the loaded libtorch.</summary>
    public static bool Available => Unit.Value is not null;

    /// <summary>
    /// Runs kernel <paramref name="name"/> (lstm, gru, rnn_tanh, rnn_relu) on <paramref name="x"/> from
    /// <paramref name="states"/> (h, and c for lstm) with libtorch-layout <paramref name="weights"/> (w_ih, w_hh, b_ih, b_hh);
    /// returns the output sequence [batch, time, units] and the final states.
    /// </summary>
    public static Tensor[] Run(string name, Tensor x, Tensor[] states, Tensor[] weights, bool train)
    {
        var unit = Unit.Value ?? throw new InvalidOperationException("libtorch's fused recurrences are not available.");
        object[] args = [x, .. states, .. weights, train];
        return unit.invoke(name, args) as Tensor[]
            ?? throw new InvalidOperationException($"The fused recurrence '{name}' returned an unexpected result.");
    }
}
