using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using PureHDF;
using Xunit;
using static OnnxKeras.Tests.Saving.LegacyH5TestHelpers;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// <c>SaveWeights("model.h5")</c> (any <c>.h5</c>/<c>.hdf5</c> but <c>.weights.h5</c>) writes Keras 2's weights file, as
/// TensorFlow 2's <c>model.save_weights('./model.h5')</c> does (<c>save_weights_to_hdf5_group(f, model.layers)</c>): root
/// attributes <c>layer_names</c>, <c>backend</c>, <c>keras_version</c>; per layer a group with <c>weight_names</c> and a
/// dataset at each name's path. <c>LoadWeights</c> reads it back, and reads a whole-model file's <c>model_weights</c>.
/// </summary>
public class LegacyWeightsH5Tests
{
    [Theory]
    [InlineData("model.h5")]
    [InlineData("model.hdf5")]
    [InlineData("MODEL.H5")]
    public void FileHasKerasTwoWeightsLayout(string fileName)
    {
        using var dir = NewTempDir();
        var path = dir.File(fileName);
        using var model = TrainedCnn(41);
        model.SaveWeights(path);
        Assert.Single(Directory.GetFiles(dir.Path)); // written through a temporary file and a rename, none left behind
        using var h5 = H5File.OpenRead(path);

        // Root: the three attributes of save_weights_to_hdf5_group, and nothing of the whole-model or Keras 3 layouts.
        Assert.Equal(["backend", "keras_version", "layer_names"], h5.Attributes().Select(a => a.Name).Order());
        Assert.Equal("torch", h5.Attribute("backend").Read<string>());
        Assert.StartsWith("3.", h5.Attribute("keras_version").Read<string>());
        Assert.False(h5.LinkExists("model_weights"));
        Assert.False(h5.LinkExists("layers"));
        // layer_names: every layer of model.layers (Sequential: without the InputLayer), weights or not, in model order.
        var (conv, bn, flatten, dense) = (model.Layers[0], model.Layers[1], model.Layers[2], model.Layers[3]);
        Assert.Equal([conv.Name, bn.Name, flatten.Name, dense.Name], h5.Attribute("layer_names").Read<string[]>());
        Assert.Equal(4, h5.Children().Count());

        var convGroup = h5.Group(conv.Name);
        Assert.Equal([$"{conv.Name}/kernel:0", $"{conv.Name}/bias:0"], convGroup.Attribute("weight_names").Read<string[]>());
        var kernel = convGroup.Group(conv.Name).Dataset("kernel:0");
        Assert.Equal([3UL, 3UL, 2UL, 3UL], kernel.Space.Dimensions); // Keras's (kh, kw, in, out)
        Assert.Equal((H5DataTypeClass.FloatingPoint, 4), (kernel.Type.Class, (int)kernel.Type.Size));
        Assert.Equal(conv.Weights[0].ToArray(), kernel.Read<float[]>());
        var convBias = convGroup.Group(conv.Name).Dataset("bias:0");
        Assert.Equal([3UL], convBias.Space.Dimensions);
        Assert.Equal(conv.Weights[1].ToArray(), convBias.Read<float[]>());

        // BatchNormalization: gamma, beta, then the moving statistics (Keras 2's order), each of shape (channels,).
        var bnGroup = h5.Group(bn.Name);
        string[] bnWeights = ["gamma", "beta", "moving_mean", "moving_variance"];
        Assert.Equal(bnWeights.Select(n => $"{bn.Name}/{n}:0"), bnGroup.Attribute("weight_names").Read<string[]>());
        for (int i = 0; i < 4; i++)
        {
            var ds = bnGroup.Group(bn.Name).Dataset($"{bnWeights[i]}:0");
            Assert.Equal([3UL], ds.Space.Dimensions);
            Assert.Equal(bn.Weights[i].ToArray(), ds.Read<float[]>());
        }
        Assert.NotEqual(new float[3], bn.Weights[2].ToArray()); // the moving mean moved: the check above compares real values

        // A layer without weights: an empty float64 weight_names array, as Keras writes np.array([]).
        var empty = h5.Group(flatten.Name).Attribute("weight_names");
        Assert.Equal((H5DataTypeClass.FloatingPoint, 8), (empty.Type.Class, (int)empty.Type.Size));
        Assert.Equal([0UL], empty.Space.Dimensions);
        Assert.Empty(h5.Group(flatten.Name).Children());

        var denseGroup = h5.Group(dense.Name);
        Assert.Equal([$"{dense.Name}/kernel:0", $"{dense.Name}/bias:0"], denseGroup.Attribute("weight_names").Read<string[]>());
        Assert.Equal([48UL, 2UL], denseGroup.Group(dense.Name).Dataset("kernel:0").Space.Dimensions); // after a 4x4x3 feature map
        Assert.Equal(dense.Weights[0].ToArray(), denseGroup.Group(dense.Name).Dataset("kernel:0").Read<float[]>());
        Assert.Equal(dense.Weights[1].ToArray(), denseGroup.Group(dense.Name).Dataset("bias:0").Read<float[]>());
    }

    [Fact]
    public void LoadWeightsRestoresPredictionsAndRefusesAnotherArchitecture()
    {
        using var dir = NewTempDir();
        var path = dir.File("model.h5");
        using var model = TrainedCnn(41);
        model.SaveWeights(path);

        using var fresh = Cnn(); // other layer names (conv2d_1, ...): matched by position
        var x = Random(43, 5, 6, 6, 2);
        Assert.NotEqual(0.0, MaxDiff(model.Predict(x), fresh.Predict(x)));
        Assert.Empty(fresh.LoadWeights(path));
        Assert.Equal(0.0, MaxDiff(model.Predict(x), fresh.Predict(x)));
        Assert.Equal(model.Weights.Select(w => w.ToArray()), fresh.Weights.Select(w => w.ToArray()));

        // Another Dense width: InvalidDataException naming the layer and both shapes, and no weight changes.
        using var other = new Sequential(new InputLayer([6, 6, 2]), new Conv2D(3, 3, activation: "relu"), new BatchNormalization(), new Flatten(), new Dense(5));
        var before = other.Weights.Select(w => w.ToArray()).ToList();
        var e = Assert.Throws<InvalidDataException>(() => other.LoadWeights(path));
        Assert.Contains(other.Layers[3].Name, e.Message);
        Assert.Contains("(48, 2)", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(before, other.Weights.Select(w => w.ToArray()));
    }

    [Fact]
    public void FunctionalModelListsItsInputLayerAndRoundTrips()
    {
        using var dir = NewTempDir();
        Keras.SetRandomSeed(44);
        var input = Keras.Input([5], name: "features");
        var h = new Dense(4, activation: "tanh") { Name = "hidden" }.Apply(input);
        using var model = new Model(input, new Dense(2) { Name = "out" }.Apply(h));
        var path = dir.File("functional.h5");
        model.SaveWeights(path);
        using (var h5 = H5File.OpenRead(path))
        {
            // Keras's model.layers of a functional model includes its InputLayer, which has no weights.
            Assert.Equal(["features", "hidden", "out"], h5.Attribute("layer_names").Read<string[]>());
            Assert.Equal(H5DataTypeClass.FloatingPoint, h5.Group("features").Attribute("weight_names").Type.Class);
            Assert.Equal(["out/kernel:0", "out/bias:0"], h5.Group("out").Attribute("weight_names").Read<string[]>());
        }
        var input2 = Keras.Input([5], name: "features");
        using var again = new Model(input2, new Dense(2) { Name = "out" }.Apply(new Dense(4, activation: "tanh") { Name = "hidden" }.Apply(input2)));
        again.LoadWeights(path);
        var x = Random(45, 3, 5);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), again.Predict(x)));
    }

    [Fact]
    public void LayerNamedLikeAKerasGroupStillReadsAsKerasTwo()
    {
        // A Keras 2 weights file is told by its root layer_names, not by a group named "layers" or "model_weights".
        using var dir = NewTempDir();
        var path = dir.File("w.h5");
        using var model = new Sequential(new InputLayer([3]), new Dense(4) { Name = "layers" }, new Dense(2) { Name = "model_weights" });
        model.SaveWeights(path);
        using var fresh = new Sequential(new InputLayer([3]), new Dense(4), new Dense(2));
        fresh.LoadWeights(path);
        Assert.Equal(model.Weights.Select(w => w.ToArray()), fresh.Weights.Select(w => w.ToArray()));
    }

    [Fact]
    public void KerasArchiveIsRefused()
    {
        using var dir = NewTempDir();
        var e = Assert.Throws<ArgumentException>(() => Cnn().SaveWeights(dir.File("m.keras")));
        Assert.Contains("Save(path)", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void ExtensionlessPathStillWritesSafetensors()
    {
        using var dir = NewTempDir();
        var path = Path.Combine(dir.Path, "weights", "model");
        using var model = Cnn();
        model.SaveWeights(path);
        var bytes = File.ReadAllBytes(path);
        Assert.NotEqual(0x89, bytes[0]); // not HDF5: an 8-byte header length, then the JSON header
        Assert.Equal((byte)'{', bytes[8]);
    }

    [Fact]
    public void KerasTwoFixtureWeightsLoadIntoItsRebuiltModelAndSaveAsKerasWrote()
    {
        var fixture = Fixture("dl4j_cnn_batch_norm.h5");
        string config;
        using (var h5 = H5File.OpenRead(fixture)) config = h5.Attribute("model_config").Read<string>();

        // LoadWeights reads a whole-model file's model_weights, as Keras 2's load_weights does.
        using var rebuilt = Model.FromJson(config);
        rebuilt.LoadWeights(fixture);
        var (xData, xShape) = ReadNpy(Fixture("dl4j_cnn_batch_norm_input.npy"));
        var (yData, _) = ReadNpy(Fixture("dl4j_cnn_batch_norm_predictions.npy"));
        var y = rebuilt.Predict(ToArray(xData, xShape));
        for (int i = 0; i < yData.Length; i++) Assert.True(Math.Abs(yData[i] - y.Data[i]) <= 1e-5, $"sample {i}: Keras {yData[i]}, ours {y.Data[i]}");

        // Our weights file holds what Keras's model_weights group holds: the same layer_names, weight_names, dataset
        // paths, shapes and values, and the same kinds of attributes.
        using var dir = NewTempDir();
        var ours = dir.File("weights.h5");
        rebuilt.SaveWeights(ours);
        using (var keras = H5File.OpenRead(fixture))
        using (var mine = H5File.OpenRead(ours))
        {
            var kerasWeights = keras.Group("model_weights");
            Assert.Equal(Kinds(kerasWeights), Kinds(mine));
            var layerNames = kerasWeights.Attribute("layer_names").Read<string[]>();
            Assert.Equal(layerNames, mine.Attribute("layer_names").Read<string[]>());
            foreach (var name in layerNames)
            {
                Assert.Equal(Kinds(kerasWeights.Group(name)), Kinds(mine.Group(name)));
                if (kerasWeights.Group(name).Attribute("weight_names").Type.Class == H5DataTypeClass.FloatingPoint) continue;
                Assert.Equal(kerasWeights.Group(name).Attribute("weight_names").Read<string[]>(), mine.Group(name).Attribute("weight_names").Read<string[]>());
            }
            Assert.Equal(DatasetValues(kerasWeights), DatasetValues(mine));
            Assert.Contains("batch_normalization_1/batch_normalization_1/moving_variance:0 1", DatasetValues(mine).Keys);
        }

        using var again = Model.FromJson(config);
        again.LoadWeights(ours);
        var x = Random(46, 3, 10, 10, 3);
        Assert.Equal(0.0, MaxDiff(rebuilt.Predict(x), again.Predict(x)));
    }

    [Fact]
    public void FunctionalFixtureWeightsLoadFromTheWholeModelFile()
    {
        var fixture = Fixture("fer2013_mini_XCEPTION.102-0.66.hdf5");
        string config;
        using (var h5 = H5File.OpenRead(fixture)) config = h5.Attribute("model_config").Read<string>();
        using var loaded = Model.LoadModel(fixture);
        using var rebuilt = Model.FromJson(config);
        var x = Random(47, 2, 64, 64, 1);
        Assert.NotEqual(0.0, MaxDiff(loaded.Predict(x), rebuilt.Predict(x)));
        Assert.Empty(rebuilt.LoadWeights(fixture));
        Assert.Equal(0.0, MaxDiff(loaded.Predict(x), rebuilt.Predict(x)));

        // And through our own Keras 2 weights file.
        using var dir = NewTempDir();
        rebuilt.SaveWeights(dir.File("fer.hdf5"));
        using var again = Model.FromJson(config);
        again.LoadWeights(dir.File("fer.hdf5"));
        Assert.Equal(0.0, MaxDiff(loaded.Predict(x), again.Predict(x)));
    }
}
