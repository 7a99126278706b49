using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Models;

public class MultiInputOutputTests
{
    /// <summary>Two inputs a [N,2], b [N,1]; outputs sum = Dense_s(concat(a, b)) and diff = Dense_d(a), all weights set by hand.</summary>
    private static Model TwoByTwo()
    {
        var a = Keras.Input([2], name: "a");
        var b = Keras.Input([1], name: "b");
        var sum = new Dense(1, kernelInitializer: new Ones()) { Name = "sum" }.Apply(new Concatenate().Apply([a, b]));
        var diff = new Dense(1, kernelInitializer: new Constant(2)) { Name = "diff" }.Apply(a);
        return new Model([a, b], [sum, diff]);
    }

    [Fact]
    public void LossesPerOutputWeightsAndNamedLogsAreComputedAsKeras()
    {
        using var model = TwoByTwo();
        Assert.Equal(new[] { "a", "b" }, model.InputNames);
        Assert.Equal(new[] { "sum", "diff" }, model.OutputNames);
        model.Compile(new SGD(0.0), outputLosses: new() { ["sum"] = "mse", ["diff"] = "mae" }, lossWeights: [1.0, 0.5],
            outputMetrics: new() { ["diff"] = ["mse"] });
        // a = (1, 2), b = 3: sum = 1+2+3 = 6, diff = 2*(1+2) = 6; targets sum 4 (mse 4), diff 9 (mae 3, mse 9).
        // a = (0, 1), b = 1: sum = 2, diff = 2; targets sum 2 (mse 0), diff 1 (mae 1, mse 1).
        var x = new Dictionary<string, Array> { ["a"] = new float[,] { { 1, 2 }, { 0, 1 } }, ["b"] = new float[,] { { 3 }, { 1 } } };
        var y = new Dictionary<string, Array> { ["sum"] = new float[,] { { 4 }, { 2 } }, ["diff"] = new float[,] { { 9 }, { 1 } } };
        var r = model.Evaluate(x, y, batchSize: 2);
        Assert.Equal(2.0, r["sum_loss"], 6);          // (4 + 0) / 2
        Assert.Equal(2.0, r["diff_loss"], 6);         // (3 + 1) / 2
        Assert.Equal(2.0 + 0.5 * 2.0, r["loss"], 6);  // weighted total
        Assert.Equal(5.0, r["diff_mse"], 6);          // (9 + 1) / 2

        var p = model.Predict(x);
        Assert.Equal(new float[] { 6, 2 }, p["sum"].Data);
        Assert.Equal(new float[] { 6, 2 }, p["diff"].Data);
    }

    [Fact]
    public void MultiOutputModelTrainsOnNamedArraysAndOnDatasets()
    {
        Keras.SetRandomSeed(21);
        var a = Keras.Input([4], name: "a");
        var b = Keras.Input([4], name: "b");
        var h = new Dense(16, activation: "relu").Apply(new Concatenate().Apply([a, b]));
        var cls = new Dense(3, activation: "softmax") { Name = "cls" }.Apply(h);
        var reg = new Dense(1) { Name = "reg" }.Apply(h);
        using var model = new Model([a, b], [cls, reg]);
        model.Compile(new Adam(0.01), losses: ["sparse_categorical_crossentropy", "mse"], outputMetrics: new() { ["cls"] = ["accuracy"] });

        var rng = new Random(4);
        int n = 256;
        var xa = new float[n, 4];
        var xb = new float[n, 4];
        var yc = new int[n];
        var yr = new float[n, 1];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 4; j++) { xa[i, j] = (float)rng.NextDouble(); xb[i, j] = (float)rng.NextDouble(); }
            yc[i] = xa[i, 0] > xb[i, 0] ? (xa[i, 1] > 0.5 ? 2 : 1) : 0;
            yr[i, 0] = xa[i, 2] + xb[i, 3];
        }
        var h1 = model.Fit(new Dictionary<string, Array> { ["a"] = xa, ["b"] = xb }, new Dictionary<string, Array> { ["cls"] = yc, ["reg"] = yr }, batchSize: 32, epochs: 15, verbose: 0);
        Assert.True(h1["loss"][^1] < h1["loss"][0] * 0.7, $"loss {h1["loss"][0]} -> {h1["loss"][^1]}");
        Assert.Contains("cls_accuracy", h1.HistoryData.Keys);
        Assert.Contains("reg_loss", h1.HistoryData.Keys);

        // The same data as a dataset: elements are (a, b, cls, reg).
        var ds = Dataset.FromTensorSlices(tensor(Flat(xa), [n, 4]), tensor(Flat(xb), [n, 4]), tensor(yc.Select(v => (long)v).ToArray()), tensor(Flat(yr), [n, 1])).Batch(64);
        var h2 = model.Fit(ds, epochs: 1, verbose: 0);
        Assert.True(double.IsFinite(h2["loss"][0]));
    }

    private static float[] Flat(float[,] a)
    {
        var r = new float[a.Length];
        Buffer.BlockCopy(a, 0, r, 0, r.Length * sizeof(float));
        return r;
    }

    [Fact]
    public void BadMultiOutputCompileAndDataAreClearErrors()
    {
        using var model = TwoByTwo();
        Assert.Contains("2 output", Assert.Throws<ArgumentException>(() => model.Compile("sgd", losses: ["mse"])).Message);
        Assert.Contains("outputMetrics", Assert.Throws<ArgumentException>(() => model.Compile("sgd", loss: "mse", metrics: ["mae"])).Message);
        Assert.Contains("unknown output", Assert.Throws<ArgumentException>(() => model.Compile("sgd", outputLosses: new() { ["nope"] = "mse" })).Message);
        model.Compile("sgd", loss: "mse");
        var x = new Dictionary<string, Array> { ["a"] = new float[2, 2] };
        var y = new Dictionary<string, Array> { ["sum"] = new float[2, 1], ["diff"] = new float[2, 1] };
        Assert.Contains("Missing data for input(s) b", Assert.Throws<ArgumentException>(() => model.Fit(x, y, verbose: 0)).Message);
    }
}
