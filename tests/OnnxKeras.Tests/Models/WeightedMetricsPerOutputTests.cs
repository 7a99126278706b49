using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Models;

/// <summary>
/// Keras's <c>compile(weighted_metrics={"a": [...], "b": [...]})</c>: a weighted metric of output k uses output k's
/// sample weights (Keras 3's weighted mean: sum(w * e) / sum(w)); plain metrics ignore them.
/// </summary>
public class WeightedMetricsPerOutputTests
{
    // x = 1, 2, 3; output a = x (kernel 1), output b = 2x (kernel 2), no biases; targets 0, so the absolute errors are
    // a: 1, 2, 3 and b: 2, 4, 6. Sample weights: a 1, 0, 2; b 0.5, 0.5, 1.
    private static Model TwoOutputs()
    {
        var x = Keras.Input([1], name: "x");
        var a = new Dense(1, useBias: false, kernelInitializer: new Ones()) { Name = "a" }.Apply(x);
        var b = new Dense(1, useBias: false, kernelInitializer: new Constant(2)) { Name = "b" }.Apply(x);
        return new Model([x], [a, b]);
    }

    private static Dataset Data()
    {
        var x = tensor(new float[] { 1, 2, 3 }, [3, 1]);
        var y = zeros([3, 1]);
        return Dataset.FromTensorSlices(x, y, y.clone(), tensor(new float[] { 1, 0, 2 }), tensor(new float[] { 0.5f, 0.5f, 1 })).Batch(3);
    }

    private static void Check(Dictionary<string, double> logs)
    {
        Assert.Equal(7.0 / 3, logs["a_mae"], 6);    // (1*1 + 0*2 + 2*3) / (1 + 0 + 2)
        Assert.Equal(4.5, logs["b_mae"], 6);        // (0.5*2 + 0.5*4 + 1*6) / (0.5 + 0.5 + 1)
        Assert.Equal(56.0 / 3, logs["b_mse"], 5);   // unweighted: (4 + 16 + 36) / 3
    }

    [Fact]
    public void WeightedMetricsPerOutput_UseThatOutputsWeights()
    {
        using var model = TwoOutputs();
        model.Compile(new SGD(0.0), loss: "mae", outputMetrics: new() { ["b"] = ["mse"] },
            outputWeightedMetrics: new() { ["a"] = ["mae"], ["b"] = ["mae"] });
        Check(model.Evaluate(Data()));
    }

    [Fact]
    public void WeightedMetricsPerOutput_SurviveSaveAndLoad()
    {
        using var model = TwoOutputs();
        model.Compile(new SGD(0.0), loss: "mae", outputMetrics: new() { ["b"] = ["mse"] },
            outputWeightedMetrics: new() { ["a"] = ["mae"], ["b"] = ["mae"] });
        string path = Path.Combine(Path.GetTempPath(), $"weighted-{Guid.NewGuid():N}.keras");
        try
        {
            model.Save(path);
            using var loaded = Model.LoadModel(path);
            Assert.True(loaded.IsCompiled);
            Check(loaded.Evaluate(Data()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnknownOutputName_IsRefused()
    {
        using var model = TwoOutputs();
        var e = Assert.Throws<ArgumentException>(() => model.Compile("sgd", loss: "mae", outputWeightedMetrics: new() { ["c"] = ["mae"] }));
        Assert.Contains("outputWeightedMetrics", e.Message);
        Assert.Contains("'c'", e.Message);
    }
}
