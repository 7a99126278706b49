using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Optimizers;

/// <summary>
/// libtorch's single-pass Adam kernel (<c>torch._fused_adam_</c>, what PyTorch's <c>Adam(fused=True)</c> runs), reached
/// through a TorchScript function because TorchSharp 0.107.0 does not bind it. One pass reads the parameters, gradients
/// and moments once instead of the seven passes of the op-by-op update (about 2.7x faster on 670k parameters on CPU).
/// </summary>
/// <remarks>
/// PyTorch adds epsilon to the bias-corrected <c>sqrt(v) / sqrt(1 - b2^t)</c>, Keras to the uncorrected <c>sqrt(v)</c>;
/// passing <c>eps * ... / sqrt(1 - b2^t)</c> makes the kernel compute Keras's rule exactly (up to rounding).
/// The script returns the parameter list: TorchScript drops in-place list operations whose lists are not used afterwards.
/// </remarks>
internal static class FusedAdam
{
    private const string Script = """
        def adam(p: Tensor, g: Tensor, m: Tensor, v: Tensor, step: Tensor, t: float, lr: float, b1: float, b2: float, eps: float) -> List[Tensor]:
            step.fill_(t)
            ps = [p]
            torch._fused_adam_(ps, [g], [m], [v], [], [step], lr=lr, beta1=b1, beta2=b2, weight_decay=0.0, eps=eps, amsgrad=False, maximize=False)
            return ps

        """; // TorchScript wants the last line ended

    private static readonly Lazy<jit.CompilationUnit?> Unit = new(() =>
    {
        try
        {
            return jit.compile(Script);
        }
        catch (ExternalException)
        {
            return null; // a libtorch without the kernel: the op-by-op update serves
        }
    });

    /// <summary>Whether the kernel is available in the loaded libtorch.</summary>
    public static bool Available => Unit.Value is not null;

    /// <summary>
    /// Applies Keras's Adam step <paramref name="t"/> to <paramref name="p"/> in place (moments <paramref name="m"/>,
    /// <paramref name="v"/> updated; <paramref name="step"/> is a one-element float tensor on the parameters' device).
    /// </summary>
    public static void Step(Tensor p, Tensor g, Tensor m, Tensor v, Tensor step, long t, double lr, double beta1, double beta2, double epsilon)
    {
        var unit = Unit.Value ?? throw new InvalidOperationException("torch._fused_adam_ is not available in this libtorch.");
        double kerasEpsilon = epsilon / Math.Sqrt(1 - Math.Pow(beta2, t));
        // Scalars made here and disposed at once: TorchSharp turns a double argument into a Scalar it never disposes, and
        // those small native blocks, freed only by a collection, split the big free blocks of the step's tensors.
        using Scalar st = (double)t, slr = lr, sb1 = beta1, sb2 = beta2, seps = kerasEpsilon;
        var result = unit.invoke("adam", p, g, m, v, step, st, slr, sb1, sb2, seps);
        if (result is Tensor[] outputs)
        {
            foreach (var o in outputs) o.Dispose();
        }
    }
}
