using TorchSharp;

namespace OnnxKeras;

/// <summary>
/// Native scalars that per-step code reuses instead of letting TorchSharp convert a .NET number at every call.
/// </summary>
/// <remarks>
/// TorchSharp 0.107.0 turns each <c>double</c> or <c>long</c> argument of an op (<c>x.clamp(1e-7, ...)</c>,
/// <c>fill_(0)</c>, <c>add_(y, alpha: n)</c>, a TorchScript argument) into a <see cref="Scalar"/> that no dispose scope
/// tracks, so its small native block lives until a garbage collection finalizes it. A training step makes few managed
/// allocations, so collections are rare, and those blocks, allocated between the step's large tensors, split the heap's
/// free space: Fit's peak memory on the MNIST MLP at batch 1024 grew by about 5 MiB a step until a collection
/// (bench/NOTES.md, "Peak memory of mnist_mlp_b1024"). Hot paths use these shared constants, or make a Scalar with
/// <c>using</c> for a value that changes per step. A shared Scalar is only read by libtorch, so threads may share it.
/// </remarks>
internal static class Scalars
{
    /// <summary>The integer 0 (what <c>fill_(0)</c> passes).</summary>
    public static readonly Scalar Zero = 0;

    /// <summary>The integer 1: the alpha of a plain <c>a + b</c> (TorchSharp's <c>a + b</c> makes a new one each time).</summary>
    public static readonly Scalar One = 1;

    /// <summary>The integer 2: <c>x.pow(Scalars.Two)</c> is TorchSharp's <c>x.square()</c> (which is <c>pow(2)</c>) without a new Scalar.</summary>
    public static readonly Scalar Two = 2;

    /// <summary>Keras's backend epsilon, 1e-7 (<see cref="Losses.Loss.Epsilon"/>).</summary>
    public static readonly Scalar Epsilon = Losses.Loss.Epsilon;

    /// <summary>1 - 1e-7, the upper clip of probabilities.</summary>
    public static readonly Scalar OneMinusEpsilon = 1 - Losses.Loss.Epsilon;
}
