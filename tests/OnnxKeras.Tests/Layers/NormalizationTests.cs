using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

public class NormalizationTests
{
    private const double Eps = 1e-3;

    // ------------------------------------------------------------------ BatchNormalization

    [Fact]
    public void BatchNormalizationHarness() => LayerTestHarness.Run(new BatchNormalization(), [3], [3], 2, 2);

    [Fact]
    public void BatchNormalizationHarnessChannelsFirstAxis() =>
        LayerTestHarness.Run(new BatchNormalization(axis: 1, center: false), [2, 3, 4], [2, 3, 4], 1, 2);

    [Fact]
    public void BatchNormalizationKerasDefaultsAndWeightOrder()
    {
        var bn = new BatchNormalization();
        Assert.Equal(-1, bn.Axis);
        Assert.Equal(0.99, bn.Momentum);
        Assert.Equal(1e-3, bn.Epsilon);
        bn.EnsureBuilt(new Shape(null, 4));
        Assert.Equal(["gamma", "beta", "moving_mean", "moving_variance"], bn.Weights.Select(w => w.Name));
        Assert.All(bn.Weights, w => Assert.Equal(Shape.Of(4), w.Shape));
        Assert.Equal([1f, 1f, 1f, 1f], bn.Weights[0].ToArray());
        Assert.Equal([0f, 0f, 0f, 0f], bn.Weights[1].ToArray());
        Assert.Equal([0f, 0f, 0f, 0f], bn.Weights[2].ToArray());
        Assert.Equal([1f, 1f, 1f, 1f], bn.Weights[3].ToArray());
        Assert.Equal(["moving_mean", "moving_variance"], bn.NonTrainableWeights.Select(w => w.Name));
        Assert.All(bn.NonTrainableWeights, w => Assert.False(w.Value.requires_grad));

        var noAffine = new BatchNormalization(center: false, scale: false);
        noAffine.EnsureBuilt(new Shape(null, 4));
        Assert.Empty(noAffine.TrainableWeights);
        Assert.Equal(2, noAffine.NonTrainableWeights.Count);

        var config = new BatchNormalization(axis: 1, momentum: 0.9, epsilon: 1e-5).GetConfig();
        Assert.Equal(1, config["axis"]);
        Assert.Equal(0.9, config["momentum"]);
        Assert.Equal(1e-5, config["epsilon"]);
        Assert.Equal(false, config["synchronized"]);
    }

    /// <summary>Per-column mean and biased variance of a [rows, cols] matrix, in double.</summary>
    private static (double[] Mean, double[] Var) ColumnMoments(float[] x, int rows, int cols)
    {
        var mean = new double[cols];
        var variance = new double[cols];
        for (int c = 0; c < cols; c++)
        {
            for (int r = 0; r < rows; r++) mean[c] += x[r * cols + c];
            mean[c] /= rows;
            for (int r = 0; r < rows; r++) variance[c] += Math.Pow(x[r * cols + c] - mean[c], 2);
            variance[c] /= rows;
        }
        return (mean, variance);
    }

    private static double[] NormalizeColumns(float[] x, int rows, int cols, double[] mean, double[] variance, float[] gamma, float[] beta)
    {
        var y = new double[x.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                y[r * cols + c] = (x[r * cols + c] - mean[c]) / Math.Sqrt(variance[c] + Eps) * gamma[c] + beta[c];
        return y;
    }

    [Fact]
    public void BatchNormalizationTrainingUsesBatchStatisticsAndUpdatesMovingStatistics()
    {
        using var scope = NewDisposeScope();
        float[] gamma = [1.5f, 0.5f, 2f], beta = [0.1f, -0.2f, 0.3f];
        float[] x1 = [1, 2, 3, 4, 0, -1, 2, 2, 2, -3, 1, 5];
        float[] x2 = [0.5f, -1, 2, 3, 3, 0, -2, 1, 4, 1, 0.25f, -1];
        var bn = new BatchNormalization(momentum: 0.9);
        bn.EnsureBuilt(new Shape(null, 3));
        bn.SetWeights([FamilyTestUtil.Nd(gamma, 3), FamilyTestUtil.Nd(beta, 3), FamilyTestUtil.Nd([0.2f, -0.1f, 0f], 3), FamilyTestUtil.Nd([1f, 2f, 0.5f], 3)]);
        double[] mm = [0.2, -0.1, 0], mv = [1, 2, 0.5];

        foreach (var x in new[] { x1, x2 })
        {
            var (mean, variance) = ColumnMoments(x, 4, 3);
            var y = bn.Apply(FamilyTestUtil.T(x, 4, 3), training: true);
            AllClose(NormalizeColumns(x, 4, 3, mean, variance, gamma, beta), FamilyTestUtil.Values(y), rtol: 1e-5, atol: 0, scaleFloor: 1);
            for (int c = 0; c < 3; c++)
            {
                mm[c] = mm[c] * 0.9 + mean[c] * 0.1;
                mv[c] = mv[c] * 0.9 + variance[c] * 0.1; // Keras 3 uses the biased batch variance here too
            }
            AllClose(mm, bn.MovingMean.ToArray(), rtol: 1e-5, atol: 0, scaleFloor: 1);
            AllClose(mv, bn.MovingVariance.ToArray(), rtol: 1e-5, atol: 0, scaleFloor: 1);
        }

        // Inference: the moving statistics, which the call leaves unchanged.
        var inference = bn.Apply(FamilyTestUtil.T(x1, 4, 3), training: false);
        AllClose(NormalizeColumns(x1, 4, 3, mm, mv, gamma, beta), FamilyTestUtil.Values(inference), rtol: 1e-5, atol: 0, scaleFloor: 1);
        AllClose(mm, bn.MovingMean.ToArray(), rtol: 1e-5, atol: 0, scaleFloor: 1);
        AllClose(mv, bn.MovingVariance.ToArray(), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void BatchNormalizationReducesOverEveryAxisButTheFeatureAxis()
    {
        using var scope = NewDisposeScope();
        const int N = 2, C = 3, H = 2, W = 2;
        var x = FamilyTestUtil.Wave(N * C * H * W);
        float[] gamma = [0.5f, 1f, 2f], beta = [1f, 0f, -1f];
        var bn = new BatchNormalization(axis: 1, momentum: 0.5);
        bn.EnsureBuilt(new Shape(null, C, H, W));
        bn.SetWeights([FamilyTestUtil.Nd(gamma, C), FamilyTestUtil.Nd(beta, C), FamilyTestUtil.Nd([0f, 0f, 0f], C), FamilyTestUtil.Nd([1f, 1f, 1f], C)]);
        var y = FamilyTestUtil.Values(bn.Apply(FamilyTestUtil.T(x, N, C, H, W), training: true));

        int Idx(int n, int c, int h, int w) => ((n * C + c) * H + h) * W + w;
        var expected = new double[x.Length];
        for (int c = 0; c < C; c++)
        {
            double mean = 0, variance = 0;
            for (int n = 0; n < N; n++) for (int h = 0; h < H; h++) for (int w = 0; w < W; w++) mean += x[Idx(n, c, h, w)];
            mean /= N * H * W;
            for (int n = 0; n < N; n++) for (int h = 0; h < H; h++) for (int w = 0; w < W; w++) variance += Math.Pow(x[Idx(n, c, h, w)] - mean, 2);
            variance /= N * H * W;
            for (int n = 0; n < N; n++) for (int h = 0; h < H; h++) for (int w = 0; w < W; w++)
                expected[Idx(n, c, h, w)] = (x[Idx(n, c, h, w)] - mean) / Math.Sqrt(variance + Eps) * gamma[c] + beta[c];
            Assert.Equal(mean * 0.5, bn.MovingMean.ToArray()[c], 5);
            Assert.Equal(0.5 + variance * 0.5, bn.MovingVariance.ToArray()[c], 5);
        }
        AllClose(expected, y, rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void BatchNormalizationInModelFitUpdatesMovingStatisticsOnlyByMomentumAndPredictUsesThem()
    {
        using var scope = NewDisposeScope();
        var input = Keras.Input([3]);
        var bn = new BatchNormalization(momentum: 0.8);
        var dense = new Dense(1);
        using var model = new Model(input, dense.Apply(bn.Apply(input)));
        model.Compile(optimizer: new SGD(0.1), loss: "mse");

        double[] mm = [0, 0, 0], mv = [1, 1, 1];
        float[] x1 = [1, 2, 3, 4, 0, -1, 2, 2, 2, -3, 1, 5];
        float[] x2 = [0.5f, -1, 2, 3, 3, 0, -2, 1, 4, 1, 0.25f, -1];
        var gammaBefore = bn.Gamma!.ToArray();
        foreach (var x in new[] { x1, x2 })
        {
            model.TrainOnBatch(FamilyTestUtil.To2D(x, 4, 3), new float[,] { { 1 }, { -1 }, { 0.5f }, { 2 } });
            var (mean, variance) = ColumnMoments(x, 4, 3);
            for (int c = 0; c < 3; c++)
            {
                mm[c] = mm[c] * 0.8 + mean[c] * 0.2;
                mv[c] = mv[c] * 0.8 + variance[c] * 0.2;
            }
            // Exactly the momentum update: the optimizer never touches the moving statistics.
            AllClose(mm, bn.MovingMean.ToArray(), rtol: 1e-5, atol: 0, scaleFloor: 1);
            AllClose(mv, bn.MovingVariance.ToArray(), rtol: 1e-5, atol: 0, scaleFloor: 1);
        }
        Assert.False(gammaBefore.SequenceEqual(bn.Gamma!.ToArray()), "gamma should be trained");
        Assert.Equal(2, model.NonTrainableWeights.Count);

        // Predict runs in inference mode: moving statistics, then the dense layer.
        var gamma = bn.Gamma!.ToArray();
        var beta = bn.Beta!.ToArray();
        var kernel = dense.Kernel.ToArray();
        var bias = dense.Bias!.ToArray();
        var normalized = NormalizeColumns(x1, 4, 3, mm, mv, gamma, beta);
        var expected = Enumerable.Range(0, 4).Select(r => Enumerable.Range(0, 3).Sum(c => normalized[r * 3 + c] * kernel[c]) + bias[0]).ToArray();
        var predicted = model.Predict(FamilyTestUtil.To2D(x1, 4, 3));
        AllClose(expected, predicted.Data, rtol: 1e-5, atol: 0, scaleFloor: 1);
        AllClose(mm, bn.MovingMean.ToArray(), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void FrozenBatchNormalizationRunsInInferenceModeEvenInFit()
    {
        using var scope = NewDisposeScope();
        var input = Keras.Input([3]);
        var bn = new BatchNormalization();
        var dense = new Dense(1);
        using var model = new Model(input, dense.Apply(bn.Apply(input)));
        bn.SetWeights([FamilyTestUtil.Nd([2f, 1f, 0.5f], 3), FamilyTestUtil.Nd([0f, 1f, 0f], 3), FamilyTestUtil.Nd([1f, 0f, -1f], 3), FamilyTestUtil.Nd([4f, 1f, 0.25f], 3)]);
        bn.Trainable = false;
        Assert.Empty(bn.TrainableWeights);
        Assert.Equal(4, bn.NonTrainableWeights.Count);
        model.Compile(optimizer: new SGD(0.1), loss: "mse");
        float[] x = [1, 2, 3, 4, 0, -1, 2, 2, 2, -3, 1, 5];
        var before = bn.Weights.Select(w => w.ToArray()).ToList();
        model.TrainOnBatch(FamilyTestUtil.To2D(x, 4, 3), new float[,] { { 1 }, { -1 }, { 0.5f }, { 2 } });
        var after = bn.Weights.Select(w => w.ToArray()).ToList();
        for (int i = 0; i < before.Count; i++) Assert.Equal(before[i], after[i]);

        // training: true on a frozen layer normalizes with the moving statistics.
        var y = bn.Apply(FamilyTestUtil.T(x, 4, 3), training: true);
        AllClose(NormalizeColumns(x, 4, 3, [1, 0, -1], [4, 1, 0.25], [2f, 1f, 0.5f], [0f, 1f, 0f]), FamilyTestUtil.Values(y), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void BatchNormalizationRejectsBadArgumentsAndInputs()
    {
        Assert.Throws<ArgumentException>(() => new BatchNormalization(momentum: 1.5));
        Assert.Throws<ArgumentException>(() => new BatchNormalization(momentum: double.NaN));
        Assert.Throws<ArgumentException>(() => new BatchNormalization(epsilon: -1));
        Assert.Throws<ArgumentException>(() => new BatchNormalization(synchronized: true));

        var outOfRange = new BatchNormalization(axis: 2) { Name = "bn_axis" };
        var e = Assert.Throws<ArgumentException>(() => outOfRange.Apply(Keras.Input([3])));
        Assert.Contains("bn_axis", e.Message);
        Assert.Contains("(None, 3)", e.Message);

        using var scope = NewDisposeScope();
        var bn = new BatchNormalization { Name = "bn_shape" };
        bn.Apply(zeros(2, 3));
        var wrongFeatures = Assert.Throws<ArgumentException>(() => bn.Apply(zeros(2, 4)));
        Assert.Contains("bn_shape", wrongFeatures.Message);
        Assert.Contains("(2, 4)", wrongFeatures.Message);
        var wrongRank = Assert.Throws<ArgumentException>(() => bn.Apply(zeros(2, 5, 3)));
        Assert.Contains("rank 2", wrongRank.Message);
    }

    // ------------------------------------------------------------------ LayerNormalization

    [Fact]
    public void LayerNormalizationHarness() => LayerTestHarness.Run(new LayerNormalization(), [3, 4], [3, 4], 2, 0);

    [Fact]
    public void LayerNormalizationHarnessMultiAxis() => LayerTestHarness.Run(new LayerNormalization(axis: [1, 2]), [3, 4], [3, 4], 2, 0);

    [Fact]
    public void LayerNormalizationLastAxisMatchesFormula()
    {
        using var scope = NewDisposeScope();
        const int R = 3, C = 4;
        var x = FamilyTestUtil.Wave(R * C);
        float[] gamma = [1f, 2f, 0.5f, -1f], beta = [0f, 0.5f, -0.5f, 1f];
        var ln = new LayerNormalization();
        Assert.Equal(1e-3, ln.Epsilon);
        ln.EnsureBuilt(new Shape(null, C));
        ln.SetWeights([FamilyTestUtil.Nd(gamma, C), FamilyTestUtil.Nd(beta, C)]);
        var y = FamilyTestUtil.Values(ln.Apply(FamilyTestUtil.T(x, R, C)));
        var expected = new double[x.Length];
        for (int r = 0; r < R; r++)
        {
            double mean = Enumerable.Range(0, C).Average(c => (double)x[r * C + c]);
            double variance = Enumerable.Range(0, C).Average(c => Math.Pow(x[r * C + c] - mean, 2));
            for (int c = 0; c < C; c++) expected[r * C + c] = (x[r * C + c] - mean) / Math.Sqrt(variance + Eps) * gamma[c] + beta[c];
        }
        AllClose(expected, y, rtol: 1e-5, atol: 0, scaleFloor: 1);
        // Same result in training mode.
        AllClose(expected, FamilyTestUtil.Values(ln.Apply(FamilyTestUtil.T(x, R, C), training: true)), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void LayerNormalizationOverSeveralAxesAndOverAMiddleAxis()
    {
        using var scope = NewDisposeScope();
        const int N = 2, A = 3, B = 4;
        var x = FamilyTestUtil.Wave(N * A * B, 0.4);
        int Idx(int n, int i, int j) => (n * A + i) * B + j;

        // axis [1, 2]: one mean per sample; gamma and beta of shape (3, 4).
        var gamma = FamilyTestUtil.Wave(A * B, 1.0);
        var beta = FamilyTestUtil.Wave(A * B, 2.0);
        var ln = new LayerNormalization(axis: [1, 2]);
        ln.EnsureBuilt(new Shape(null, A, B));
        Assert.Equal(Shape.Of(A, B), ln.Gamma!.Shape);
        ln.SetWeights([FamilyTestUtil.Nd(gamma, A, B), FamilyTestUtil.Nd(beta, A, B)]);
        var expected = new double[x.Length];
        for (int n = 0; n < N; n++)
        {
            double mean = 0, variance = 0;
            for (int i = 0; i < A; i++) for (int j = 0; j < B; j++) mean += x[Idx(n, i, j)];
            mean /= A * B;
            for (int i = 0; i < A; i++) for (int j = 0; j < B; j++) variance += Math.Pow(x[Idx(n, i, j)] - mean, 2);
            variance /= A * B;
            for (int i = 0; i < A; i++) for (int j = 0; j < B; j++)
                expected[Idx(n, i, j)] = (x[Idx(n, i, j)] - mean) / Math.Sqrt(variance + Eps) * gamma[i * B + j] + beta[i * B + j];
        }
        AllClose(expected, FamilyTestUtil.Values(ln.Apply(FamilyTestUtil.T(x, N, A, B))), rtol: 1e-5, atol: 0, scaleFloor: 1);

        // axis 1 (not the last): one mean per (sample, j); gamma of shape (3,) broadcast along axis 1.
        float[] g1 = [0.5f, 1.5f, -2f], b1 = [1f, 0f, 0.25f];
        var middle = new LayerNormalization(axis: 1, epsilon: 1e-2);
        middle.EnsureBuilt(new Shape(null, A, B));
        middle.SetWeights([FamilyTestUtil.Nd(g1, A), FamilyTestUtil.Nd(b1, A)]);
        for (int n = 0; n < N; n++)
        {
            for (int j = 0; j < B; j++)
            {
                double mean = Enumerable.Range(0, A).Average(i => (double)x[Idx(n, i, j)]);
                double variance = Enumerable.Range(0, A).Average(i => Math.Pow(x[Idx(n, i, j)] - mean, 2));
                for (int i = 0; i < A; i++) expected[Idx(n, i, j)] = (x[Idx(n, i, j)] - mean) / Math.Sqrt(variance + 1e-2) * g1[i] + b1[i];
            }
        }
        AllClose(expected, FamilyTestUtil.Values(middle.Apply(FamilyTestUtil.T(x, N, A, B))), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void LayerNormalizationRmsScalingAndWithoutAffine()
    {
        using var scope = NewDisposeScope();
        const int R = 2, C = 5;
        var x = FamilyTestUtil.Wave(R * C, 0.7);
        float[] gamma = [1f, 2f, 0.5f, -1f, 3f];
        var rms = new LayerNormalization(rmsScaling: true);
        rms.EnsureBuilt(new Shape(null, C));
        Assert.Equal(["gamma"], rms.Weights.Select(w => w.Name));
        rms.SetWeights([FamilyTestUtil.Nd(gamma, C)]);
        var plain = new LayerNormalization(center: false, scale: false);
        plain.EnsureBuilt(new Shape(null, C));
        Assert.Empty(plain.Weights);

        var expectedRms = new double[x.Length];
        var expectedPlain = new double[x.Length];
        for (int r = 0; r < R; r++)
        {
            double mean = Enumerable.Range(0, C).Average(c => (double)x[r * C + c]);
            double variance = Enumerable.Range(0, C).Average(c => Math.Pow(x[r * C + c] - mean, 2));
            for (int c = 0; c < C; c++)
            {
                // Keras's rms_scaling: x * rsqrt(var + eps) * gamma (the variance, not the mean square, and no centering).
                expectedRms[r * C + c] = x[r * C + c] / Math.Sqrt(variance + Eps) * gamma[c];
                expectedPlain[r * C + c] = (x[r * C + c] - mean) / Math.Sqrt(variance + Eps);
            }
        }
        AllClose(expectedRms, FamilyTestUtil.Values(rms.Apply(FamilyTestUtil.T(x, R, C))), rtol: 1e-5, atol: 0, scaleFloor: 1);
        AllClose(expectedPlain, FamilyTestUtil.Values(plain.Apply(FamilyTestUtil.T(x, R, C))), rtol: 1e-5, atol: 0, scaleFloor: 1);
    }

    [Fact]
    public void LayerNormalizationConfigAcceptsIntOrListAxis()
    {
        var single = new LayerNormalization(axis: -1);
        Assert.Equal(-1, single.GetConfig()["axis"]);
        var fromInt = (LayerNormalization)LayerRegistry.FromConfig(typeof(LayerNormalization), single.GetConfig());
        Assert.Equal([-1], fromInt.Axis);

        var config = new LayerNormalization(axis: [1, 2], epsilon: 1e-6).GetConfig();
        var fromList = (LayerNormalization)LayerRegistry.FromConfig(typeof(LayerNormalization), config);
        Assert.Equal([1, 2], fromList.Axis);
        Assert.Equal(1e-6, fromList.Epsilon);

        // Keras writes axis as a list after build, e.g. [-1].
        config["axis"] = new List<object?> { -1L };
        Assert.Equal([-1], ((LayerNormalization)LayerRegistry.FromConfig("LayerNormalization", config)).Axis);
    }

    [Fact]
    public void LayerNormalizationRejectsBadArgumentsAndInputs()
    {
        Assert.Throws<ArgumentException>(() => new LayerNormalization(epsilon: -1e-3));
        Assert.Throws<ArgumentException>(() => new LayerNormalization(axis: Array.Empty<int>()));
        Assert.Throws<ArgumentException>(() => new LayerNormalization(axis: [1, 1]));
        var ln = new LayerNormalization(axis: 3) { Name = "ln_axis" };
        var e = Assert.Throws<ArgumentException>(() => ln.Apply(Keras.Input([4, 5])));
        Assert.Contains("ln_axis", e.Message);
        Assert.Contains("(None, 4, 5)", e.Message);
        Assert.Throws<ArgumentException>(() => new LayerNormalization(axis: -3).ComputeOutputShape(new Shape(null, 4)));

        using var scope = NewDisposeScope();
        var built = new LayerNormalization { Name = "ln_shape" };
        built.Apply(zeros(2, 4));
        var wrong = Assert.Throws<ArgumentException>(() => built.Apply(zeros(2, 5)));
        Assert.Contains("ln_shape", wrong.Message);
    }
}
