using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Saving;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>The README's custom layer, unregistered: a config names it by class name, so loading needs custom objects.</summary>
public sealed class QuickLayer(int outputDim) : Layer
{
    private Variable? kernel;

    public int OutputDim { get; } = outputDim;

    public override void Build(Shape inputShape) => kernel = AddWeight("kernel", Shape.Of(inputShape[^1]!.Value, OutputDim), "uniform");

    public override KTensor Call(KTensor inputs, bool training = false) => Ops.MatMul(inputs, kernel!);

    public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(OutputDim);

    public override LayerConfig GetConfig() => base.GetConfig().With("output_dim", OutputDim);
}

/// <summary>The README's subclassed model, registered as the README registers it (under another name: "my_package&gt;QuickModel").</summary>
[RegisterSerializable("QuickModel", "my_package")]
public sealed class QuickModel(int numClasses = 10) : Model
{
    private readonly Dense dense1 = new(8, activation: "relu"), dense2 = new(numClasses, activation: "sigmoid");

    public override KTensor Call(KTensor inputs, bool training = false) => dense2.Apply(dense1.Apply(inputs));

    public override LayerConfig GetConfig() => base.GetConfig().With("num_classes", numClasses);
}

/// <summary>A registered custom initializer (found by its registered name without custom objects).</summary>
[RegisterSerializable("ScaledOnes", "my_package")]
public sealed class ScaledOnes(double scale = 1.0) : Initializer
{
    public double Scale { get; } = scale;

    public override string Name => "scaled_ones";

    protected override TorchSharp.torch.Tensor Sample(long[] shape, TorchSharp.torch.Generator generator) => TorchSharp.torch.full(shape, Scale);

    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["scale"] = Scale };
}

/// <summary>An unregistered custom regularizer (loading needs it in custom objects).</summary>
public sealed class SumRegularizer(double weight = 0.1) : Regularizer
{
    public double Weight { get; } = weight;

    public override string Name => "sum_regularizer";

    public override KTensor Compute(KTensor x) => Ops.Multiply(Ops.Sum(x), Weight);

    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["weight"] = Weight };
}

/// <summary>A registered custom loss with an argument.</summary>
[RegisterSerializable("ScaledMse", "my_package")]
public sealed class ScaledMse(double factor = 2.0) : OnnxKeras.Losses.Loss
{
    public double Factor { get; } = factor;

    public override string Name => "scaled_mse";

    public override KTensor Call(KTensor yTrue, KTensor yPred) => (yPred.Value - yTrue.Value).square().mean([-1L]) * Factor;
}

/// <summary>A layer whose constructor fails, to see that the original exception and its stack trace survive loading.</summary>
public sealed class ThrowingLayer : Layer
{
    public ThrowingLayer(int units) => throw new InvalidOperationException($"ThrowingLayer refuses {units}");

    public override KTensor Call(KTensor inputs, bool training = false) => inputs;
}

/// <summary>Custom objects and registration for loading (Keras's custom_objects / register_keras_serializable), and the deserializer's errors.</summary>
public class CustomObjectsTests
{
    private static readonly ActivationFunction MyRelu = new("my_relu", x => Ops.Relu(x));

    /// <summary>The README quick-start's model, compiled as there, with its custom activation my_relu.</summary>
    private static Sequential QuickStart(ActivationFunction activation)
    {
        Keras.SetRandomSeed(42);
        var model = new Sequential(
            new InputLayer([12]),
            new Dense(8, activation: "relu", kernelRegularizer: Regularizers.L2(0.01)),
            new Dense(8, activation: activation, kernelInitializer: new Orthogonal(gain: 1.0)),
            new Dense(3, activation: "softmax"));
        model.Compile(optimizer: new Adam(0.001), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
        return model;
    }

    [Fact]
    public void TheQuickStartModelNeedsItsActivationAndLoadsWithCustomObjects()
    {
        using var model = QuickStart(MyRelu);
        var e = Assert.Throws<ArgumentException>(() => Model.FromJson(model.ToJson()));
        Assert.Contains("Unknown activation 'my_relu'", e.Message);
        Assert.Contains("customObjects", e.Message);
        Assert.Contains("KerasObjects.Register(new ActivationFunction(\"my_relu\"", e.Message);

        var custom = new CustomObjects { ["my_relu"] = MyRelu };
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(3, 4, 12)], custom);
        using var dir = NewTempDir();
        model.Save(dir.File("quick.keras"));
        using var loaded = Model.LoadModel(dir.File("quick.keras"), custom);
        Assert.True(loaded.IsCompiled);
        Assert.Same(MyRelu, ((Dense)loaded.Layers[1]).Activation);
        Assert.Equal(ConfigJson.Write(CompileConfig.Serialize(model)), ConfigJson.Write(CompileConfig.Serialize(loaded)));
    }

    [Fact]
    public void ADelegateGivenAsCustomObjectBecomesTheNamedActivation()
    {
        using var model = QuickStart(new ActivationFunction("my_tanh", Ops.Tanh));
        Func<KTensor, KTensor> tanh = Ops.Tanh;
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(4, 2, 12)], new CustomObjects { ["my_tanh"] = tanh });
        using var loaded = Model.FromJson(model.ToJson(), new CustomObjects { ["my_tanh"] = tanh });
        Assert.Equal("my_tanh", ((Dense)loaded.Layers[1]).Activation.Name);
    }

    [Fact]
    public void ARegisteredActivationLoadsWithoutCustomObjects()
    {
        var registered = new ActivationFunction("quick_registered_relu", x => Ops.Relu(x));
        KerasObjects.Register(registered, "my_package");
        KerasObjects.Register(registered, "my_package"); // registering the same object again is harmless
        Assert.Equal("my_package>quick_registered_relu", KerasObjects.RegisteredName(registered));
        using var model = QuickStart(registered);
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(5, 2, 12)]);
        // Keras 3's function form names it by registered name.
        var asKeras = KerasObjects.Deserialize<ActivationFunction>(new Dictionary<string, object?>
        {
            ["module"] = "builtins",
            ["class_name"] = "function",
            ["config"] = "quick_registered_relu",
            ["registered_name"] = "my_package>quick_registered_relu",
        });
        Assert.Same(registered, asKeras);
        var other = new ActivationFunction("quick_registered_relu", Ops.Tanh);
        Assert.Contains("already registered", Assert.Throws<ArgumentException>(() => KerasObjects.Register(other, "my_package")).Message);
        Assert.Contains("built-in", Assert.Throws<ArgumentException>(() => KerasObjects.Register(new ActivationFunction("relu", Ops.Tanh))).Message);
    }

    [Fact]
    public void TheReadmeCustomLayerAndSubclassedModelLoadThroughEveryFormat()
    {
        Keras.SetRandomSeed(8);
        var input = Keras.Input([6], name: "x");
        var hidden = new QuickLayer(4) { Name = "quick" }.Apply(input);
        using var functional = new Model(input, new Dense(2, activation: MyRelu).Apply(hidden), "with_custom_layer");
        var custom = new CustomObjects { ["QuickLayer"] = typeof(QuickLayer), ["my_relu"] = MyRelu };
        Assert.Contains("Unknown layer class 'QuickLayer'", Assert.Throws<ArgumentException>(() => Model.FromJson(functional.ToJson(), new CustomObjects { ["my_relu"] = MyRelu })).Message);
        EveryLayerRoundTripTests.AssertRoundTrips(functional, [Random(6, 3, 6)], custom);

        // The registered subclassed model needs no custom objects; the JSON names it "my_package>QuickModel".
        using var subclassed = new QuickModel(numClasses: 3);
        subclassed.Predict(Random(7, 2, 5));
        Assert.Contains("\"registered_name\":\"my_package>QuickModel\"", subclassed.ToJson());
        var x = Random(9, 2, 5);
        using var dir = NewTempDir();
        subclassed.Save(dir.File("sub.keras"));
        using var loaded = Model.LoadModel(dir.File("sub.keras"));
        Assert.Equal(subclassed.Predict(x).Data, loaded.Predict(x).Data);
        using var fromYaml = Model.FromYaml(subclassed.ToYaml());
        Assert.Equal(subclassed.ToYaml(), fromYaml.ToYaml());
    }

    [Fact]
    public void CustomInitializersRegularizersAndLossesLoadByRegistrationOrCustomObjects()
    {
        Keras.SetRandomSeed(31);
        var input = Keras.Input([4], name: "x");
        using var model = new Model(input, new Dense(3, kernelInitializer: new ScaledOnes(0.5), kernelRegularizer: new SumRegularizer(0.3)).Apply(input), "custom_parts");
        model.Compile("sgd", new ScaledMse(3.0));
        var json = model.ToJson();
        Assert.Contains("\"class_name\":\"ScaledOnes\",\"config\":{\"scale\":0.5},\"registered_name\":\"my_package>ScaledOnes\"", json);
        var e = Assert.Throws<ArgumentException>(() => Model.FromJson(json));
        Assert.Contains("Could not locate regularizer 'SumRegularizer'", e.Message);
        Assert.Contains("customObjects", e.Message);
        var custom = new CustomObjects { ["SumRegularizer"] = typeof(SumRegularizer) };
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(32, 2, 4)], custom);
        using var dir = NewTempDir();
        model.Save(dir.File("parts.keras"));
        using var loaded = Model.LoadModel(dir.File("parts.keras"), custom);
        Assert.Equal(3.0, Assert.IsType<ScaledMse>(loaded.Loss).Factor);
        Assert.Equal(0.3, Assert.IsType<SumRegularizer>(loaded.Layers.OfType<Dense>().Single().KernelRegularizer).Weight);
        Assert.Equal(Enumerable.Repeat(0.5f, 12), loaded.Weights[0].ToArray()); // and the file's weights, which are the initializer's
    }

    [Fact]
    public void CustomObjectsTakePrecedenceAndCheckWhatTheyAreGiven()
    {
        // A custom object named like a built-in wins, as Keras's custom_objects do.
        var mine = new ActivationFunction("relu", Ops.Tanh);
        var json = """{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "in"}}, {"class_name": "Dense", "config": {"name": "d", "units": 1, "activation": "relu"}}]}}""";
        using var model = Model.FromJson(json, new CustomObjects { ["relu"] = mine });
        Assert.Same(mine, ((Dense)model.Layers[0]).Activation);
        Assert.Throws<ArgumentException>(() => new CustomObjects { ["x"] = "not a class" });
        Assert.Throws<ArgumentException>(() => new CustomObjects { ["x"] = typeof(string) });
        Assert.Throws<ArgumentException>(() => new CustomObjects { ["x"] = typeof(Layer) }); // abstract
        Assert.Throws<ArgumentException>(() => new CustomObjects { { "x", typeof(Dense) }, { "x", typeof(Dense) } });
    }

    private static string Dense(string extra) =>
        $$$"""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3], "name": "in"}}, {"class_name": "Dense", "config": {"name": "d", "units": 2{{{extra}}}}}]}}""";

    [Fact]
    public void UnknownKeysAreRefusedAsKerasRefusesThem()
    {
        var e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Dense(", \"bogus_key\": 1")));
        Assert.Equal("Unrecognized keyword arguments passed to Dense (layer 'd'): {'bogus_key': 1}", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Model.FromYaml(Model.FromJson(Dense("")).ToYaml().Replace("units: 2", "units: 2\n      colour: blue", StringComparison.Ordinal)));
        Assert.Contains("Unrecognized keyword arguments passed to Dense (layer 'd'): {'colour': 'blue'}", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Dense(", \"kernel_initializer\": {\"class_name\": \"HeNormal\", \"config\": {\"seed\": null, \"gain\": 2}}")));
        Assert.Equal("Unrecognized keyword arguments passed to HeNormal: {'gain': 2}", e.Message);
    }

    [Fact]
    public void SettingsOnnxKerasLacksAreRefusedUnlessTheyAreOff()
    {
        using (Model.FromJson(Dense(", \"kernel_constraint\": null, \"activity_regularizer\": null, \"lora_rank\": null, \"dtype\": \"float32\""))) { }
        var e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Dense(", \"lora_rank\": 4")));
        Assert.Contains("The config of layer 'd' (Dense) sets 'lora_rank' to 4, which OnnxKeras does not implement", e.Message);
        // A layer without constraints refuses one rather than drop it; Dense takes it.
        const string flatten = """{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3], "name": "in"}}, {"class_name": "Flatten", "config": {"name": "f", "kernel_constraint": {"class_name": "NonNeg", "config": {}}}}]}}""";
        Assert.Contains("The config of layer 'f' (Flatten) sets 'kernel_constraint' to {'class_name': 'NonNeg', 'config': {}}", Assert.Throws<InvalidDataException>(() => Model.FromJson(flatten)).Message);
        using var constrained = Model.FromJson(Dense(", \"kernel_constraint\": {\"class_name\": \"MaxNorm\", \"config\": {\"max_value\": 2, \"axis\": 0}}"));
        Assert.IsType<MaxNormConstraint>(constrained.Layers.OfType<Dense>().Single().KernelConstraint);
    }

    [Fact]
    public void ValuesOutOfRangeNameTheLayer()
    {
        var e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Dense("").Replace("\"units\": 2", "\"units\": -1", StringComparison.Ordinal)));
        Assert.Contains("The config of layer 'd' (Dense) is invalid: Dense: units must be a positive integer; got -1.", e.Message);
        Assert.IsType<ArgumentException>(e.InnerException);
        e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Dense(", \"activation\": 5")));
        Assert.Contains("Config value for layer 'd' (Dense), key 'activation' is 5; expected the activation's name or its {\"class_name\", \"config\"} object.", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Dense(", \"kernel_initializer\": [\"he_normal\"]")));
        Assert.Contains("key 'kernel_initializer' is ['he_normal']; expected the initializer's name", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Dense(", \"kernel_initializer\": {\"class_name\": \"VarianceScaling\", \"config\": {\"mode\": \"fan_sideways\"}}")));
        Assert.Contains("VarianceScaling, key 'mode' is 'fan_sideways'; expected one of 'fan_in', 'fan_out', 'fan_avg'", e.Message);
    }

    [Fact]
    public void AConstructorsOwnExceptionKeepsItsStackTrace()
    {
        var json = """{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "in"}}, {"class_name": "ThrowingLayer", "config": {"name": "t", "units": 3}}]}}""";
        var e = Assert.Throws<InvalidOperationException>(() => Model.FromJson(json, new CustomObjects { ["ThrowingLayer"] = typeof(ThrowingLayer) }));
        Assert.Equal("ThrowingLayer refuses 3", e.Message);
        Assert.Contains(nameof(ThrowingLayer) + "..ctor", e.StackTrace);
    }

    [Fact]
    public void NestedSequentialInsideAFunctionalModelRoundTrips()
    {
        Keras.SetRandomSeed(21);
        var inner = new Sequential(new InputLayer([4]), new Dense(5, activation: "relu"), new Dense(3)) { Name = "inner" };
        var input = Keras.Input([4], name: "x");
        var output = new Dense(2, activation: "softmax").Apply(inner.Apply(input));
        using var model = new Model(input, output, "outer");
        Assert.Contains("\"class_name\":\"Sequential\"", model.ToJson());
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(22, 3, 4)]);
    }
}
