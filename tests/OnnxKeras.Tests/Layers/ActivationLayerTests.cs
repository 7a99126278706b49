using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

public class ActivationLayerTests
{
    private static readonly float[] Xs = [-7f, -3f, -1f, -0.25f, 0f, 0.25f, 0.5f, 0.75f, 1f, 1.25f, 2f, 3f, 7f];

    private static float[] Run(Layer layer, float[] x, params long[] shape)
    {
        using var scope = NewDisposeScope();
        return FamilyTestUtil.Values(layer.Apply(FamilyTestUtil.T(x, shape.Length == 0 ? [1, x.Length] : shape)));
    }

    // ------------------------------------------------------------------ ReLU

    [Fact]
    public void ReLUHarness() => LayerTestHarness.Run(new ReLU(maxValue: 6, negativeSlope: 0.1, threshold: 0.5), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void ReLUKerasDocumentationExample() =>
        Assert.Equal([-5f, -2.5f, 0f, 5f, 10f], Run(new ReLU(maxValue: 10, negativeSlope: 0.5, threshold: 0), [-10, -5, 0, 5, 10]));

    [Theory]
    [InlineData(null, 0.0, 0.0)]
    [InlineData(6.0, 0.0, 0.0)]
    [InlineData(null, 0.1, 0.0)]
    [InlineData(2.0, 0.2, 0.5)]
    [InlineData(null, 0.0, 1.0)]
    [InlineData(1.5, 0.3, 1.0)]
    [InlineData(0.5, 0.3, 1.0)]
    public void ReLUMatchesPiecewiseFormula(double? maxValue, double negativeSlope, double threshold)
    {
        var expected = Xs.Select(x => x > threshold
            ? (maxValue is double m ? Math.Min(x, m) : x)
            : negativeSlope * (x - threshold)).ToList();
        AllClose(expected, Run(new ReLU(maxValue, negativeSlope, threshold), Xs), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void ReLURejectsNegativeArguments()
    {
        Assert.Throws<ArgumentException>(() => new ReLU(maxValue: -1));
        Assert.Throws<ArgumentException>(() => new ReLU(negativeSlope: -0.1));
        Assert.Throws<ArgumentException>(() => new ReLU(threshold: -1));
        Assert.Throws<ArgumentException>(() => new ReLU(negativeSlope: double.NaN));
    }

    // ------------------------------------------------------------------ LeakyReLU

    [Fact]
    public void LeakyReLUHarness() => LayerTestHarness.Run(new LeakyReLU(), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void LeakyReLULayerDefaultSlopeIsPointThree()
    {
        Assert.Equal(0.3, new LeakyReLU().NegativeSlope);
        Assert.Equal(0.3, new LeakyReLU().GetConfig()["negative_slope"]);
        AllClose(Xs.Select(x => x >= 0 ? x : 0.3 * x).ToList(), Run(new LeakyReLU(), Xs), rtol: 1e-5, atol: 0, scaleFloor: 1);
        AllClose(Xs.Select(x => x >= 0 ? x : 0.05 * x).ToList(), Run(new LeakyReLU(0.05), Xs), rtol: 1e-5, atol: 0, scaleFloor: 1);
        Assert.Throws<ArgumentException>(() => new LeakyReLU(-0.3));
    }

    // ------------------------------------------------------------------ ELU

    [Fact]
    public void ELUHarness() => LayerTestHarness.Run(new ELU(0.5), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void ELUMatchesFormula()
    {
        AllClose(Xs.Select(x => x > 0 ? x : 1.0 * (Math.Exp(x) - 1)).ToList(), Run(new ELU(), Xs), rtol: 1e-5, atol: 0, scaleFloor: 1);
        AllClose(Xs.Select(x => x > 0 ? x : 0.5 * (Math.Exp(x) - 1)).ToList(), Run(new ELU(alpha: 0.5), Xs), rtol: 1e-5, atol: 0, scaleFloor: 1);
        Assert.Throws<ArgumentException>(() => new ELU(double.NaN));
    }

    // ------------------------------------------------------------------ Softmax

    [Fact]
    public void SoftmaxHarness() => LayerTestHarness.Run(new Softmax(), [5], [5], 0, 0, supportsTraining: false);

    [Fact]
    public void SoftmaxHarnessMultiAxis() => LayerTestHarness.Run(new Softmax(axis: [1, 2]), [2, 3], [2, 3], 0, 0, supportsTraining: false);

    [Fact]
    public void SoftmaxAlongLastMiddleAndSeveralAxes()
    {
        const int N = 2, A = 3, B = 4;
        var x = FamilyTestUtil.Wave(N * A * B);
        int Idx(int n, int i, int j) => (n * A + i) * B + j;

        var last = new double[x.Length];
        for (int n = 0; n < N; n++)
            for (int i = 0; i < A; i++)
            {
                double sum = Enumerable.Range(0, B).Sum(j => Math.Exp(x[Idx(n, i, j)]));
                for (int j = 0; j < B; j++) last[Idx(n, i, j)] = Math.Exp(x[Idx(n, i, j)]) / sum;
            }
        AllClose(last, Run(new Softmax(), x, N, A, B), rtol: 1e-5, atol: 0, scaleFloor: 1);

        var middle = new double[x.Length];
        for (int n = 0; n < N; n++)
            for (int j = 0; j < B; j++)
            {
                double sum = Enumerable.Range(0, A).Sum(i => Math.Exp(x[Idx(n, i, j)]));
                for (int i = 0; i < A; i++) middle[Idx(n, i, j)] = Math.Exp(x[Idx(n, i, j)]) / sum;
            }
        AllClose(middle, Run(new Softmax(axis: 1), x, N, A, B), rtol: 1e-5, atol: 0, scaleFloor: 1);

        var joint = new double[x.Length];
        for (int n = 0; n < N; n++)
        {
            double sum = 0;
            for (int i = 0; i < A; i++) for (int j = 0; j < B; j++) sum += Math.Exp(x[Idx(n, i, j)]);
            for (int i = 0; i < A; i++) for (int j = 0; j < B; j++) joint[Idx(n, i, j)] = Math.Exp(x[Idx(n, i, j)]) / sum;
        }
        AllClose(joint, Run(new Softmax(axis: [1, -1]), x, N, A, B), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void SoftmaxConfigAcceptsIntOrListAxisAndRejectsBadAxes()
    {
        Assert.Equal(-1, new Softmax().GetConfig()["axis"]);
        var config = new Softmax(axis: 1).GetConfig();
        Assert.Equal(1, config["axis"]);
        Assert.Equal([1], ((Softmax)LayerRegistry.FromConfig(typeof(Softmax), config)).Axis);
        config["axis"] = new List<object?> { 1L, 2L };
        Assert.Equal([1, 2], ((Softmax)LayerRegistry.FromConfig("Softmax", config)).Axis);

        Assert.Throws<ArgumentException>(() => new Softmax(axis: [1, 1]));
        var e = Assert.Throws<ArgumentException>(() => new Softmax(axis: 3) { Name = "sm" }.Apply(Keras.Input([4, 5])));
        Assert.Contains("sm", e.Message);
        Assert.Contains("(None, 4, 5)", e.Message);
    }

    // ------------------------------------------------------------------ PReLU

    [Fact]
    public void PReLUHarness() => LayerTestHarness.Run(new PReLU(), [2, 3], [2, 3], 1, 0, supportsTraining: false);

    [Fact]
    public void PReLUHarnessSharedAxes() => LayerTestHarness.Run(new PReLU(sharedAxes: [1, 2]), [2, 2, 3], [2, 2, 3], 1, 0, supportsTraining: false);

    [Fact]
    public void PReLUAlphaShapeAndFormulaWithSharedAxes()
    {
        var full = new PReLU();
        full.EnsureBuilt(new Shape(null, 2, 3));
        Assert.Equal(Shape.Of(2, 3), full.Alpha.Shape);
        Assert.All(full.Alpha.ToArray(), v => Assert.Equal(0f, v)); // Keras's alpha_initializer "zeros"

        const int N = 2, H = 2, W = 2, C = 3;
        var prelu = new PReLU(sharedAxes: [1, 2]);
        prelu.EnsureBuilt(new Shape(null, H, W, C));
        Assert.Equal(Shape.Of(1, 1, C), prelu.Alpha.Shape);
        float[] alpha = [0.1f, 0.5f, 2f];
        prelu.SetWeights([new NDArray(alpha, 1, 1, C)]);
        var x = FamilyTestUtil.Wave(N * H * W * C);
        var expected = x.Select((v, k) => v >= 0 ? v : alpha[k % C] * v).ToList();
        AllClose(expected, Run(prelu, x, N, H, W, C), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void PReLUTrainsAlphaOnNegativeInputs()
    {
        using var scope = NewDisposeScope();
        var input = Keras.Input([3]);
        var prelu = new PReLU(alphaInitializer: new Constant(0.25));
        using var model = new Model(input, prelu.Apply(input));
        model.Compile(optimizer: new SGD(0.1), loss: "mse");
        float[,] x = { { -1, 2, -3 }, { 0.5f, -2, 1 } };
        float[,] t = { { 0.5f, 1, -1 }, { 0, 1, 2 } };
        model.TrainOnBatch(x, t);

        // loss = mean over the 6 outputs of (y - t)^2; dy/dalpha_j = x where x < 0.
        var expected = new double[3];
        for (int j = 0; j < 3; j++)
        {
            double grad = 0;
            for (int b = 0; b < 2; b++)
            {
                double y = x[b, j] >= 0 ? x[b, j] : 0.25 * x[b, j];
                grad += 2.0 / 6 * (y - t[b, j]) * (x[b, j] < 0 ? x[b, j] : 0);
            }
            expected[j] = 0.25 - 0.1 * grad;
        }
        AllClose(expected, prelu.Alpha.ToArray(), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void PReLUConfigAndBadArguments()
    {
        var config = new PReLU(sharedAxes: [1]).GetConfig();
        Assert.Equal([1], (int[])config["shared_axes"]!);
        config["shared_axes"] = 2L; // Keras also accepts a single int
        Assert.Equal([2], ((PReLU)LayerRegistry.FromConfig("PReLU", config)).SharedAxes);
        Assert.Null(new PReLU().GetConfig()["shared_axes"]);

        Assert.Throws<ArgumentException>(() => new PReLU(sharedAxes: [0]));
        var e = Assert.Throws<ArgumentException>(() => new PReLU(sharedAxes: [3]) { Name = "prelu_axes" }.Apply(Keras.Input([2, 3])));
        Assert.Contains("prelu_axes", e.Message);
        Assert.Contains("(None, 2, 3)", e.Message);

        using var scope = NewDisposeScope();
        var built = new PReLU { Name = "prelu_shape" };
        built.Apply(zeros(2, 3));
        var wrong = Assert.Throws<ArgumentException>(() => built.Apply(zeros(2, 4)));
        Assert.Contains("prelu_shape", wrong.Message);
    }
}
