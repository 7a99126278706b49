using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;

namespace OnnxKeras.Tests.Models;

/// <summary>
/// TrainOnBatch / TestOnBatch / PredictOnBatch and sample / class weights, by hand. Model: Dense(1) with kernel 1 and
/// bias 0 on x = [[1, 2], [3, 4]], so predictions are 3 and 7. Keras's mse with sample weights w over N samples is
/// sum(w_i e_i^2) / N (reduction sum_over_batch_size); class weights turn into sample weights by the class of each
/// label (argmax of one-hot labels, else the rounded label).
/// </summary>
public class BatchApiTests
{
    private static readonly float[,] X = { { 1, 2 }, { 3, 4 } };
    private static readonly float[,] Y = { { 2 }, { 4 } }; // errors 1 and 3

    private static Sequential Model(int units = 1, double learningRate = 0.1)
    {
        var m = new Sequential(new InputLayer([2]), new Dense(units, kernelInitializer: new Ones()));
        m.Compile(new SGD(learningRate), "mse");
        return m;
    }

    [Fact]
    public void TestOnBatch_MseWithAndWithoutSampleWeights()
    {
        using var m = Model();
        Assert.Equal((1 + 9) / 2.0, m.TestOnBatch(X, Y)["loss"], 6);
        Assert.Equal((1 * 1 + 0.5 * 9) / 2, m.TestOnBatch(X, Y, sampleWeight: new float[] { 1, 0.5f })["loss"], 6);
        Assert.Equal((0 * 1 + 2 * 9) / 2.0, m.TestOnBatch(X, Y, sampleWeight: new float[] { 0, 2 })["loss"], 6);
        // Evaluating does not train.
        Assert.Equal(new float[] { 1, 1 }, m.GetWeights()[0].Data);
    }

    [Fact]
    public void TrainOnBatch_ReturnsTheLossBeforeTheUpdate_AndAppliesTheWeightedGradient()
    {
        using var m = Model(learningRate: 0.1);
        var logs = m.TrainOnBatch(X, Y, sampleWeight: new float[] { 1, 0.5f });
        Assert.Equal(2.75, logs["loss"], 6);
        // L = (1/2) sum w_i e_i^2 with e = (1, 3), w = (1, 0.5): dL/dk_j = sum w_i e_i x_ij, dL/db = sum w_i e_i.
        // w e = (1, 1.5): dk = (1*1 + 1.5*3, 1*2 + 1.5*4) = (5.5, 8), db = 2.5; SGD 0.1: k = (0.45, 0.2), b = -0.25.
        var w = m.GetWeights();
        Assert.Equal(0.45f, w[0].Data[0], 5);
        Assert.Equal(0.2f, w[0].Data[1], 5);
        Assert.Equal(-0.25f, w[1].Data[0], 5);
        // Now predictions 0.45 + 0.4 - 0.25 = 0.6 and 1.35 + 0.8 - 0.25 = 1.9: mse ((1.4)^2 + (2.1)^2) / 2.
        Assert.Equal((1.96 + 4.41) / 2, m.TestOnBatch(X, Y)["loss"], 5);
    }

    [Fact]
    public void ClassWeight_OnIntegerLabels()
    {
        // Labels 0 and 1 (as the regression target too): errors 3 and 6, squared 9 and 36.
        // class weights {0: 2, 1: 0.25}: (2 * 9 + 0.25 * 36) / 2 = 13.5 (unweighted: 22.5).
        var cw = new Dictionary<int, double> { [0] = 2.0, [1] = 0.25 };
        using var a = Model();
        Assert.Equal(13.5, a.TrainOnBatch(X, new float[,] { { 0 }, { 1 } }, classWeight: cw)["loss"], 5);
        using var b = Model();
        Assert.Equal(13.5, b.TrainOnBatch(X, new[] { 0, 1 }, classWeight: cw)["loss"], 5);
        using var c = Model();
        var h = c.Fit(X, new[] { 0, 1 }, batchSize: 2, epochs: 1, verbose: 0, classWeight: cw);
        Assert.Equal(13.5, h["loss"][0], 5);
        // Classes without an entry count 1 when a higher class has one: {1: 0.25} gives (9 + 0.25 * 36) / 2.
        using var d = Model();
        Assert.Equal(9.0, d.TrainOnBatch(X, new[] { 0, 1 }, classWeight: new Dictionary<int, double> { [1] = 0.25 })["loss"], 5);
    }

    [Fact]
    public void ClassWeight_OnOneHotLabels_UsesTheArgmaxClass()
    {
        // Dense(2) with kernel 1: both outputs 3 (row 0) and 7 (row 1). One-hot y: row 0 class 0, row 1 class 1.
        // mse row 0: ((3-1)^2 + (3-0)^2) / 2 = 6.5; row 1: ((7-0)^2 + (7-1)^2) / 2 = 42.5.
        // {0: 2, 1: 0.5}: (2 * 6.5 + 0.5 * 42.5) / 2 = 17.125.
        using var m = Model(units: 2);
        var y = new float[,] { { 1, 0 }, { 0, 1 } };
        Assert.Equal((6.5 + 42.5) / 2, m.TestOnBatch(X, y)["loss"], 5);
        Assert.Equal(17.125, m.TrainOnBatch(X, y, classWeight: new Dictionary<int, double> { [0] = 2, [1] = 0.5 })["loss"], 5);
    }

    [Fact]
    public void ClassWeight_RoundsNonIntegerLabelsToTheNearestClass()
    {
        // Keras: y = np.round(y).astype("int32"), so 0.99 is class 1. Errors 3 and 7 - 0.99 = 6.01.
        using var m = Model();
        var loss = m.TrainOnBatch(X, new float[,] { { 0 }, { 0.99f } }, classWeight: new Dictionary<int, double> { [0] = 2, [1] = 0.25 })["loss"];
        Assert.Equal((2 * 9 + 0.25 * 6.01 * 6.01) / 2, loss, 4);
    }

    [Fact]
    public void ClassWeightAndSampleWeightTogether_Throw()
    {
        // Keras: "You cannot `class_weight` and `sample_weight` at the same time."
        var cw = new Dictionary<int, double> { [0] = 2, [1] = 0.5 };
        using var m = Model();
        Assert.Throws<ArgumentException>(() => m.TrainOnBatch(X, new[] { 0, 1 }, sampleWeight: new float[] { 1, 1 }, classWeight: cw));
        Assert.Throws<ArgumentException>(() => m.Fit(X, new[] { 0, 1 }, verbose: 0, sampleWeight: new float[] { 1, 1 }, classWeight: cw));
        var ds = OnnxKeras.Data.Dataset.FromTensorSlices(X, new[] { 0, 1 }, new float[] { 1, 1 }).Batch(2);
        Assert.Throws<ArgumentException>(() => m.Fit(ds, verbose: 0, classWeight: cw));
        Assert.Equal(new float[] { 1, 1 }, m.GetWeights()[0].Data); // nothing was trained
    }

    [Fact]
    public void Fit_WithSampleWeights_LogsTheWeightedLoss()
    {
        using var m = Model();
        var h = m.Fit(X, Y, batchSize: 2, epochs: 1, verbose: 0, sampleWeight: new float[] { 1, 0.5f });
        Assert.Equal(2.75, h["loss"][0], 5);
    }

    [Fact]
    public void PredictOnBatch_HandComputed()
    {
        using var m = Model();
        var p = m.PredictOnBatch(X);
        Assert.Equal(new long[] { 2, 1 }, p.Shape);
        Assert.Equal(new float[] { 3, 7 }, p.Data);
    }

    [Fact]
    public void TrainAndTestOnBatch_BeforeCompile_Throw()
    {
        using var m = new Sequential(new InputLayer([2]), new Dense(1));
        Assert.Contains("Compile", Assert.Throws<InvalidOperationException>(() => m.TrainOnBatch(X, Y)).Message);
        Assert.Contains("Compile", Assert.Throws<InvalidOperationException>(() => m.TestOnBatch(X, Y)).Message);
        Assert.Equal(new long[] { 2, 1 }, m.PredictOnBatch(X).Shape); // Keras predicts without compiling
    }
}
