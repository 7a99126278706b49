using System.Text.Json;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using Xunit;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// Issue 14, "nothing dropped, nothing invented": a Keras config's constraints, activity_regularizer and dtype are kept
/// (and written back key for key) or refused with an exception naming the layer, never silently dropped.
/// </summary>
public class KeptOrRefusedConfigTests
{
    private const string Float32Policy = """{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}""";

    /// <summary>A Sequential config as Keras 3 writes it, with <paramref name="denseExtra"/> added to the Dense layer's config.</summary>
    private static string KerasSequential(string denseExtra, string denseDtype = Float32Policy) => $$$"""
        {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, "dtype": {{{Float32Policy}}},
          "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null},
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": {{{denseDtype}}},
              "units": 2, "activation": "linear", "use_bias": true,
              "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
              "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
              "kernel_regularizer": null, "bias_regularizer": null{{{denseExtra}}}},
             "registered_name": null, "build_config": {"input_shape": [null, 3]}}],
          "build_input_shape": [null, 3]}, "registered_name": null}
        """;

    private const string IssueExtras = """
        , "activity_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5}, "registered_name": null},
        "kernel_constraint": {"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}, "registered_name": null},
        "bias_constraint": {"module": "keras.constraints", "class_name": "NonNeg", "config": {}, "registered_name": null}
        """;

    private static JsonElement DenseConfig(string modelJson)
    {
        var root = JsonDocument.Parse(modelJson).RootElement;
        return root.GetProperty("config").GetProperty("layers").EnumerateArray()
            .Single(l => l.GetProperty("class_name").GetString() == "Dense").GetProperty("config").Clone();
    }

    [Fact]
    public void ConstraintsAndActivityRegularizer_FromKerasJson_AreKeptKeyForKey()
    {
        string json = KerasSequential(IssueExtras);
        using var model = Model.FromJson(json);
        var dense = (Dense)model.GetLayer("dense");
        var kernel = Assert.IsType<MaxNormConstraint>(dense.KernelConstraint);
        Assert.Equal(2.0, kernel.MaxValue);
        Assert.Equal([0], kernel.Axis);
        Assert.IsType<NonNegConstraint>(dense.BiasConstraint);
        Assert.Equal(0.5, Assert.IsType<L2Regularizer>(dense.ActivityRegularizer).L2);

        string written = model.ToJson();
        var original = DenseConfig(json);
        var rewritten = DenseConfig(written);
        foreach (var key in new[] { "activity_regularizer", "kernel_constraint", "bias_constraint" })
        {
            Assert.Equal(original.GetProperty(key).GetProperty("class_name").GetString(), rewritten.GetProperty(key).GetProperty("class_name").GetString());
            var a = original.GetProperty(key).GetProperty("config").EnumerateObject().Select(p => (p.Name, p.Value.GetDouble())).ToList();
            var b = rewritten.GetProperty(key).GetProperty("config").EnumerateObject().Select(p => (p.Name, p.Value.GetDouble())).ToList();
            Assert.Equal(a, b);
        }
        // Written again from what was read: the same text (nothing lost on a second trip either).
        using var again = Model.FromJson(written);
        Assert.Equal(written, again.ToJson());
        using var fromYaml = Model.FromYaml(model.ToYaml());
        Assert.Equal(written, fromYaml.ToJson());
    }

    [Fact]
    public void KerasArchive_KeepsConstraintsAndActivityRegularizer()
    {
        var dense = new Dense(2, kernelConstraint: Constraints.MinMaxNorm(0.5, 1.5, 0.5, 0), biasConstraint: Constraints.NonNeg())
        { Name = "d", ActivityRegularizer = Regularizers.L1(0.25) };
        using var model = new Sequential(new InputLayer([3]), dense);
        string path = Path.Combine(Path.GetTempPath(), $"constraints-{Guid.NewGuid():N}.keras");
        try
        {
            model.Save(path);
            using var loaded = Model.LoadModel(path);
            var d = (Dense)loaded.GetLayer("d");
            var k = Assert.IsType<MinMaxNormConstraint>(d.KernelConstraint);
            Assert.Equal((0.5, 1.5, 0.5), (k.MinValue, k.MaxValue, k.Rate));
            Assert.Equal([0], k.Axis);
            Assert.IsType<NonNegConstraint>(d.BiasConstraint);
            Assert.Equal(0.25, Assert.IsType<L1Regularizer>(d.ActivityRegularizer).L1);
            Assert.Same(d.KernelConstraint, d.Kernel.Constraint);
            Assert.Equal(model.ToJson(), loaded.ToJson());
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TheoryData<string> ConstrainedLayers => new(["Dense", "Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
        "Embedding", "BatchNormalization", "LayerNormalization", "LSTM", "GRU", "SimpleRNN", "PReLU"]);

    /// <summary>A layer with every constraint argument set, its input shape, and the weights that must carry a constraint.</summary>
    private static (Layer Layer, Shape Input, string[] Constrained) Make(string kind)
    {
        Constraint m = Constraints.MaxNorm(1.5, 0), nn = Constraints.NonNeg(), u = Constraints.UnitNorm(0, 1);
        return kind switch
        {
            "Dense" => (new Dense(2, kernelConstraint: m, biasConstraint: nn), new Shape(null, 3), ["kernel", "bias"]),
            "Conv1D" => (new Conv1D(2, 3, kernelConstraint: u, biasConstraint: nn), new Shape(null, 5, 3), ["kernel", "bias"]),
            "Conv2D" => (new Conv2D(2, 3, kernelConstraint: Constraints.MaxNorm(2, 0, 1, 2), biasConstraint: nn), new Shape(null, 5, 5, 3), ["kernel", "bias"]),
            "Conv2DTranspose" => (new Conv2DTranspose(2, 3, kernelConstraint: m, biasConstraint: nn), new Shape(null, 5, 5, 3), ["kernel", "bias"]),
            "DepthwiseConv2D" => (new DepthwiseConv2D(3, depthwiseConstraint: m, biasConstraint: nn), new Shape(null, 5, 5, 3), ["kernel", "bias"]),
            "SeparableConv2D" => (new SeparableConv2D(2, 3, depthwiseConstraint: m, pointwiseConstraint: u, biasConstraint: nn), new Shape(null, 5, 5, 3),
                ["depthwise_kernel", "pointwise_kernel", "bias"]),
            "Embedding" => (new Embedding(10, 4, embeddingsConstraint: Constraints.UnitNorm(1)), new Shape(null, 3), ["embeddings"]),
            "BatchNormalization" => (new BatchNormalization(betaConstraint: nn, gammaConstraint: Constraints.MinMaxNorm()), new Shape(null, 4), ["gamma", "beta"]),
            "LayerNormalization" => (new LayerNormalization(betaConstraint: nn, gammaConstraint: m), new Shape(null, 4), ["gamma", "beta"]),
            "LSTM" => (new LSTM(3, kernelConstraint: m, recurrentConstraint: u, biasConstraint: nn), new Shape(null, 5, 2), ["kernel", "recurrent_kernel", "bias"]),
            "GRU" => (new GRU(3, kernelConstraint: m, recurrentConstraint: u, biasConstraint: nn), new Shape(null, 5, 2), ["kernel", "recurrent_kernel", "bias"]),
            "SimpleRNN" => (new SimpleRNN(3, kernelConstraint: m, recurrentConstraint: u, biasConstraint: nn), new Shape(null, 5, 2), ["kernel", "recurrent_kernel", "bias"]),
            "PReLU" => (new PReLU(alphaConstraint: nn), new Shape(null, 4), ["alpha"]),
            _ => throw new ArgumentException(kind),
        };
    }

    [Theory]
    [MemberData(nameof(ConstrainedLayers))]
    public void EveryConstraintArgument_ReachesItsWeight_AndSurvivesTheConfig(string kind)
    {
        var (layer, input, constrained) = Make(kind);
        using var _ = layer;
        layer.EnsureBuilt(input);
        Assert.Equal(constrained.Order(), layer.Weights.Where(v => v.Constraint is not null).Select(v => v.Name).Order());

        string json = ConfigJson.Write(layer.GetConfig());
        var parsed = (IDictionary<string, object?>)ModelConfig.ParseJson(json)!;
        using var rebuilt = LayerRegistry.FromConfig(kind, parsed.Aggregate(new LayerConfig(), (c, kv) => c.With(kv.Key, kv.Value)));
        Assert.Equal(json, ConfigJson.Write(rebuilt.GetConfig()));
        int keys = parsed.Keys.Count(k => k.EndsWith("_constraint", StringComparison.Ordinal) && parsed[k] is not null);
        Assert.Equal(constrained.Length, keys);
    }

    [Fact]
    public void ActivityRegularizer_IsABaseEntry_WrittenOnlyWhenSet()
    {
        // Keras 3's Layer.get_config adds activity_regularizer after name, trainable and dtype when it is set.
        Assert.DoesNotContain("activity_regularizer", new Flatten().GetConfig().Keys);
        var config = new Flatten { ActivityRegularizer = Regularizers.L1L2(0.1, 0.2) }.GetConfig();
        Assert.Equal(["name", "trainable", "dtype", "activity_regularizer"], config.Keys.Take(4));
        using var back = LayerRegistry.FromConfig("Flatten", config);
        var r = Assert.IsType<L1L2Regularizer>(back.ActivityRegularizer);
        Assert.Equal((0.1, 0.2), (r.L1, r.L2));
        // A name is accepted as Keras accepts it.
        using var byName = LayerRegistry.FromConfig("Flatten", new LayerConfig().With("activity_regularizer", "l2"));
        Assert.Equal(0.01, Assert.IsType<L2Regularizer>(byName.ActivityRegularizer).L2);
    }

    [Theory]
    [InlineData("\"float32\"")]
    [InlineData(Float32Policy)]
    [InlineData("""{"class_name": "Policy", "config": {"name": "float32"}}""")]
    public void Float32_InEitherForm_IsAcceptedAndWrittenBack(string dtype)
    {
        using var model = Model.FromJson(KerasSequential("", dtype));
        Assert.Equal("float32", DenseConfig(model.ToJson()).GetProperty("dtype").GetString());
    }

    [Theory]
    [InlineData("\"float16\"", "float16")]
    [InlineData("\"bfloat16\"", "bfloat16")]
    [InlineData("\"float64\"", "float64")]
    [InlineData("\"int32\"", "int32")]
    [InlineData("""{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}, "registered_name": null}""", "mixed_float16")]
    [InlineData("""{"class_name": "Policy", "config": {"name": "mixed_bfloat16"}}""", "mixed_bfloat16")]
    [InlineData("""{"class_name": "QuantizedDTypePolicy", "config": {"name": "int8_from_float32"}}""", "QuantizedDTypePolicy")]
    public void OtherDtypes_AreRefused_NamingLayerAndDtype(string dtype, string shown)
    {
        var e = Assert.Throws<NotSupportedException>(() => Model.FromJson(KerasSequential("", dtype)));
        Assert.Contains("'dense'", e.Message);
        Assert.Contains(shown, e.Message);
        Assert.Contains("float32", e.Message);
    }

    [Fact]
    public void InputDtype_IsWrittenAndReadBack_NotInventedAsFloat32()
    {
        // Keras records an integer input's dtype on its InputLayer; writing "float32" there would invent a type.
        var ids = Keras.Input([4], name: "ids", dtype: "int32");
        using var model = new Model([ids], [new Embedding(10, 3).Apply(ids)]);
        string json = model.ToJson();
        var input = JsonDocument.Parse(json).RootElement.GetProperty("config").GetProperty("layers")[0];
        Assert.Equal("InputLayer", input.GetProperty("class_name").GetString());
        Assert.Equal("int32", input.GetProperty("config").GetProperty("dtype").GetString());
        using var back = Model.FromJson(json);
        Assert.Equal("int32", ((InputLayer)back.GetLayer("ids")).Dtype);
        Assert.Equal(json, back.ToJson());
    }

    [Fact]
    public void InputDtype_OtherThanFloat32OrIntegers_IsRefused()
    {
        string json = KerasSequential("").Replace("\"batch_shape\": [null, 3], \"dtype\": \"float32\"", "\"batch_shape\": [null, 3], \"dtype\": \"float16\"", StringComparison.Ordinal);
        Assert.Contains("float16", json);
        var e = Assert.Throws<NotSupportedException>(() => Model.FromJson(json));
        Assert.Contains("InputLayer", e.Message);
        Assert.Contains("'float16'", e.Message);
        Assert.Throws<ArgumentException>(() => new InputLayer([3], "float16"));
        Assert.Throws<ArgumentException>(() => Keras.Input([3], dtype: "bool"));
    }
}
