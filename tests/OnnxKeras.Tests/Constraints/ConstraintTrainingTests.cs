using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.ConstraintsFamily;

/// <summary>
/// Constraints in training: Keras 3's optimizer assigns <c>constraint(w)</c> to each trainable variable after applying the
/// gradients, so one SGD step worked by hand followed by the constraint's formula gives the weights, and the exported
/// ONNX file carries those constrained values.
/// </summary>
public class ConstraintTrainingTests
{
    private const double Eps = 1e-7;

    // Dense(2) with kernel all 1 and bias 0 on x = [[1, 2]], target [[0, 1]], mse, SGD(0.1):
    // p = [3, 3]; mse = (9 + 4) / 2 = 6.5; d mse / d p = 2 (p - y) / 2 = [3, 2]; d / d W_kj = x_k * g_j; d / d b_j = g_j.
    // After the step: W = [[1 - 0.3, 1 - 0.2], [1 - 0.6, 1 - 0.4]] = [[0.7, 0.8], [0.4, 0.6]], b = [-0.3, -0.2].
    private static readonly float[,] X = { { 1f, 2f } };
    private static readonly float[,] Y = { { 0f, 1f } };

    private static (Sequential Model, Dense Dense) Build(Constraint? kernel, Constraint? bias)
    {
        var dense = new Dense(2, kernelInitializer: new Ones(), kernelConstraint: kernel, biasConstraint: bias) { Name = "constrained" };
        var model = new Sequential(new InputLayer([2]), dense);
        model.Compile(new SGD(0.1), loss: "mse");
        return (model, dense);
    }

    [Fact]
    public void WithoutConstraints_TheStepIsPlainSgd()
    {
        var (model, dense) = Build(null, null);
        using var owned = model;
        model.TrainOnBatch(X, Y);
        AllClose(new[] { 0.7, 0.8, 0.4, 0.6 }, dense.Kernel.ToArray(), rtol: 1e-6, atol: 1e-7);
        AllClose(new[] { -0.3, -0.2 }, dense.Bias!.ToArray(), rtol: 1e-6, atol: 1e-7);
    }

    [Fact]
    public void ConstraintsAreAppliedAfterTheUpdate_AndExported()
    {
        var (model, dense) = Build(Constraints.MaxNorm(0.5), Constraints.NonNeg());
        using var owned = model;
        var logs = model.TrainOnBatch(X, Y);
        Assert.Equal(6.5, logs["loss"], 5); // the loss before the update

        // Column norms of the stepped kernel: sqrt(0.7^2 + 0.4^2) = sqrt(0.65) and sqrt(0.8^2 + 0.6^2) = 1, both above 0.5,
        // so column j is scaled by 0.5 / (n_j + eps).
        double s0 = 0.5 / (Math.Sqrt(0.65) + Eps), s1 = 0.5 / (1 + Eps);
        double[] kernel = [0.7 * s0, 0.8 * s1, 0.4 * s0, 0.6 * s1];
        AllClose(kernel, dense.Kernel.ToArray(), rtol: 1e-6, atol: 1e-7, what: "kernel");
        Assert.Equal(new float[] { 0, 0 }, dense.Bias!.ToArray()); // -0.3 and -0.2 clipped by NonNeg
        Assert.Same(dense.KernelConstraint, dense.Kernel.Constraint);
        Assert.Same(dense.BiasConstraint, dense.Bias!.Constraint);

        // The exported initializers are the constrained values, the kernel in Keras's [in, out] layout.
        var graph = Onnx.ModelProto.Parser.ParseFrom(model.ExportOnnxBytes(out _)).Graph;
        var k = graph.Initializer.Single(i => i.Name == "constrained/kernel");
        var b = graph.Initializer.Single(i => i.Name == "constrained/bias");
        float[] Values(Onnx.TensorProto t) => t.FloatData.Count > 0 ? [.. t.FloatData]
            : Enumerable.Range(0, t.RawData.Length / 4).Select(i => BitConverter.ToSingle(t.RawData.Span[(i * 4)..])).ToArray();
        Assert.Equal(new long[] { 2, 2 }, k.Dims);
        AllClose(kernel, Values(k), rtol: 1e-6, atol: 1e-7, what: "exported kernel");
        Assert.Equal(new float[] { 0, 0 }, Values(b));
    }

    [Fact]
    public void FrozenVariables_AreLeftAlone()
    {
        // Keras applies constraints to the variables the optimizer updates: a frozen layer keeps its weights as they are.
        var frozen = new Dense(2, kernelInitializer: new Constant(3), kernelConstraint: Constraints.UnitNorm()) { Trainable = false };
        var head = new Dense(2, kernelInitializer: new Ones());
        using var model = new Sequential(new InputLayer([2]), frozen, head);
        model.Compile(new SGD(0.1), loss: "mse");
        model.TrainOnBatch(X, Y);
        Assert.Equal(new float[] { 3, 3, 3, 3 }, frozen.Kernel.ToArray());
    }

    [Fact]
    public void FitAppliesTheConstraintAfterEveryStep()
    {
        // Larger steps than the bound allows: after Fit every kernel column has norm at most 1 (UnitNorm: exactly 1).
        Keras.SetRandomSeed(3);
        var dense = new Dense(3, kernelConstraint: Constraints.UnitNorm());
        using var model = new Sequential(new InputLayer([4]), dense);
        model.Compile(new SGD(0.5), loss: "mse");
        var rng = new Random(5);
        var x = new float[16, 4];
        var y = new float[16, 3];
        for (int i = 0; i < 16; i++)
        {
            for (int j = 0; j < 4; j++) x[i, j] = (float)(rng.NextDouble() * 4 - 2);
            for (int j = 0; j < 3; j++) y[i, j] = (float)(rng.NextDouble() * 10);
        }
        model.Fit(x, y, batchSize: 4, epochs: 2, verbose: 0);
        var w = dense.Kernel.ToArray();
        for (int j = 0; j < 3; j++)
        {
            double norm = Math.Sqrt(Enumerable.Range(0, 4).Sum(i => (double)w[i * 3 + j] * w[i * 3 + j]));
            AllClose(1.0, norm, rtol: 1e-5, atol: 0, what: $"column {j} norm");
        }
    }
}
