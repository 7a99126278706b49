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
        using var ms = new MemoryStream();
        zip.GetEntry("model.weights.h5")!.Open().CopyTo(ms);
        ms.Position = 0;
        using var h5 = H5File.Open(ms, leaveOpen: true);
        var conv = model.Layers[0];
        var kernel = h5.Group("layers").Group(conv.Name).Group("vars").Dataset("0");
        Assert.Equal([3UL, 3UL, 2UL, 3UL], kernel.Space.Dimensions);
        Assert.Equal(conv.Weights[0].ToArray(), kernel.Read<float[]>());
        var bn = h5.Group("layers").Group(model.Layers[1].Name).Group("vars");
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

    [Fact]
    public void FlownetCompileConfigIsApplied()
    {
        if (FixturesDir() is not { } dir) return;
        var model = Model.LoadModel(Path.Combine(dir, "flownet_final_model.keras"));
        Assert.True(model.IsCompiled);
        Assert.IsType<OnnxKeras.Optimizers.Adam>(model.Optimizer);
    }
}
