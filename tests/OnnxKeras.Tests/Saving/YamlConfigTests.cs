using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Saving;

public class YamlConfigTests
{
    [Fact]
    public void SequentialAndFunctionalConfigsSurviveYaml()
    {
        using var sequential = new Sequential(new InputLayer([8]), new Dense(4, activation: "relu", kernelRegularizer: Regularizers.L2(0.01)), new Dropout(0.25), new Dense(2, activation: "softmax"));
        var yaml = sequential.ToYaml();
        Assert.Contains("class_name: \"Sequential\"", yaml);
        using var fromYaml = Model.FromYaml(yaml);
        Assert.Equal(sequential.ToJson(), fromYaml.ToJson());

        var a = Keras.Input([3], name: "a");
        var b = Keras.Input([3], name: "b");
        var merged = new Concatenate().Apply([new Dense(2).Apply(a), b]);
        using var functional = new Model([a, b], [new Dense(1).Apply(merged)]);
        using var back = Model.FromYaml(functional.ToYaml());
        Assert.Equal(functional.ToJson(), back.ToJson());
        Assert.Equal(functional.CountParams(), back.CountParams());
    }

    [Fact]
    public void YamlTagsAnchorsAndGarbageAreRejected()
    {
        Assert.Contains("tags are not allowed", Assert.Throws<InvalidDataException>(() => Model.FromYaml("class_name: !!python/object:os.system Sequential\nconfig: {}")).Message);
        Assert.Contains("anchors are not allowed", Assert.Throws<InvalidDataException>(() => Model.FromYaml("class_name: &x Sequential\nconfig: *x")).Message);
        Assert.Throws<InvalidDataException>(() => Model.FromYaml("class_name: [unclosed"));
    }
}

public class ModelCheckpointSavingTests
{
    [Fact]
    public void KerasStyleCheckpointWritesWeightsFilesThatLoadBack()
    {
        var dir = Directory.CreateTempSubdirectory("onnxkeras-ckpt-");
        try
        {
            Keras.SetRandomSeed(3);
            using var model = new Sequential(new InputLayer([4]), new Dense(3, activation: "relu"), new Dense(1));
            model.Compile("sgd", loss: "mse");
            var (x, _) = TestData.RandomClassification(64, 4, 2, 1);
            var y = new float[64, 1];
            var pattern = Path.Combine(dir.FullName, "w-{epoch:02d}.weights.h5");
            model.Fit(x, y, epochs: 2, verbose: 0, callbacks: [new OnnxKeras.Callbacks.ModelCheckpoint(pattern, monitor: "loss", saveWeightsOnly: true)]);
            Assert.True(File.Exists(Path.Combine(dir.FullName, "w-01.weights.h5")));
            var last = Path.Combine(dir.FullName, "w-02.weights.h5");
            var expected = model.GetWeights();
            using var fresh = new Sequential(new InputLayer([4]), new Dense(3, activation: "relu"), new Dense(1));
            fresh.LoadWeights(last);
            var actual = fresh.GetWeights();
            for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Data, actual[i].Data);
            Assert.Throws<ArgumentException>(() => new OnnxKeras.Callbacks.ModelCheckpoint(Path.Combine(dir.FullName, "w.bin"), saveWeightsOnly: true));
            Assert.Throws<ArgumentException>(() => new OnnxKeras.Callbacks.ModelCheckpoint(Path.Combine(dir.FullName, "w.weights.h5")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
