using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.RegularizersFamily;

/// <summary>
/// Keras 3 weight regularizers (keras/src/regularizers/regularizers.py): the penalty values, defaults,
/// lookup, and the penalty's place in the loss a compiled model reports and differentiates.
/// </summary>
public class RegularizersTests
{
    private static double Value(Regularizer r, float[] w, long[] shape)
    {
        using var t = tensor(w, shape);
        var p = r.Compute(t).Value;
        Assert.Equal(0, p.dim()); // a scalar
        return p.item<float>();
    }

    // W = [[1, -2], [3, -4.5]]: sum |w| = 1 + 2 + 3 + 4.5 = 10.5; sum w^2 = 1 + 4 + 9 + 20.25 = 34.25.
    private static readonly float[] W = [1f, -2f, 3f, -4.5f];
    private static readonly long[] WShape = [2, 2];

    [Fact]
    public void L1_IsFactorTimesSumOfAbs()
    {
        AllClose(3.15, Value(Regularizers.L1(0.3), W, WShape), rtol: 1e-5, atol: 1e-6, what: "L1(0.3)");     // 0.3 * 10.5
        AllClose(0.105, Value(Regularizers.L1(), W, WShape), rtol: 1e-5, atol: 1e-6, what: "L1()");         // default 0.01 * 10.5
        Assert.Equal(0.01, ((L1Regularizer)Regularizers.L1()).L1);
    }

    [Fact]
    public void L2_IsFactorTimesSumOfSquares_WithoutOneHalf()
    {
        AllClose(3.425, Value(Regularizers.L2(0.1), W, WShape), rtol: 1e-5, atol: 1e-6, what: "L2(0.1)");    // 0.1 * 34.25
        AllClose(0.3425, Value(Regularizers.L2(), W, WShape), rtol: 1e-5, atol: 1e-6, what: "L2()");        // default 0.01 * 34.25
        Assert.Equal(0.01, ((L2Regularizer)Regularizers.L2()).L2);
    }

    [Fact]
    public void L1L2_IsSumOfBothPenalties()
    {
        AllClose(6.575, Value(Regularizers.L1L2(0.3, 0.1), W, WShape), rtol: 1e-5, atol: 1e-6, what: "L1L2(0.3, 0.1)"); // 3.15 + 3.425
        AllClose(3.425, Value(Regularizers.L1L2(l2: 0.1), W, WShape), rtol: 1e-5, atol: 1e-6, what: "L1L2(l2: 0.1)");    // no L1 part
    }

    [Fact]
    public void L1L2_DefaultsAreZero_AsKeras3()
    {
        // Keras 3: keras.regularizers.L1L2 and its alias keras.regularizers.l1_l2 are one class with
        // l1=0.0, l2=0.0 (keras/api/regularizers/__init__.py: "L1L2 as l1_l2"). tf.keras 2's l1_l2 function
        // defaulted to 0.01 / 0.01; that survives only in the string lookup below.
        var factory = (L1L2Regularizer)Regularizers.L1L2();
        Assert.Equal((0.0, 0.0), (factory.L1, factory.L2));
        var ctor = new L1L2Regularizer();
        Assert.Equal((0.0, 0.0), (ctor.L1, ctor.L2));
        Assert.Equal(0.0, Value(factory, W, WShape));
    }

    [Fact]
    public void Penalty_OfRank3Weight_SumsEveryElement()
    {
        // A conv-like [2, 2, 2] weight of 0.5s and -0.5s: sum |w| = 8 * 0.5 = 4, sum w^2 = 8 * 0.25 = 2.
        float[] w = [0.5f, -0.5f, 0.5f, -0.5f, 0.5f, -0.5f, 0.5f, -0.5f];
        AllClose(0.8, Value(Regularizers.L1(0.2), w, [2, 2, 2]), rtol: 1e-5, atol: 1e-6, what: "L1 rank 3");   // 0.2 * 4
        AllClose(0.6, Value(Regularizers.L2(0.3), w, [2, 2, 2]), rtol: 1e-5, atol: 1e-6, what: "L2 rank 3");   // 0.3 * 2
    }

    [Fact]
    public void Factors_MustBeFiniteAndNonNegative()
    {
        Assert.Throws<ArgumentException>(() => Regularizers.L1(-0.1));
        Assert.Throws<ArgumentException>(() => Regularizers.L2(-1e-9));
        Assert.Throws<ArgumentException>(() => Regularizers.L1L2(0.1, -0.1));
        Assert.Throws<ArgumentException>(() => Regularizers.L1L2(-0.1, 0.1));
        Assert.Throws<ArgumentException>(() => Regularizers.L2(double.NaN));
        Assert.Throws<ArgumentException>(() => Regularizers.L1(double.PositiveInfinity));
        Assert.Equal(0.0, Value(Regularizers.L1(0.0), W, WShape));
    }

    [Fact]
    public void Get_ByName_UsesFactorPointZeroOne()
    {
        var l1 = Assert.IsType<L1Regularizer>(Regularizers.Get("l1"));
        var l2 = Assert.IsType<L2Regularizer>(Regularizers.Get("l2"));
        var l1l2 = Assert.IsType<L1L2Regularizer>(Regularizers.Get("l1_l2"));
        Assert.Equal(0.01, l1.L1);
        Assert.Equal(0.01, l2.L2);
        Assert.Equal((0.01, 0.01), (l1l2.L1, l1l2.L2)); // Keras's documented default for the 'l1_l2' identifier
        Regularizer implicitly = "l2";
        Assert.IsType<L2Regularizer>(implicitly);
        Assert.Equal(("l1", "l2", "l1_l2"), (l1.Name, l2.Name, l1l2.Name));
        var e = Assert.Throws<ArgumentException>(() => Regularizers.Get("l3"));
        Assert.Contains("l3", e.Message);
        Assert.Contains("l1_l2", e.Message);
    }

    [Fact]
    public void GetConfig_MatchesKeras()
    {
        Assert.Equal(0.3, Regularizers.L1(0.3).GetConfig()["l1"]);
        Assert.Equal(0.1, Regularizers.L2(0.1).GetConfig()["l2"]);
        var c = Regularizers.L1L2(0.2, 0.4).GetConfig();
        Assert.Equal(["l1", "l2"], c.Keys.Order());
        Assert.Equal((0.2, 0.4), ((double)c["l1"]!, (double)c["l2"]!));
    }

    // ---- the penalty in a compiled model -------------------------------------------------------------

    // x: 4 samples of 3 features; y: 4 samples of 2 targets.
    private static readonly float[,] X = { { 1f, 2f, 3f }, { -1f, 0.5f, 2f }, { 0f, 0f, 1f }, { 2f, -1f, -0.5f } };
    private static readonly float[,] Y = { { 1f, 0f }, { 0f, 1f }, { 2f, -1f }, { 0.5f, 0.5f } };
    private const double C = 0.5;    // every kernel entry
    private const double Lr = 0.1;   // SGD learning rate
    private const double L2F = 0.01; // kernel L2 factor

    /// <summary>Predictions of Dense(2) with kernel all <see cref="C"/> and the given bias: p_ij = C * sum_k x_ik + b_j.</summary>
    private static double[,] Predict(double[] bias)
    {
        var p = new double[4, 2];
        for (int i = 0; i < 4; i++)
        {
            double rowSum = 0;
            for (int k = 0; k < 3; k++) rowSum += X[i, k];
            for (int j = 0; j < 2; j++) p[i, j] = C * rowSum + bias[j];
        }
        return p;
    }

    /// <summary>Keras mean_squared_error: mean over the last axis, then over the batch (here: over all 8 values).</summary>
    private static double Mse(double[,] p)
    {
        double sum = 0;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 2; j++) sum += (p[i, j] - Y[i, j]) * (p[i, j] - Y[i, j]);
        return sum / 8;
    }

    private static Sequential Model(Dense dense)
    {
        var model = new Sequential(new InputLayer([3]), dense);
        model.Compile(optimizer: new SGD(Lr), loss: "mse");
        return model;
    }

    [Fact]
    public void KernelL2_IsAddedToReportedLoss_AndToTheGradient()
    {
        // By hand: row sums of x are 6, 1.5, 1, 0.5, so p = 3, 0.75, 0.5, 0.25 in both columns; residuals
        // (p - y) = [2, 3], [0.75, -0.25], [-1.5, 1.5], [-0.25, -0.25]; squares sum to 18.25; mse = 18.25 / 8
        // = 2.28125. Penalty: 0.01 * 6 entries * 0.5^2 = 0.015. Total 2.29625.
        double dataLoss = Mse(Predict([0, 0]));
        double penalty = L2F * 6 * C * C;
        Assert.Equal(2.28125, dataLoss, 12);
        Assert.Equal(0.015, penalty, 12);

        var dense = new Dense(2, kernelRegularizer: Regularizers.L2(L2F), kernelInitializer: new Constant(C));
        using var model = Model(dense);

        // Evaluate in two batches of 2: each batch adds the (same) penalty, and the batch means average back
        // to the overall mse: (13.625 / 4 + 4.625 / 4) / 2 = 2.28125.
        var eval = model.Evaluate(X, Y, batchSize: 2);
        AllClose(dataLoss + penalty, eval["loss"], rtol: 1e-5, atol: 1e-6, what: "Evaluate loss");
        AllClose(dataLoss + penalty, model.TestOnBatch(X, Y)["loss"], rtol: 1e-5, atol: 1e-6, what: "TestOnBatch loss");
        AllClose(penalty, dense.Losses.Sum(l => l.Value.item<float>()), rtol: 1e-5, atol: 1e-6, what: "layer.Losses");

        // TrainOnBatch reports the loss of the forward pass before the update (as Keras's train_on_batch).
        var train = model.TrainOnBatch(X, Y);
        AllClose(dataLoss + penalty, train["loss"], rtol: 1e-5, atol: 1e-6, what: "TrainOnBatch loss");

        // One SGD step on data loss + penalty. d mse / d p_ij = 2 (p_ij - y_ij) / 8;
        // d / d W_kj = sum_i x_ik * 2 (p_ij - y_ij) / 8 + 2 * 0.01 * W_kj; d / d b_j = sum_i 2 (p_ij - y_ij) / 8.
        var p = Predict([0, 0]);
        var kernel = dense.Kernel.ToArray(); // [3, 2] row-major
        var bias = dense.Bias!.ToArray();
        for (int j = 0; j < 2; j++)
        {
            double gb = 0;
            for (int i = 0; i < 4; i++) gb += 2 * (p[i, j] - Y[i, j]) / 8;
            AllClose(0 - Lr * gb, bias[j], rtol: 1e-5, atol: 1e-6, what: $"bias[{j}]");
            for (int k = 0; k < 3; k++)
            {
                double g = 0;
                for (int i = 0; i < 4; i++) g += X[i, k] * 2 * (p[i, j] - Y[i, j]) / 8;
                g += 2 * L2F * C;
                AllClose(C - Lr * g, kernel[k * 2 + j], rtol: 1e-5, atol: 1e-6, what: $"kernel[{k},{j}]");
            }
        }
    }

    [Fact]
    public void KernelL1L2_AndBiasL1_AreBothAdded()
    {
        // Kernel all 0.5 (6 entries) with L1L2(0.02, 0.03): 0.02 * 3 + 0.03 * 1.5 = 0.06 + 0.045 = 0.105.
        // Bias all 0.25 (2 entries) with L1(0.04): 0.04 * 0.5 = 0.02. Total penalty 0.125.
        var dense = new Dense(2, kernelInitializer: new Constant(C), biasInitializer: new Constant(0.25),
            kernelRegularizer: Regularizers.L1L2(0.02, 0.03), biasRegularizer: Regularizers.L1(0.04));
        using var model = Model(dense);
        double kernelPenalty = 0.02 * 6 * C + 0.03 * 6 * C * C;
        double biasPenalty = 0.04 * 2 * 0.25;
        Assert.Equal(0.125, kernelPenalty + biasPenalty, 12);
        double dataLoss = Mse(Predict([0.25, 0.25]));
        AllClose(dataLoss + kernelPenalty + biasPenalty, model.Evaluate(X, Y)["loss"], rtol: 1e-5, atol: 1e-6, what: "Evaluate loss");
    }

    [Fact]
    public void FrozenLayer_ContributesNoPenalty()
    {
        // Keras adds regularization losses of trainable weights only.
        var dense = new Dense(2, kernelRegularizer: Regularizers.L2(L2F), kernelInitializer: new Constant(C));
        using var model = Model(dense);
        AllClose(2.28125 + 0.015, model.Evaluate(X, Y)["loss"], rtol: 1e-5, atol: 1e-6, what: "Evaluate loss while trainable"); // see the first model test
        Assert.Single(dense.Losses);
        dense.Trainable = false;
        Assert.Empty(dense.Losses);
        AllClose(2.28125, model.Evaluate(X, Y)["loss"], rtol: 1e-5, atol: 1e-6, what: "Evaluate loss of frozen layer");
    }

    [Fact]
    public void NoRegularizer_NoPenalty()
    {
        var dense = new Dense(2, kernelInitializer: new Constant(C));
        using var model = Model(dense);
        AllClose(2.28125, model.Evaluate(X, Y)["loss"], rtol: 1e-5, atol: 1e-6, what: "Evaluate loss");
        Assert.Empty(dense.Losses);
    }
}
