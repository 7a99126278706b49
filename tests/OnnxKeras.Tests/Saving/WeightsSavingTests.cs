using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

public class WeightsSavingTests
{
    private static Sequential Mlp(int hidden = 8) => new(new InputLayer([4]), new Dense(hidden, activation: "relu"), new BatchNormalization(), new Dense(3, activation: "softmax"));

    [Theory]
    [InlineData("w.safetensors")]
    [InlineData("w.weights.h5")]
    [InlineData("weights")]
    public void RoundTripRestoresPredictions(string fileName)
    {
        using var dir = NewTempDir();
        var a = Mlp();
        var b = Mlp(); // other layer names (dense_2, ...): matched by order
        var x = Random(1, 6, 4);
        a.SaveWeights(dir.File(fileName));
        Assert.NotEqual(0.0, MaxDiff(a.Predict(x), b.Predict(x)));
        Assert.Empty(b.LoadWeights(dir.File(fileName)));
        Assert.Equal(0.0, MaxDiff(a.Predict(x), b.Predict(x)));
        Assert.Single(Directory.GetFiles(dir.Path)); // no temporary file left behind
    }

    [Fact]
    public void SafetensorsLayoutIsStandard()
    {
        using var dir = NewTempDir();
        var m = Mlp();
        var path = dir.File("w.safetensors");
        m.SaveWeights(path);
        var bytes = File.ReadAllBytes(path);
        long headerLen = BitConverter.ToInt64(bytes, 0);
        using var doc = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen));
        var dense = m.Layers[0];
        var kernel = doc.RootElement.GetProperty($"{dense.Name}/kernel");
        Assert.Equal("F32", kernel.GetProperty("dtype").GetString());
        Assert.Equal([4L, 8L], kernel.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        var offs = kernel.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.Equal(4 * 8 * 4, offs[1] - offs[0]);
        var first = BitConverter.ToSingle(bytes, 8 + (int)headerLen + (int)offs[0]);
        Assert.Equal(dense.Weights[0].ToArray()[0], first);
        Assert.True(doc.RootElement.TryGetProperty("__metadata__", out _));
        Assert.Equal(m.Weights.Count, doc.RootElement.EnumerateObject().Count() - 1);
    }

    [Fact]
    public void MismatchNamesLayerAndShapesAndChangesNothing()
    {
        using var dir = NewTempDir();
        var path = dir.File("w.safetensors");
        new Sequential(new InputLayer([4]), new Dense(8), new Dense(5)).SaveWeights(path);
        var target = new Sequential(new InputLayer([4]), new Dense(8), new Dense(3));
        var before = target.Weights.Select(w => w.ToArray()).ToList();
        var e = Assert.Throws<InvalidDataException>(() => target.LoadWeights(path));
        Assert.Contains(target.Layers[1].Name, e.Message);
        Assert.Contains("(8, 3)", e.Message);
        Assert.Contains("(8, 5)", e.Message);
        Assert.Equal(before, target.Weights.Select(w => w.ToArray()).ToList()); // first layer untouched too
    }

    [Fact]
    public void SkipMismatchLoadsTheRestWithAWarning()
    {
        using var dir = NewTempDir();
        var path = dir.File("w.weights.h5");
        var source = new Sequential(new InputLayer([4]), new Dense(8), new Dense(5));
        source.SaveWeights(path);
        var target = new Sequential(new InputLayer([4]), new Dense(8), new Dense(3));
        var lastBefore = target.Layers[1].Weights[0].ToArray();
        var warnings = target.LoadWeights(path, skipMismatch: true);
        Assert.Single(warnings);
        Assert.Contains(target.Layers[1].Name, warnings[0]);
        Assert.Equal(source.Layers[0].Weights[0].ToArray(), target.Layers[0].Weights[0].ToArray());
        Assert.Equal(lastBefore, target.Layers[1].Weights[0].ToArray());
    }

    [Fact]
    public void ByNameLoadsOnlyMatchingLayers()
    {
        using var dir = NewTempDir();
        var path = dir.File("w.weights.h5");
        var source = new Sequential(new InputLayer([4]), new Dense(8) { Name = "shared_hidden" }, new Dense(5) { Name = "old_head" });
        source.SaveWeights(path);
        var target = new Sequential(new InputLayer([4]), new Dense(8) { Name = "shared_hidden" }, new Dense(2) { Name = "new_head" });
        var headBefore = target.Layers[1].Weights[0].ToArray();
        Assert.Throws<InvalidDataException>(() => target.LoadWeights(path)); // by order the head's shapes differ
        Assert.Empty(target.LoadWeights(path, byName: true));
        Assert.Equal(source.Layers[0].Weights[0].ToArray(), target.Layers[0].Weights[0].ToArray());
        Assert.Equal(headBefore, target.Layers[1].Weights[0].ToArray());
    }

    [Fact]
    public void LayerCountMismatchIsReported()
    {
        using var dir = NewTempDir();
        var path = dir.File("w.safetensors");
        new Sequential(new InputLayer([4]), new Dense(8), new Dense(5)).SaveWeights(path);
        var target = new Sequential(new InputLayer([4]), new Dense(8));
        var e = Assert.Throws<InvalidDataException>(() => target.LoadWeights(path));
        Assert.Contains("2 layer(s)", e.Message);
    }

    [Theory]
    [InlineData("w.safetensors")]
    [InlineData("w.weights.h5")]
    public void TruncatedFileIsRejectedNamingIt(string fileName)
    {
        using var dir = NewTempDir();
        var path = dir.File(fileName);
        var m = Mlp();
        m.SaveWeights(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var before = m.Weights.Select(w => w.ToArray()).ToList();
        var e = Assert.ThrowsAny<Exception>(() => m.LoadWeights(path));
        Assert.True(e is InvalidDataException, e.ToString());
        Assert.Contains(path, e.Message);
        Assert.Equal(before, m.Weights.Select(w => w.ToArray()).ToList());
    }

    [Fact]
    public void WrongFileTypeIsRejectedNamingIt()
    {
        using var dir = NewTempDir();
        var path = dir.File("notes.txt");
        File.WriteAllText(path, "this is not a weights file at all, just some text");
        var e = Assert.Throws<InvalidDataException>(() => Mlp().LoadWeights(path));
        Assert.Contains(path, e.Message);
        Assert.Throws<FileNotFoundException>(() => Mlp().LoadWeights(dir.File("missing.safetensors")));
    }

    [Fact]
    public void RecurrentAndBidirectionalWeightsRoundTripThroughH5()
    {
        using var dir = NewTempDir();
        var path = dir.File("rnn.weights.h5");
        Sequential Make() => new(new InputLayer([5, 3]), new Bidirectional(new LSTM(4, returnSequences: true)), new GRU(3), new Dense(2));
        var a = Make();
        var b = Make();
        var x = Random(2, 2, 5, 3);
        a.SaveWeights(path);
        b.LoadWeights(path);
        Assert.Equal(0.0, MaxDiff(a.Predict(x), b.Predict(x)));
    }

    [Fact]
    public void UnbuiltModelCannotLoad()
    {
        using var dir = NewTempDir();
        var path = dir.File("w.safetensors");
        Mlp().SaveWeights(path);
        var e = Assert.Throws<InvalidOperationException>(() => new Sequential(new Dense(8)).LoadWeights(path));
        Assert.Contains("not built", e.Message);
    }
}
