using System.Text.Json.Nodes;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Tests.Models;
using PureHDF;
using Xunit;
using static OnnxKeras.Tests.Saving.LegacyH5TestHelpers;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// Writing the legacy whole-model HDF5 file (<c>model.Save("x.h5")</c>) in Keras 2's layout, as Keras's
/// <c>save_model_to_hdf5</c> and <c>save_weights_to_hdf5_group</c> write it: root attributes <c>model_config</c>,
/// <c>training_config</c>, <c>keras_version</c>, <c>backend</c>; group <c>model_weights</c> with <c>layer_names</c>,
/// <c>backend</c>, <c>keras_version</c>; per layer a group with <c>weight_names</c> and datasets at those names' paths.
/// </summary>
public class LegacyH5SavingTests
{
    [Fact]
    public void SequentialRoundTripsThroughLegacyH5()
    {
        using var dir = NewTempDir();
        var path = dir.File("cnn.h5");
        using var model = TrainedCnn(31, ["accuracy"]);
        Cnn().Save(path); // an older file at the same path is replaced whole
        model.Save(path);
        Assert.Single(Directory.GetFiles(dir.Path)); // written through a temporary file and a rename, none left behind

        using var loaded = Model.LoadModel(path);
        Assert.IsType<Sequential>(loaded);
        Assert.Equal(model.ToJson(), loaded.ToJson());
        Assert.Equal(model.Weights.Select(w => w.ToArray()), loaded.Weights.Select(w => w.ToArray()));
        var x = Random(33, 5, 6, 6, 2);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), loaded.Predict(x)));
        // training_config compiles it again: same optimizer, learning rate, loss and metrics.
        Assert.True(loaded.IsCompiled);
        Assert.IsType<Adam>(loaded.Optimizer);
        Assert.Equal(0.005, loaded.Optimizer.CurrentLearningRate, 1e-12);
        Assert.Equal(model.Loss.Name, loaded.Loss.Name);
        Assert.Equal(model.Metrics.Select(m => m.Name), loaded.Metrics.Select(m => m.Name));
    }

    [Fact]
    public void FileHasKerasTwoLayout()
    {
        using var dir = NewTempDir();
        var path = dir.File("cnn.hdf5");
        using var model = TrainedCnn(31, ["accuracy"]);
        model.Save(path);
        using var h5 = H5File.OpenRead(path);

        // Root: the four attributes of save_model_to_hdf5, scalar strings as h5py writes them.
        Assert.Equal(["backend", "keras_version", "model_config", "training_config"], h5.Attributes().Select(a => a.Name).Order());
        foreach (var a in h5.Attributes()) Assert.Empty(a.Space.Dimensions);
        var config = JsonNode.Parse(h5.Attribute("model_config").Read<string>())!;
        Assert.Equal("Sequential", (string?)config["class_name"]);
        Assert.Equal(model.ToJson(), Model.FromJson(config.ToJsonString()).ToJson());
        var training = JsonNode.Parse(h5.Attribute("training_config").Read<string>())!;
        Assert.Equal("categorical_crossentropy", (string?)training["loss"]);
        Assert.Equal("Adam", (string?)training["optimizer_config"]!["class_name"]);
        Assert.Equal(0.005, (double)training["optimizer_config"]!["config"]!["learning_rate"]!, 1e-12);
        Assert.Null(training["optimizer"]);
        Assert.StartsWith("3.", h5.Attribute("keras_version").Read<string>());
        Assert.Equal("torch", h5.Attribute("backend").Read<string>());

        // model_weights: layer_names lists every layer (Sequential: without the InputLayer), weights or not.
        var weights = h5.Group("model_weights");
        Assert.Equal(["backend", "keras_version", "layer_names"], weights.Attributes().Select(a => a.Name).Order());
        Assert.Equal(model.Layers.Select(l => l.Name), weights.Attribute("layer_names").Read<string[]>());
        var (conv, bn, flatten, dense) = (model.Layers[0], model.Layers[1], model.Layers[2], model.Layers[3]);

        // A layer's weights sit at model_weights/<layer>/<layer>/<weight>:0, listed in weight_names in weight order.
        var convGroup = weights.Group(conv.Name);
        Assert.Equal([$"{conv.Name}/kernel:0", $"{conv.Name}/bias:0"], convGroup.Attribute("weight_names").Read<string[]>());
        var kernel = convGroup.Group(conv.Name).Dataset("kernel:0");
        Assert.Equal([3UL, 3UL, 2UL, 3UL], kernel.Space.Dimensions); // Keras's (kh, kw, in, out)
        Assert.Equal(conv.Weights[0].ToArray(), kernel.Read<float[]>());
        Assert.Equal([3UL], convGroup.Group(conv.Name).Dataset("bias:0").Space.Dimensions);

        // BatchNormalization: trainable gamma, beta, then the moving statistics (Keras 2's _legacy_weights order).
        var bnGroup = weights.Group(bn.Name);
        Assert.Equal(new[] { "gamma", "beta", "moving_mean", "moving_variance" }.Select(n => $"{bn.Name}/{n}:0"), bnGroup.Attribute("weight_names").Read<string[]>());
        Assert.Equal(bn.Weights[2].ToArray(), bnGroup.Group(bn.Name).Dataset("moving_mean:0").Read<float[]>());
        Assert.NotEqual(new float[3], bn.Weights[2].ToArray());

        // A layer without weights: an empty float64 weight_names array, as Keras writes np.array([]).
        var empty = weights.Group(flatten.Name).Attribute("weight_names");
        Assert.Equal((H5DataTypeClass.FloatingPoint, 8), (empty.Type.Class, (int)empty.Type.Size));
        Assert.Equal([0UL], empty.Space.Dimensions);
        Assert.Empty(weights.Group(flatten.Name).Children());

        var denseGroup = weights.Group(dense.Name).Group(dense.Name); // after a 4x4x3 feature map
        Assert.Equal([48UL, 2UL], denseGroup.Dataset("kernel:0").Space.Dimensions);
        Assert.Equal(dense.Weights[1].ToArray(), denseGroup.Dataset("bias:0").Read<float[]>());
    }

    [Fact]
    public void SavedH5HasTheAttributesAndDatasetsOfKerasOwnFile()
    {
        var fixture = Fixture("dl4j_cnn_batch_norm.h5");
        using var dir = NewTempDir();
        var ours = dir.File("again.h5");
        using var model = Model.LoadModel(fixture);
        model.Save(ours);

        using var keras = H5File.OpenRead(fixture);
        using var mine = H5File.OpenRead(ours);
        // Same attribute names and kinds at the root, on model_weights and on every layer group.
        Assert.Equal(Kinds(keras), Kinds(mine));
        Assert.Equal(Kinds(keras.Group("model_weights")), Kinds(mine.Group("model_weights")));
        var layerNames = keras.Group("model_weights").Attribute("layer_names").Read<string[]>();
        Assert.Equal(layerNames, mine.Group("model_weights").Attribute("layer_names").Read<string[]>());
        foreach (var name in layerNames)
        {
            var (k, m) = (keras.Group("model_weights").Group(name), mine.Group("model_weights").Group(name));
            Assert.Equal(Kinds(k), Kinds(m));
            if (k.Attribute("weight_names").Type.Class == H5DataTypeClass.FloatingPoint) continue;
            Assert.Equal(k.Attribute("weight_names").Read<string[]>(), m.Attribute("weight_names").Read<string[]>());
        }
        // Same dataset paths, shapes and values.
        Assert.Equal(DatasetValues(keras.Group("model_weights")), DatasetValues(mine.Group("model_weights")));
        Assert.Contains("batch_normalization_1/batch_normalization_1/moving_variance:0 1", DatasetValues(mine.Group("model_weights")).Keys);

        using var reloaded = Model.LoadModel(ours);
        var x = Random(34, 3, 10, 10, 3);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), reloaded.Predict(x)));
    }

    [Fact]
    public void FunctionalWithCustomLayerAndSubclassedModelRoundTrip()
    {
        using var dir = NewTempDir();
        var input = Keras.Input([5], name: "features");
        var h = new Dense(4, activation: "tanh").Apply(input);
        var functional = new Model(input, new Add().Apply([new MyLayer(4).Apply(h), h]));
        var path = dir.File("functional.h5");
        functional.Save(path);
        using (var h5 = H5File.OpenRead(path))
        {
            // A functional model's layers include its InputLayer, as Keras's model.layers does.
            Assert.Equal(functional.Graph!.Layers.Select(l => l.Name), h5.Group("model_weights").Attribute("layer_names").Read<string[]>());
            Assert.Contains("features", h5.Group("model_weights").Attribute("layer_names").Read<string[]>());
            Assert.False(h5.AttributeExists("training_config")); // not compiled
        }
        var x = Random(35, 3, 5);
        using (var loaded = Model.LoadModel(path)) Assert.Equal(0.0, MaxDiff(functional.Predict(x), loaded.Predict(x)));

        using var subclassed = new ScaledNet(units: 4, classes: 2);
        var expected = subclassed.Predict(Random(36, 3, 4));
        subclassed.Save(dir.File("subclassed.h5"));
        using var back = Model.LoadModel(dir.File("subclassed.h5"));
        Assert.IsType<ScaledNet>(back);
        Assert.Equal(0.0, MaxDiff(expected, back.Predict(Random(36, 3, 4))));
    }

    [Fact]
    public void LargeFunctionalModelRoundTrips()
    {
        var fixture = Fixture("fer2013_mini_XCEPTION.102-0.66.hdf5");
        using var dir = NewTempDir();
        using var model = Model.LoadModel(fixture);
        Assert.True(model.IsCompiled); // from the file's training_config (Adam, categorical_crossentropy)
        Assert.Equal(1e-4, model.Optimizer.CurrentLearningRate, 1e-9); // Keras 2's "lr"
        var path = dir.File("fer.h5");
        model.Save(path);
        using var loaded = Model.LoadModel(path);
        Assert.Equal(58_423, loaded.CountParams());
        var x = Random(37, 2, 64, 64, 1);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), loaded.Predict(x)));
    }
}
