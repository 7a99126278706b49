using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

public class ModelConfigTests
{
    /// <summary>Sequential models that together use every built-in layer type (merge layers are in the functional test).</summary>
    public static TheoryData<string> SequentialCases => ["image", "sequence", "embedding", "conv3d", "pool2d"];

    private static (Sequential Model, long[] InputShape) MakeSequential(string kind) => kind switch
    {
        "image" => (new Sequential(
            new InputLayer([8, 8, 3]),
            new Rescaling(0.5, 0.1),
            new Conv2D(4, 3, padding: "same", activation: "relu", kernelRegularizer: new L2Regularizer(0.001)),
            new BatchNormalization(momentum: 0.9),
            new ReLU(6.0),
            new DepthwiseConv2D(3, padding: "same"),
            new SeparableConv2D(4, 3, padding: "same"),
            new LeakyReLU(0.1),
            new MaxPooling2D(2),
            new ZeroPadding2D(1),
            new Cropping2D(1),
            new UpSampling2D(2),
            new AveragePooling2D(2),
            new Conv2DTranspose(3, 2, strides: 2),
            new SpatialDropout2D(0.2),
            new PReLU(),
            new ELU(0.5),
            new GaussianNoise(0.1),
            new Permute([3, 1, 2]),
            new GlobalMaxPooling2D(keepdims: true),
            new Flatten(),
            new Dense(6, activation: "tanh", kernelInitializer: new RandomNormal(0, 0.1) { Seed = 3 }),
            new Dropout(0.3),
            new Reshape([2, 3]),
            new LayerNormalization(),
            new Softmax(),
            new GlobalAveragePooling1D(),
            new Activation("sigmoid")), [2, 8, 8, 3]),
        "sequence" => (new Sequential(
            new InputLayer([6, 3]),
            new Conv1D(4, 2, padding: "same"),
            new MaxPooling1D(2),
            new AveragePooling1D(1),
            new SimpleRNN(4, returnSequences: true),
            new LSTM(4, returnSequences: true, goBackwards: true),
            new GRU(4, returnSequences: true),
            new Bidirectional(new LSTM(3), mergeMode: "sum"),
            new RepeatVector(2),
            new GlobalMaxPooling1D(),
            new Dense(2)), [2, 6, 3]),
        "embedding" => (new Sequential(new InputLayer([5]), new Embedding(10, 4), new GlobalAveragePooling1D(), new Dense(2)), [2, 5]),
        "conv3d" => (new Sequential(new InputLayer([4, 4, 4, 2]), new Conv3D(2, 2), new Flatten(), new Dense(2)), [2, 4, 4, 4, 2]),
        "pool2d" => (new Sequential(new InputLayer([4, 4, 2]), new GlobalAveragePooling2D(), new Dense(2)), [2, 4, 4, 2]),
        _ => throw new ArgumentException(kind),
    };

    private static Array Input(string kind, long[] shape) => kind == "embedding"
        ? new float[,] { { 1, 2, 3, 0, 9 }, { 4, 4, 5, 6, 7 } }
        : Random(11, shape);

    [Theory]
    [MemberData(nameof(SequentialCases))]
    public void SequentialConfigRoundTripsWithIdenticalConfigAndPredictions(string kind)
    {
        var (model, shape) = MakeSequential(kind);
        var json = model.ToJson();
        var copy = Model.FromJson(json);
        Assert.IsType<Sequential>(copy);
        Assert.Equal(json, copy.ToJson());
        Assert.Equal(model.Layers.Select(l => l.GetType()), copy.Layers.Select(l => l.GetType()));
        CopyWeights(model, copy);
        var x = Input(kind, shape);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), copy.Predict(x)));
    }

    [Fact]
    public void SequentialJsonHasKeras3Shape()
    {
        var model = new Sequential(new InputLayer([4]), new Dense(3, activation: "relu"));
        using var doc = System.Text.Json.JsonDocument.Parse(model.ToJson());
        var root = doc.RootElement;
        Assert.Equal("Sequential", root.GetProperty("class_name").GetString());
        var layers = root.GetProperty("config").GetProperty("layers");
        Assert.Equal("InputLayer", layers[0].GetProperty("class_name").GetString());
        Assert.Equal("[null,4]", layers[0].GetProperty("config").GetProperty("batch_shape").GetRawText());
        var dense = layers[1];
        Assert.Equal("keras.layers", dense.GetProperty("module").GetString());
        Assert.Equal(3, dense.GetProperty("config").GetProperty("units").GetInt32());
        Assert.Equal("GlorotUniform", dense.GetProperty("config").GetProperty("kernel_initializer").GetProperty("class_name").GetString());
        Assert.Equal("[null,4]", dense.GetProperty("build_config").GetProperty("input_shape").GetRawText());
    }

    private static Model MakeFunctional()
    {
        var a = Keras.Input([4], name: "a");
        var b = Keras.Input([4], name: "b");
        var shared = new Dense(4, activation: "relu");
        var ha = shared.Apply(a);
        var hb = shared.Apply(b); // a shared layer: two inbound nodes
        var merged = new Concatenate().Apply([
            new Add().Apply([ha, hb]),
            new Subtract().Apply([ha, hb]),
            new Multiply().Apply([ha, hb]),
            new Average().Apply([ha, hb]),
            new Maximum().Apply([ha, hb]),
            new Minimum().Apply([ha, hb]),
            new Dot(1).Apply([ha, hb]),
        ]);
        var out1 = new Dense(3, activation: "softmax").Apply(merged);
        var out2 = new Dense(1).Apply(ha);
        return new Model([a, b], [out1, out2], name: "two_heads");
    }

    [Fact]
    public void FunctionalConfigRoundTripsWithIdenticalConfigAndPredictions()
    {
        var model = MakeFunctional();
        var json = model.ToJson();
        var copy = Model.FromJson(json);
        Assert.Equal(json, copy.ToJson());
        Assert.Equal("two_heads", copy.Name);
        Assert.Equal(2, copy.NumInputs);
        Assert.Equal(2, copy.NumOutputs);
        CopyWeights(model, copy);
        var x = new Dictionary<string, Array> { ["a"] = Random(1, 3, 4), ["b"] = Random(2, 3, 4) };
        var y1 = model.Predict(x);
        var y2 = copy.Predict(x);
        Assert.Equal(y1.Keys.Order(), y2.Keys.Order());
        foreach (var k in y1.Keys) Assert.Equal(0.0, MaxDiff(y1[k], y2[k]));
    }

    [Fact]
    public void FunctionalJsonHasKeras3InboundNodes()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(MakeFunctional().ToJson());
        var config = doc.RootElement.GetProperty("config");
        Assert.Equal("Functional", doc.RootElement.GetProperty("class_name").GetString());
        Assert.Equal("[[\"a\",0,0],[\"b\",0,0]]", config.GetProperty("input_layers").GetRawText());
        var layers = config.GetProperty("layers").EnumerateArray().ToList();
        var shared = layers.First(l => l.GetProperty("class_name").GetString() == "Dense");
        var nodes = shared.GetProperty("inbound_nodes");
        Assert.Equal(2, nodes.GetArrayLength());
        var arg = nodes[1].GetProperty("args")[0];
        Assert.Equal("__keras_tensor__", arg.GetProperty("class_name").GetString());
        Assert.Equal("[\"b\",0,0]", arg.GetProperty("config").GetProperty("keras_history").GetRawText());
        var add = layers.First(l => l.GetProperty("class_name").GetString() == "Add");
        var history = add.GetProperty("inbound_nodes")[0].GetProperty("args")[0][1].GetProperty("config").GetProperty("keras_history");
        Assert.Equal(1, history[1].GetInt32()); // the shared layer's second call
    }

    [Fact]
    public void ReadsKeras2FunctionalForm()
    {
        const string json = """
        {"class_name": "Model", "config": {"name": "model_1",
          "layers": [
            {"name": "input_1", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "dtype": "float32", "sparse": false, "name": "input_1"}, "inbound_nodes": []},
            {"name": "dense_1", "class_name": "Dense", "config": {"name": "dense_1", "trainable": true, "units": 2, "activation": "relu", "use_bias": true,
              "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": null}},
              "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}},
              "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
             "inbound_nodes": [[["input_1", 0, 0, {}]]]},
            {"name": "add_1", "class_name": "Add", "config": {"name": "add_1", "trainable": true}, "inbound_nodes": [[["dense_1", 0, 0, {}], ["dense_1", 0, 0, {}]]]}
          ],
          "input_layers": [["input_1", 0, 0]], "output_layers": [["add_1", 0, 0]]}, "keras_version": "2.1.3", "backend": "tensorflow"}
        """;
        var model = Model.FromJson(json);
        Assert.Equal(["input_1", "dense_1", "add_1"], model.Layers.Select(l => l.Name));
        var dense = (Dense)model.GetLayer("dense_1");
        Assert.Equal(2, dense.Units);
        Assert.Equal([3L, 2L], dense.Weights[0].Value.shape);
        Assert.Equal([4L, 2L], model.Predict(Random(1, 4, 3)).Shape);
    }

    [Fact]
    public void ReadsKeras3FunctionalAsKerasWritesIt()
    {
        const string json = """
        {"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "functional", "trainable": true,
          "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_layer"}, "registered_name": null, "name": "input_layer", "inbound_nodes": []},
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true,
               "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
               "units": 3, "activation": "relu", "use_bias": true,
               "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
               "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
               "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": null},
               "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
             "registered_name": null, "build_config": {"input_shape": [null, 3]}, "name": "dense",
             "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]},
            {"module": "keras.layers", "class_name": "Add", "config": {"name": "add", "trainable": true, "dtype": "float32"}, "registered_name": null,
             "build_config": {"input_shape": [[null, 3], [null, 3]]}, "name": "add",
             "inbound_nodes": [{"args": [[{"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}},
                                          {"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32", "keras_history": ["dense", 0, 0]}}]], "kwargs": {}}]}
          ],
          "input_layers": [["input_layer", 0, 0]], "output_layers": [["add", 0, 0]]}, "registered_name": "Functional", "build_config": {"input_shape": null}}
        """;
        var model = Model.FromJson(json);
        Assert.Equal("functional", model.Name);
        var dense = (Dense)model.GetLayer("dense");
        Assert.Equal(0.01, Assert.IsType<L2Regularizer>(dense.KernelRegularizer).L2);
        var x = new float[,] { { 1, -2, 3 } };
        var h = dense.Apply(new KTensor(TorchSharp.torch.tensor(new float[] { 1, -2, 3 }, [1, 3])));
        var y = model.Predict(x);
        for (int j = 0; j < 3; j++) Assert.Equal(x[0, j] + h.Value[0, j].item<float>(), y[0, j], 5);
    }

    [Fact]
    public void ReadsKeras2SequentialListForm()
    {
        const string json = """
        {"class_name": "Sequential", "config": [
          {"class_name": "Dense", "config": {"name": "dense_1", "units": 4, "activation": "linear", "use_bias": true, "batch_input_shape": [null, 5]}},
          {"class_name": "Dropout", "config": {"name": "dropout_1", "rate": 0.5}}]}
        """;
        var model = Model.FromJson(json);
        Assert.IsType<Sequential>(model);
        Assert.Equal(24, model.CountParams());
    }

    [Fact]
    public void SubclassedModelsAndUnknownClassesAreRejectedClearly()
    {
        var e = Assert.Throws<ArgumentException>(() => Model.FromJson("""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "NoSuchLayer", "config": {}}]}}"""));
        Assert.Contains("NoSuchLayer", e.Message);
        // A subclassed model's class must be registered; the message says how.
        var unregistered = Assert.Throws<ArgumentException>(() => Model.FromJson("""{"class_name": "MyModel", "config": {}}"""));
        Assert.Contains("'MyModel'", unregistered.Message);
        Assert.Contains("[RegisterSerializable(\"MyModel\")]", unregistered.Message);
        Assert.Throws<ArgumentException>(() => Model.FromJson("not json"));
    }
}

public class ModelConfigEdgeTests
{
    [Fact]
    public void UnbuiltSequentialRoundTripsAndBuildsOnData()
    {
        var model = new Sequential(new Dense(3, activation: "relu"), new Dense(1));
        var json = model.ToJson();
        Assert.DoesNotContain("InputLayer", json);
        var copy = Model.FromJson(json);
        Assert.Equal(json, copy.ToJson());
        Assert.Equal([4L, 1L], copy.Predict(SavingTestHelpers.Random(1, 4, 5)).Shape);
    }

    [Fact]
    public void WeightsOnlyFileIsNotAModel()
    {
        using var dir = SavingTestHelpers.NewTempDir();
        var path = dir.File("w.weights.h5");
        new Sequential(new InputLayer([2]), new Dense(1)).SaveWeights(path);
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadModel(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("weights only", e.Message);
    }

    [Fact]
    public void SubclassedModelHasNoJsonButSavesWeights()
    {
        using var dir = SavingTestHelpers.NewTempDir();
        var model = new TwoDense();
        var x = SavingTestHelpers.Random(2, 3, 4);
        var y = model.Predict(x);
        Assert.Throws<NotSupportedException>(() => model.ToJson());
        model.SaveWeights(dir.File("sub.safetensors"));
        var other = new TwoDense();
        other.Predict(x);
        other.LoadWeights(dir.File("sub.safetensors"));
        Assert.Equal(0.0, SavingTestHelpers.MaxDiff(y, other.Predict(x)));
    }

    private sealed class TwoDense : Model
    {
        private readonly Dense first = new(5, activation: "relu");
        private readonly Dense second = new(2);

        public override KTensor Call(KTensor inputs, bool training = false) => second.Apply(first.Apply(inputs, training), training);
    }
}
