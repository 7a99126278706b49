using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Tests.Export;
using OnnxKeras.Tests.Models;
using PureHDF;
using Xunit;
using Xunit.Abstractions;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>A subclassed model registered with the attribute, holding a built-in layer and a registered custom layer.</summary>
[RegisterSerializable("ScaledNet", "onnxkeras_tests")]
public sealed class ScaledNet : Model
{
    private readonly Dense hidden;
    private readonly MyLayer projection;
    private readonly Dense output;

    public ScaledNet(int units = 6, int classes = 3)
    {
        Units = units;
        Classes = classes;
        hidden = new Dense(units, activation: "relu");
        projection = new MyLayer(units);
        output = new Dense(classes, activation: "softmax");
    }

    public int Units { get; }

    public int Classes { get; }

    public override KTensor Call(KTensor inputs, bool training = false) => output.Apply(projection.Apply(hidden.Apply(inputs)));

    public override LayerConfig GetConfig() => base.GetConfig().With("units", Units).With("classes", Classes);
}

/// <summary>A subclassed model without the attribute: registered with <see cref="LayerRegistry.Register{T}(string?, string?)"/>.</summary>
public sealed class PlainNet : Model
{
    private readonly Dense dense;

    public PlainNet(int units) => dense = new Dense(Units = units);

    public int Units { get; }

    public override KTensor Call(KTensor inputs, bool training = false) => dense.Apply(inputs);

    public override LayerConfig GetConfig() => base.GetConfig().With("units", Units);
}

/// <summary>Registered, but its GetConfig lacks the constructor's argument, so a saved file could not rebuild it.</summary>
[RegisterSerializable("ForgetfulNet", "onnxkeras_tests")]
public sealed class ForgetfulNet(int units) : Model
{
    private readonly Dense dense = new(units);

    public override KTensor Call(KTensor inputs, bool training = false) => dense.Apply(inputs);
}

/// <summary>
/// The C# counterpart of the Python <c>NestedDenseModel</c> that wrote pre_pr22362_nested_container.keras: <c>num</c>
/// bias-free Dense(4) blocks named <c>d_0..</c> held in a nested container (a list of lists), then Dense(2) named
/// <c>dense</c>. Keras saved the blocks as <c>layers/dense..dense_2</c> and the output as <c>layers/dense_3</c>; the
/// Python class's activations are not in the file, so this one (like the fixture's description) uses none.
/// </summary>
[RegisterSerializable("NestedDenseModel", "legacy_nested_container")]
public sealed class NestedDenseModel : Model
{
    private readonly List<List<Dense>> blocks;
    private readonly Dense dense;

    public NestedDenseModel(int num = 3)
    {
        Num = num;
        blocks = Enumerable.Range(0, num).Select(i => new List<Dense> { new(4, useBias: false) { Name = $"d_{i}" } }).ToList();
        dense = new Dense(2) { Name = "dense" };
    }

    public int Num { get; }

    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var x = inputs;
        foreach (var block in blocks)
        {
            foreach (var layer in block) x = layer.Apply(x);
        }
        return dense.Apply(x);
    }

    public override LayerConfig GetConfig() => base.GetConfig().With("num", Num);
}

/// <summary>A custom layer whose two same-shaped sublayers' names sort in the opposite order of its weights.</summary>
[RegisterSerializable("GatedBlock", "onnxkeras_tests")]
public sealed class GatedBlock : Layer
{
    private readonly Dense value = new(3) { Name = "zz_value" };
    private readonly Dense gate = new(3, activation: "sigmoid") { Name = "aa_gate" };

    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Multiply(value.Apply(inputs), gate.Apply(inputs));
}

public class SubclassedSavingTests(ITestOutputHelper output)
{
    [Fact]
    public void SublayersOfACustomLayerKeepTheirWeightOrderInFiles()
    {
        using var dir = NewTempDir();
        using var model = new Sequential(new InputLayer([4]), new GatedBlock());
        var x = Random(24, 3, 4);
        var expected = model.Predict(x);
        Assert.Equal(["zz_value", "aa_gate"], model.Layers[0].Sublayers.Select(l => l.Name));
        model.Save(dir.File("gated.keras"));
        using var loaded = Model.LoadModel(dir.File("gated.keras"));
        Assert.Equal(0.0, MaxDiff(expected, loaded.Predict(x)));
        model.SaveWeights(dir.File("gated.weights.h5"));
        using var fresh = new Sequential(new InputLayer([4]), new GatedBlock());
        fresh.LoadWeights(dir.File("gated.weights.h5"));
        Assert.Equal(0.0, MaxDiff(expected, fresh.Predict(x)));
    }

    [Fact]
    public void RegisteredSubclassedModelRoundTripsThroughKerasFile()
    {
        Keras.SetRandomSeed(21);
        using var dir = NewTempDir();
        var path = dir.File("scaled.keras");
        using var model = new ScaledNet(units: 5, classes: 3) { Name = "scaled" };
        var (x, y) = TestData.RandomClassification(64, 4, 3, 5);
        model.Compile(optimizer: new Adam(0.01), loss: "categorical_crossentropy", metrics: ["accuracy"]);
        model.Fit(x, y, batchSize: 16, epochs: 2, verbose: 0);
        model.Save(path);

        // The config names the registered class as Keras 3 does, with the constructor's arguments and the build shape.
        using (var zip = ZipFile.OpenRead(path))
        using (var reader = new StreamReader(zip.GetEntry("config.json")!.Open()))
        {
            var config = JsonNode.Parse(reader.ReadToEnd())!.AsObject();
            Assert.Null(config["module"]);
            Assert.Equal("ScaledNet", (string?)config["class_name"]);
            Assert.Equal("onnxkeras_tests>ScaledNet", (string?)config["registered_name"]);
            Assert.Equal(5, (int)config["config"]!["units"]!);
            Assert.Equal(3, (int)config["config"]!["classes"]!);
            Assert.Equal("scaled", (string?)config["config"]!["name"]);
            Assert.Equal("[null,4]", config["build_config"]!["input_shape"]!.ToJsonString());
            Assert.Equal("adam", ((string?)config["compile_config"]!["optimizer"]!["class_name"])!.ToLowerInvariant());
        }

        using var loaded = Model.LoadModel(path);
        var rebuilt = Assert.IsType<ScaledNet>(loaded);
        Assert.Equal((5, 3, "scaled"), (rebuilt.Units, rebuilt.Classes, rebuilt.Name));
        Assert.Equal(model.CountParams(), loaded.CountParams());
        Assert.Equal(model.Weights.Select(w => w.ToArray()), loaded.Weights.Select(w => w.ToArray()));
        Assert.Equal(0.0, MaxDiff(model.Predict(x), loaded.Predict(x)));
        Assert.True(loaded.IsCompiled);
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void ModelRegisteredInCodeRoundTripsAndToJsonRebuildsIt()
    {
        LayerRegistry.Register<PlainNet>("PlainNet", "onnxkeras_tests");
        using var dir = NewTempDir();
        var path = dir.File("plain.keras");
        using var model = new PlainNet(3);
        var x = Random(22, 4, 7);
        var expected = model.Predict(x);
        model.Save(path);
        using var loaded = Model.LoadModel(path);
        Assert.Equal(3, Assert.IsType<PlainNet>(loaded).Units);
        Assert.Equal(0.0, MaxDiff(expected, loaded.Predict(x)));

        // to_json/from_json of a subclassed model: the class and its config, built from build_config, fresh weights.
        var json = model.ToJson();
        Assert.Contains("\"registered_name\":\"onnxkeras_tests>PlainNet\"", json);
        using var fresh = Model.FromJson(json);
        Assert.True(fresh.Built);
        Assert.Equal([[7L, 3L], [3L]], fresh.Weights.Select(w => w.Value.shape));
    }

    [Fact]
    public void UnregisteredOrUnrebuildableSubclassedModelsFailToSaveAndSayWhy()
    {
        using var dir = NewTempDir();
        using var unregistered = new MyModel(numClasses: 2);
        unregistered.Predict(new float[2, 3]);
        var e = Assert.Throws<NotSupportedException>(() => unregistered.Save(dir.File("mine.keras")));
        output.WriteLine(e.Message);
        Assert.Contains("MyModel", e.Message);
        Assert.Contains("[RegisterSerializable(\"MyModel\"", e.Message);
        Assert.Contains("LayerRegistry.Register<MyModel>", e.Message);

        using var forgetful = new ForgetfulNet(2);
        forgetful.Predict(new float[2, 3]);
        e = Assert.Throws<NotSupportedException>(() => forgetful.Save(dir.File("forgetful.keras")));
        output.WriteLine(e.Message);
        Assert.Contains("'units'", e.Message);
        Assert.Contains("GetConfig", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void UnregisteredClassInAFileNamesTheFileTheClassAndHowToRegister()
    {
        using var dir = NewTempDir();
        var path = dir.File("ghost.keras");
        using (var model = new ScaledNet())
        {
            model.Predict(new float[1, 4]);
            model.Save(path);
        }
        RewriteConfig(path, c =>
        {
            c["class_name"] = "GhostNet";
            c["registered_name"] = "ghosts>GhostNet";
        });
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadModel(path));
        output.WriteLine(e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("'GhostNet'", e.Message);
        Assert.Contains("[RegisterSerializable(\"GhostNet\", \"ghosts\")]", e.Message);
        Assert.Contains("LayerRegistry.Register<YourClass>(\"GhostNet\", \"ghosts\")", e.Message);
    }

    [Fact]
    public void LayersInNestedContainersAreTracked()
    {
        using var model = new NestedDenseModel(num: 2);
        model.Predict(new float[1, 4]);
        Assert.Equal(["d_0", "d_1", "dense"], model.Layers.Select(l => l.Name));
        Assert.Equal(2 * 16 + 8 + 2, model.CountParams());
    }

    [Fact]
    public void KerasNestedContainerFixtureLoadsIntoItsRegisteredClass()
    {
        var path = Fixture("pre_pr22362_nested_container.keras");
        // The raw arrays, read straight from the archive's HDF5 with PureHDF.
        var raw = new Dictionary<string, (ulong[] Shape, float[] Data)>();
        using (var zip = ZipFile.OpenRead(path))
        using (var ms = ReadEntry(zip, "model.weights.h5"))
        {
            using var h5 = H5File.Open(ms, leaveOpen: true);
            foreach (var (group, index) in new[] { ("dense", "0"), ("dense_1", "0"), ("dense_2", "0"), ("dense_3", "0"), ("dense_3", "1") })
            {
                var ds = h5.Group("layers").Group(group).Group("vars").Dataset(index);
                raw[$"{group}/{index}"] = (ds.Space.Dimensions, ds.Read<float[]>());
            }
        }

        using var model = Model.LoadModel(path);
        var nested = Assert.IsType<NestedDenseModel>(model);
        Assert.Equal(3, nested.Num);
        Assert.Equal("nested_dense_model", model.Name);
        Assert.Equal(58, model.CountParams());
        Assert.Equal(["d_0", "d_1", "d_2", "dense"], model.Layers.Select(l => l.Name));
        // Shapes agree with the HDF5 datasets (and the README: kernels (4,4) x3 without bias, then (4,2) and (2)).
        Assert.Equal(raw.Values.Select(r => r.Shape.Select(d => (long)d).ToArray()), model.Weights.Select(w => w.Value.shape));
        // The file's constant kernels: block i holds 0.1 * (i + 1), the output kernel 0.5 and its bias 0.
        Assert.All(raw["dense_1/0"].Data, v => Assert.Equal(0.2f, v));

        // Predict against the same computation written out from the raw arrays: x W0 W1 W2 W3 + b.
        var x = (float[,])Random(23, 5, 4);
        var y = model.Predict(x);
        Assert.Equal([5L, 2L], y.Shape);
        for (int s = 0; s < 5; s++)
        {
            double[] h = Enumerable.Range(0, 4).Select(j => (double)x[s, j]).ToArray();
            foreach (var key in new[] { "dense/0", "dense_1/0", "dense_2/0", "dense_3/0" })
            {
                var (shape, w) = raw[key];
                int n = (int)shape[1];
                h = Enumerable.Range(0, n).Select(j => Enumerable.Range(0, h.Length).Sum(i => h[i] * w[i * n + j])).ToArray();
            }
            for (int j = 0; j < 2; j++) Assert.Equal(h[j] + raw["dense_3/1"].Data[j], y[s, j], 1e-5);
        }

        // ONNX export of the loaded subclassed model, checked against ONNX Runtime.
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Verify = true });
        output.WriteLine(report.ToString());
        Assert.Equal(58, report.ParameterCount);
        OnnxTestHelpers.AssertParity(model, bytes, 3);

        // And our own .keras of it loads back identically.
        using var dir = NewTempDir();
        var again = dir.File("nested.keras");
        model.Save(again);
        using var reloaded = Model.LoadModel(again);
        Assert.Equal(0.0, MaxDiff(y, reloaded.Predict(x)));
    }

    /// <summary>Edits config.json inside a .keras zip in place.</summary>
    private static void RewriteConfig(string path, Action<JsonObject> edit)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.GetEntry("config.json")!;
        JsonObject config;
        using (var r = new StreamReader(entry.Open())) config = JsonNode.Parse(r.ReadToEnd())!.AsObject();
        edit(config);
        entry.Delete();
        using var w = zip.CreateEntry("config.json").Open();
        w.Write(Encoding.UTF8.GetBytes(config.ToJsonString()));
    }
}
