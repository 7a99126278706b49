using OnnxKeras.Layers;
using OnnxKeras.Saving;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Saving;

public class KerasTwoActivationTests
{
    [Fact]
    public void KerasTwoHardSigmoidIsTheOldFormula()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { -3, -1, 0, 1, 2, 3 });
        var y = Activations.HardSigmoidKeras2.Apply(x).Value.data<float>().ToArray();
        // clip(0.2 x + 0.5, 0, 1): 0, 0.3, 0.5, 0.7, 0.9, 1 (Keras 3's x/6 + 0.5 would give 0.8333 at 2).
        Assert.Equal(new[] { 0f, 0.3f, 0.5f, 0.7f, 0.9f, 1f }, y.Select(v => MathF.Round(v, 6)).ToArray());
    }

    private const string Layers = """[{"class_name":"LSTM","config":{"name":"lstm","units":2,"activation":"tanh","recurrent_activation":"hard_sigmoid","batch_input_shape":[null,3,1]}},{"class_name":"Dense","config":{"name":"d","units":1,"activation":"hard_sigmoid"}}]""";

    /// <summary>The Dense layer's output for kernel 1, bias 0 and LSTM output 2 (weights set by hand, LSTM bypassed).</summary>
    private static float DenseHardSigmoidAtTwo(OnnxKeras.Models.Model model)
    {
        using var scope = NewDisposeScope();
        var dense = model.Layers.OfType<Dense>().Single();
        dense.SetWeights([new NDArray([1f, 1f], new long[] { 2, 1 }), new NDArray([0f], new long[] { 1 })]);
        return dense.Apply(new KTensor(tensor(new float[] { 2, 0 }).reshape(1, 2))).Value.item<float>();
    }

    private static string RecurrentActivation(OnnxKeras.Models.Model model) =>
        model.Layers.OfType<LSTM>().Single().GetConfig().Get<object?>("recurrent_activation", null)!.ToString()!;

    [Theory]
    [InlineData(""" "keras_version":"2.1.3","backend":"tensorflow" """)]   // Keras 2's to_json records both
    [InlineData(""" "keras_version":"1.2.2" """)]
    [InlineData(""" "backend":"theano" """)]
    public void FromJsonKeepsKerasTwosHardSigmoidWhenKerasTwoWroteTheConfig(string writer)
    {
        var json = $$"""{"class_name":"Sequential","config":{{Layers}},{{writer}}}""";
        using var model = OnnxKeras.Models.Model.FromJson(json);
        Assert.Equal("hard_sigmoid_keras2", RecurrentActivation(model));
        Assert.Equal(0.9f, DenseHardSigmoidAtTwo(model), 6); // clip(0.2 * 2 + 0.5, 0, 1)
    }

    [Theory]
    [InlineData("")]                                       // Keras 3's to_json records no version
    [InlineData(""" ,"keras_version":"3.9.2" """)]
    public void FromJsonKeepsKerasThreesHardSigmoidOtherwise(string writer)
    {
        var json = $$"""{"class_name":"Sequential","config":{{Layers}}{{writer}}}""";
        using var model = OnnxKeras.Models.Model.FromJson(json);
        Assert.Equal("hard_sigmoid", RecurrentActivation(model));
        Assert.Equal(2f / 6 + 0.5f, DenseHardSigmoidAtTwo(model), 6); // relu6(2 + 3) / 6
    }

    [Fact]
    public void FromYamlKeepsKerasTwosHardSigmoid()
    {
        // Keras 2's to_yaml writes the version unquoted; "2.0" is then a YAML number.
        foreach (var version in new[] { "2.2.4", "2.0" })
        {
            var yaml = $"class_name: Sequential\nconfig: {Layers}\nkeras_version: {version}\nbackend: tensorflow\n"; // JSON is YAML flow style
            using var model = OnnxKeras.Models.Model.FromYaml(yaml);
            Assert.Equal("hard_sigmoid_keras2", RecurrentActivation(model));
            Assert.Equal(0.9f, DenseHardSigmoidAtTwo(model), 6);
        }
    }

    // What Keras 3 writes for a function registered as "onnxkeras>hard_sigmoid_keras2" (activations.serialize on a
    // registered function: module builtins, class_name function, config the registered name; serialization_lib.py).
    private const string SavedForm = """{"module":"builtins","class_name":"function","config":"onnxkeras>hard_sigmoid_keras2","registered_name":"function"}""";

    private static string Compact(string json) => System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonDocument.Parse(json).RootElement,
        new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    [Fact]
    public void KerasTwosHardSigmoidSavesAsARegisteredFunctionAndReadsBack()
    {
        var json = $$"""{"class_name":"Sequential","config":{{Layers}},"keras_version":"2.1.3","backend":"tensorflow"}""";
        using var model = OnnxKeras.Models.Model.FromJson(json);
        string saved = Compact(model.ToJson());
        Assert.Contains("\"recurrent_activation\":" + SavedForm, saved);
        Assert.Contains("\"activation\":" + SavedForm, saved);              // the Dense layer's hard_sigmoid as well
        Assert.DoesNotContain("\"hard_sigmoid_keras2\"", saved);           // no bare name Keras 3 would not know
        using (var again = OnnxKeras.Models.Model.FromJson(model.ToJson()))
        {
            Assert.Equal("hard_sigmoid_keras2", RecurrentActivation(again));
            Assert.Equal(0.9f, DenseHardSigmoidAtTwo(again), 6);              // clip(0.2 * 2 + 0.5, 0, 1), not 5/6
        }
        using (var fromYaml = OnnxKeras.Models.Model.FromYaml(model.ToYaml())) Assert.Equal(0.9f, DenseHardSigmoidAtTwo(fromYaml), 6);
        var path = Path.Combine(Path.GetTempPath(), $"hs2-{Guid.NewGuid():N}.keras");
        try
        {
            model.Save(path);
            using var loaded = OnnxKeras.Models.Model.LoadModel(path);
            Assert.Equal("hard_sigmoid_keras2", RecurrentActivation(loaded));
            Assert.Equal(0.9f, DenseHardSigmoidAtTwo(loaded), 6);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void KerasThreesHardSigmoidStaysAPlainName()
    {
        using var model = new OnnxKeras.Models.Sequential(new InputLayer([3]), new Dense(2, activation: "hard_sigmoid"));
        Assert.Contains("\"activation\":\"hard_sigmoid\"", Compact(model.ToJson()));
    }

    [Fact]
    public void FunctionObjectsNamingUnknownFunctionsAreRefused()
    {
        const string unknown = """{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"InputLayer","config":{"batch_shape":[null,3]}},{"class_name":"Dense","config":{"name":"d","units":1,"activation":{"module":"builtins","class_name":"function","config":"my>own","registered_name":"function"}}}]}}""";
        var e = Assert.ThrowsAny<Exception>(() => OnnxKeras.Models.Model.FromJson(unknown));
        Assert.Contains("my>own", e.ToString());
        // Keras's function form of a built-in name reads as that built-in.
        using var relu = OnnxKeras.Models.Model.FromJson(unknown.Replace("my>own", "relu"));
        Assert.Equal("relu", relu.Layers[0].GetConfig().Get<object?>("activation", null)!.ToString());
    }
}
