using System.IO.Compression;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using PureHDF;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

public class KerasArchiveTests
{
    private static Sequential Cnn() => new(new InputLayer([6, 6, 2]), new Conv2D(3, 3, activation: "relu"), new BatchNormalization(), new Flatten(), new Dense(2, activation: "softmax"));

    [Fact]
    public void SequentialSavesAndLoadsWithIdenticalPredictions()
    {
        using var dir = NewTempDir();
        var path = dir.File("model.keras");
        var model = Cnn();
        model.Save(path);
        var loaded = Model.LoadModel(path);
        Assert.IsType<Sequential>(loaded);
        Assert.Equal(model.ToJson(), loaded.ToJson());
        var x = Random(7, 3, 6, 6, 2);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), loaded.Predict(x)));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void FunctionalSavesAndLoads()
    {
        using var dir = NewTempDir();
        var path = dir.File("f.keras");
        var input = Keras.Input([5], name: "features");
        var h = new Dense(4, activation: "relu").Apply(input);
        var model = new Model(input, new Add().Apply([h, new Dense(4).Apply(h)]));
        model.Save(path);
        var loaded = Model.LoadModel(path);
        var x = Random(8, 2, 5);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), loaded.Predict(x)));
    }

    [Fact]
    public void ArchiveHasKeras3Layout()
    {
        using var dir = NewTempDir();
        var path = dir.File("model.keras");
        var model = Cnn();
        model.Save(path);
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(["config.json", "metadata.json", "model.weights.h5"], zip.Entries.Select(e => e.FullName).Order());
        using (var meta = System.Text.Json.JsonDocument.Parse(zip.GetEntry("metadata.json")!.Open()))
        {
            Assert.StartsWith("3.", meta.RootElement.GetProperty("keras_version").GetString());
            Assert.Matches(@"^\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d$", meta.RootElement.GetProperty("date_saved").GetString());
        }
        using var ms = ReadEntry(zip, "model.weights.h5");
        using var h5 = H5File.Open(ms, leaveOpen: true);
        // Groups are named as Keras names them (snake_case class name, counter per class), not by layer name.
        var conv = model.Layers[0];
        var convVars = h5.Group("layers").Group("conv2d").Group("vars");
        Assert.Equal(conv.Name, convVars.Attribute("name").Read<string>());
        var kernel = convVars.Dataset("0");
        Assert.Equal([3UL, 3UL, 2UL, 3UL], kernel.Space.Dimensions);
        Assert.Equal(conv.Weights[0].ToArray(), kernel.Read<float[]>());
        var bn = h5.Group("layers").Group("batch_normalization").Group("vars");
        Assert.Equal(4, bn.Children().Count()); // gamma, beta, moving_mean, moving_variance
    }

    [Fact]
    public void FailedSaveLeavesExistingFileUntouched()
    {
        using var dir = NewTempDir();
        var path = dir.File("model.keras");
        Cnn().Save(path);
        var before = File.ReadAllBytes(path);
        var unbuilt = new Sequential(new Dense(2));
        Assert.Throws<InvalidOperationException>(() => unbuilt.Save(path));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
        Assert.Throws<ArgumentException>(() => Cnn().Save(dir.File("model.weights.h5")));
        Assert.Throws<ArgumentException>(() => Cnn().Save(dir.File("model.onnx")));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void CorruptArchivesAreRejectedNamingTheFile()
    {
        using var dir = NewTempDir();
        var notZip = dir.File("a.keras");
        File.WriteAllText(notZip, "not a zip");
        Assert.Contains(notZip, Assert.Throws<InvalidDataException>(() => Model.LoadModel(notZip)).Message);

        var noWeights = dir.File("b.keras");
        using (var zip = ZipFile.Open(noWeights, ZipArchiveMode.Create))
        {
            using var w = new StreamWriter(zip.CreateEntry("config.json").Open());
            w.Write(Cnn().ToJson());
        }
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadModel(noWeights));
        Assert.Contains(noWeights, e.Message);
        Assert.Contains("model.weights.h5", e.Message);

        var truncated = dir.File("c.keras");
        Cnn().Save(truncated);
        var bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 200)]);
        Assert.Contains(truncated, Assert.Throws<InvalidDataException>(() => Model.LoadModel(truncated)).Message);
    }

    [Fact]
    public void WeightsOfAKerasFileLoadIntoAMatchingModel()
    {
        using var dir = NewTempDir();
        var path = dir.File("model.keras");
        var model = Cnn();
        model.Save(path);
        var other = Cnn();
        other.LoadWeights(path);
        var x = Random(9, 2, 6, 6, 2);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), other.Predict(x)));
    }
}

public class CompileConfigTests
{
    [Fact]
    public void CompileConfigRoundTrips()
    {
        using var dir = NewTempDir();
        var path = dir.File("compiled.keras");
        var model = new Sequential(new InputLayer([3]), new Dense(2, activation: "softmax"));
        model.Compile(new OnnxKeras.Optimizers.Adam(0.01, beta1: 0.8), "categorical_crossentropy", ["accuracy"]);
        model.Save(path);
        var loaded = Model.LoadModel(path);
        Assert.True(loaded.IsCompiled);
        var adam = Assert.IsType<OnnxKeras.Optimizers.Adam>(loaded.Optimizer);
        Assert.Equal(0.8, adam.Beta1);
        Assert.Equal(0.01, adam.LearningRate.At(0), 6);
        Assert.Equal(model.Loss.Name, loaded.Loss.Name);
        Assert.Equal(model.Metrics.Select(m => m.Name), loaded.Metrics.Select(m => m.Name));
        var (x, y) = TestData.RandomClassification(8, 3, 2, seed: 1);
        loaded.Fit(x, y, epochs: 1, verbose: 0);
    }

    /// <summary>config.json's compile_config in a saved .keras file.</summary>
    private static IDictionary<string, object?> SavedCompileConfig(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        using var reader = new StreamReader(zip.GetEntry("config.json")!.Open());
        var root = Assert.IsAssignableFrom<IDictionary<string, object?>>(OnnxKeras.Saving.ModelConfig.ParseJson(reader.ReadToEnd()));
        return Assert.IsAssignableFrom<IDictionary<string, object?>>(root["compile_config"]);
    }

    private static Model TwoHeads()
    {
        Keras.SetRandomSeed(31);
        var input = Keras.Input([4], name: "x");
        var h = new Dense(6, activation: "tanh").Apply(input);
        var cls = new Dense(3, activation: "softmax") { Name = "cls" }.Apply(h);
        var reg = new Dense(1) { Name = "reg" }.Apply(h);
        var model = new Model([input], [cls, reg]);
        model.Compile(new OnnxKeras.Optimizers.Adam(0.01),
            outputLosses: new() { ["cls"] = "sparse_categorical_crossentropy", ["reg"] = "mse" }, lossWeights: [1.0, 0.5],
            outputMetrics: new() { ["cls"] = ["accuracy"], ["reg"] = ["mae"] });
        return model;
    }

    [Fact]
    public void MultiOutputModelResumesTrainingFromItsKerasFile()
    {
        var rng = new Random(8);
        int n = 48;
        var x = new float[n, 4];
        var yc = new int[n];
        var yr = new float[n, 1];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 4; j++) x[i, j] = (float)rng.NextDouble();
            yc[i] = rng.Next(3);
            yr[i, 0] = x[i, 0] - x[i, 3];
        }
        var xs = new Dictionary<string, Array> { ["x"] = x };
        var ys = new Dictionary<string, Array> { ["cls"] = yc, ["reg"] = yr };
        using var dir = NewTempDir();
        var path = dir.File("two_heads.keras");

        using var straight = TwoHeads();
        straight.Fit(xs, ys, batchSize: 16, epochs: 3, shuffle: false, verbose: 0);

        using var first = TwoHeads();
        first.Fit(xs, ys, batchSize: 16, epochs: 2, shuffle: false, verbose: 0);
        first.Save(path);

        // Keras 3's form: the loss and metrics by output name, the loss weights in output order.
        var saved = SavedCompileConfig(path);
        var loss = Assert.IsAssignableFrom<IDictionary<string, object?>>(saved["loss"]);
        Assert.Equal("sparse_categorical_crossentropy", loss["cls"]);
        Assert.Equal("mean_squared_error", loss["reg"]); // "mse" resolves to the loss named mean_squared_error
        Assert.Equal(new object?[] { 1.0, 0.5 }, Assert.IsAssignableFrom<IEnumerable<object?>>(saved["loss_weights"]).Select(w => (object?)Convert.ToDouble(w)));
        var metrics = Assert.IsAssignableFrom<IDictionary<string, object?>>(saved["metrics"]);
        Assert.Equal(new object?[] { "accuracy" }, Assert.IsAssignableFrom<IEnumerable<object?>>(metrics["cls"]));
        Assert.Equal(new object?[] { "mae" }, Assert.IsAssignableFrom<IEnumerable<object?>>(metrics["reg"]));
        Assert.Null(saved["weighted_metrics"]);

        using var resumed = Model.LoadModel(path);
        Assert.True(resumed.IsCompiled);
        Assert.Equal(first.Optimizer.Iterations, resumed.Optimizer.Iterations);
        Assert.Equal(new[] { "sparse_categorical_crossentropy", "mean_squared_error" }, resumed.OutputLosses.Select(l => l.Name));
        var history = resumed.Fit(xs, ys, batchSize: 16, epochs: 1, shuffle: false, verbose: 0);
        Assert.Contains("cls_accuracy", history.HistoryData.Keys);
        Assert.Contains("reg_mae", history.HistoryData.Keys);

        // The same optimizer state, loss weights and losses: the weights equal three uninterrupted epochs'.
        var expected = straight.GetWeights();
        var actual = resumed.GetWeights();
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Data, actual[i].Data);
    }

    [Fact]
    public void KerasListFormsOfPerOutputLossesAndMetricsCompile()
    {
        // Keras's compile also takes per-output losses and metrics as lists in output order, and loss weights by name.
        using var model = TwoHeads();
        var config = (IDictionary<string, object?>)OnnxKeras.Saving.ModelConfig.ParseJson(
            """{"optimizer":"sgd","loss":["sparse_categorical_crossentropy","mse"],"loss_weights":{"reg":0.5},"metrics":["accuracy",["mae","mse"]],"weighted_metrics":null}""")!;
        Assert.Null(OnnxKeras.Saving.CompileConfig.Apply(model, config, "test"));
        Assert.Equal(new[] { "sparse_categorical_crossentropy", "mean_squared_error" }, model.OutputLosses.Select(l => l.Name));
        Assert.Equal([1.0, 0.5], model.Compiled!.LossWeights);
        Assert.Equal(new[] { (0, "accuracy", false), (1, "mae", false), (1, "mse", false) }, model.Compiled.RequestedMetrics);
        // A list that does not give one entry per output is not applied (LoadModel then returns the model uncompiled); a warning says why.
        using var other = TwoHeads();
        var bad = (IDictionary<string, object?>)OnnxKeras.Saving.ModelConfig.ParseJson("""{"optimizer":"sgd","loss":"mse","metrics":["mae"]}""")!;
        Assert.Contains("metrics has 1 entries for 2 outputs", OnnxKeras.Saving.CompileConfig.Apply(other, bad, "test"));
    }

    [Fact]
    public void WeightedMetricsStayWeightedAfterSaving()
    {
        using var dir = NewTempDir();
        var path = dir.File("weighted.keras");
        using var model = new Sequential(new InputLayer([1]), new Dense(1));
        model.SetWeights([new NDArray([1f], new long[] { 1, 1 }), new NDArray([0f], new long[] { 1 })]);
        model.Compile("sgd", "mse", metrics: ["mae"], weightedMetrics: ["mse"]);
        model.Save(path);
        var saved = SavedCompileConfig(path);
        Assert.Equal(new object?[] { "mae" }, Assert.IsAssignableFrom<IEnumerable<object?>>(saved["metrics"]));
        Assert.Equal(new object?[] { "mse" }, Assert.IsAssignableFrom<IEnumerable<object?>>(saved["weighted_metrics"]));

        using var loaded = Model.LoadModel(path);
        // Predictions 1 and 2 (kernel 1, bias 0) against targets 0, sample weights 1 and 3:
        // mae ignores the weights: (1 + 2) / 2 = 1.5; weighted mse: (1 * 1 + 3 * 4) / (1 + 3) = 3.25 (unweighted it would be 2.5).
        var logs = loaded.Evaluate(new float[,] { { 1 }, { 2 } }, new float[,] { { 0 }, { 0 } }, sampleWeight: new float[] { 1, 3 });
        Assert.Equal(1.5, logs["mae"], 6);
        Assert.Equal(3.25, logs["mse"], 6);
    }

    [Fact]
    public void FlownetCompileConfigIsApplied()
    {
        var dir = FixturesDir();
        var model = Model.LoadModel(Path.Combine(dir, "flownet_final_model.keras"));
        Assert.True(model.IsCompiled);
        Assert.IsType<OnnxKeras.Optimizers.Adam>(model.Optimizer);
    }
}
