namespace OnnxKeras.Bench;

/// <summary>
/// Training FLOPs of one batch for the training benchmark's cases (a multiply-add counts 2), from the matrix products and
/// convolutions only; elementwise ops, pooling, the loss and the optimizer update are left out (a few percent at most
/// here). A product costs its forward FLOPs once for the forward pass, once for the weight gradient and once more for
/// the gradient of its input, which autograd computes only when the input needs one: not for the first layer of an MLP
/// or CNN (the input is data), but for an LSTM after an Embedding (the embedding's rows are trained). No file
/// dependencies, so the tests compile it as it is (tests/OnnxKeras.Tests/Bench/TrainFlopsTests.cs).
/// </summary>
internal static class TrainFlops
{
    /// <summary>Dense layers <paramref name="sizes"/> (input, hidden..., classes) on data: the first product twice, the others three times.</summary>
    public static double Mlp(IReadOnlyList<int> sizes, long batch)
    {
        double flops = 0;
        for (int i = 1; i < sizes.Count; i++) flops += (i == 1 ? 2 : 3) * 2.0 * sizes[i - 1] * sizes[i];
        return batch * flops;
    }

    /// <summary>
    /// The MNIST CNN of <c>TrainCase.MnistCnn</c>: conv 3x3 1->32 on 28x28 (26x26 out, on data: twice), conv 3x3
    /// 32->64 on the pooled 13x13 (11x11 out), dense 1600->10 (three times each).
    /// </summary>
    public static double MnistCnn(long batch) =>
        batch * (2 * 2.0 * (26.0 * 26 * 32 * 9 * 1) + 3 * 2.0 * (11.0 * 11 * 64 * 9 * 32) + 3 * 2.0 * (1600.0 * 10));

    /// <summary>
    /// An LSTM of <paramref name="units"/> over <paramref name="timesteps"/> steps of <paramref name="inputs"/> features
    /// (after a trained Embedding, so its input gradient is computed), its last output into a Dense of
    /// <paramref name="classes"/>: per timestep and sample the gate product [inputs + units] x [4 x units], all three times.
    /// </summary>
    public static double Lstm(long batch, int timesteps, int inputs, int units, int classes) =>
        3 * 2.0 * batch * ((double)timesteps * (inputs + units) * 4 * units + (double)units * classes);
}
