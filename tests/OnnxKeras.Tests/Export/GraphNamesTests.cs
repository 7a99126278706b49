using System.Text.RegularExpressions;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Export;

/// <summary>
/// The model's own input and output names survive every config round trip and become the ONNX graph's input and output
/// names (tf2onnx's rule: the InputLayers' names, the output layers' names), for Sequential models too.
/// </summary>
public class GraphNamesTests
{
    private static Sequential Pixels() =>
        new(new InputLayer([4]) { Name = "pixels" }, new Dense(3, activation: "relu") { Name = "hidden" }, new Dense(2, activation: "softmax") { Name = "probabilities" });

    private static (string[] Inputs, string[] Outputs) OnnxNames(Model model)
    {
        var bytes = model.ExportOnnxBytes(out _);
        using var onnx = OnnxModel.Load(bytes);
        return (onnx.Inputs.Select(i => i.Name).ToArray(), onnx.Outputs.Select(o => o.Name).ToArray());
    }

    private static void AssertNames(Model model, string[] inputs, string[] outputs)
    {
        var names = OnnxNames(model);
        Assert.Equal(inputs, names.Inputs);
        Assert.Equal(outputs, names.Outputs);
    }

    [Fact]
    public void ASequentialsInputLayerNameIsItsInputNameAndTheOnnxInputName()
    {
        using var model = Pixels();
        Assert.Equal(["pixels"], model.InputNames);
        Assert.Equal(["probabilities"], model.OutputNames);
        Assert.Equal("pixels", model.InputLayer!.Name);
        var (inputs, outputs) = OnnxNames(model);
        Assert.Equal(["pixels"], inputs);
        Assert.Equal(["probabilities"], outputs);
    }

    [Fact]
    public void TheInputLayerNameSurvivesJsonYamlAndKerasArchives()
    {
        using var model = Pixels();
        string json = model.ToJson();
        Assert.Contains("\"pixels\"", json);
        using (var fromJson = Model.FromJson(json))
        {
            Assert.Equal(["pixels"], fromJson.InputNames);
            Assert.Equal(json, fromJson.ToJson()); // the config round-trips exactly
            AssertNames(fromJson, ["pixels"], ["probabilities"]);
        }
        using (var fromYaml = Model.FromYaml(model.ToYaml())) Assert.Equal(["pixels"], fromYaml.InputNames);
        var path = Path.Combine(Path.GetTempPath(), $"names-{Guid.NewGuid():N}.keras");
        try
        {
            model.Save(path);
            using var loaded = Model.LoadModel(path);
            Assert.Equal(["pixels"], loaded.InputNames);
            Assert.Equal(["probabilities"], OnnxNames(loaded).Outputs);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WithoutAnInputLayerASequentialGetsKeras3sAutoNamedInputLayer()
    {
        // Keras 3 turns a first layer's input_shape into InputLayer(shape), and build() prepends InputLayer(batch_shape):
        // both auto-named "input_layer", then "input_layer_1", ... (snake_case of the class name, made unique).
        var autoName = new Regex("^input_layer(_[0-9]+)?$");
        using var declared = new Sequential(new Dense(2) { InputShape = [3] });
        Assert.Matches(autoName, declared.InputNames[0]);
        Assert.Equal(declared.InputNames[0], OnnxNames(declared).Inputs[0]);

        using var fromData = new Sequential(new Dense(2));
        Assert.Null(fromData.InputLayer);
        Assert.Contains("no input yet", Assert.Throws<InvalidOperationException>(() => fromData.InputNames).Message);
        fromData.Predict(new float[1, 3]);
        Assert.Matches(autoName, fromData.InputNames[0]);
        Assert.NotEqual(declared.InputNames[0], fromData.InputNames[0]); // unique within the process, as in Keras
        Assert.Equal(fromData.Layers[0].Name, fromData.OutputNames[0]);
    }

    [Fact]
    public void AKeras2ConfigsFirstLayerInputShapeGivesKeras2sInputName()
    {
        // tf.keras 2 named the InputLayer it made from batch_input_shape "<first layer>_input".
        const string json = """{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense", "config": {"name": "dense_7", "units": 2, "batch_input_shape": [null, 3]}}]}, "keras_version": "2.4.0", "backend": "tensorflow"}""";
        using var model = Model.FromJson(json);
        Assert.Equal(["dense_7_input"], model.InputNames);
        AssertNames(model, ["dense_7_input"], ["dense_7"]);
    }

    [Fact]
    public void FunctionalModelsUseTheirInputAndOutputLayerNames()
    {
        var image = Keras.Input([3], name: "image");
        var meta = Keras.Input([2], name: "meta");
        var joined = new Concatenate().Apply([image, meta]);
        var score = new Dense(1, activation: "sigmoid") { Name = "score" }.Apply(joined);
        var kind = new Dense(4, activation: "softmax") { Name = "kind" }.Apply(joined);
        using var model = new Model([image, meta], [score, kind]);
        AssertNames(model, ["image", "meta"], ["score", "kind"]);
    }

    [Fact]
    public void ExplicitOnnxNamesStillWin()
    {
        using var model = Pixels();
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { InputNames = ["x"], OutputNames = ["y"] });
        using var onnx = OnnxModel.Load(bytes);
        Assert.Equal("x", onnx.Inputs.Single().Name);
        Assert.Equal("y", onnx.Outputs.Single().Name);
    }
}
