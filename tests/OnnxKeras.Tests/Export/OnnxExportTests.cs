using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Tests.Models;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Export;

public class OnnxExportTests
{
    private static Sequential Mlp(params string[] activations)
    {
        var layers = new List<Layer> { new InputLayer([6]) };
        foreach (var a in activations) layers.Add(new Dense(5, activation: a));
        return new Sequential([.. layers]);
    }

    [Fact]
    public void DenseReluIsExactlyGemmAndRelu()
    {
        using var model = new Sequential(new InputLayer([4]), new Dense(3, activation: "relu") { Name = "hidden" });
        var bytes = model.ExportOnnxBytes(out var report);
        var parsed = Onnx.ModelProto.Parser.ParseFrom(bytes);
        Assert.Equal(new[] { "Gemm", "Relu" }, parsed.Graph.Node.Select(n => n.OpType).ToArray());
        Assert.Equal(2, parsed.Graph.Initializer.Count);
        Assert.Equal(new[] { "hidden/kernel", "hidden/bias" }.Order(), parsed.Graph.Initializer.Select(i => i.Name).Order());
        Assert.Equal(4 * 3 + 3, report.ParameterCount);
        OnnxTestHelpers.AssertParity(model, bytes, 1);
        OnnxTestHelpers.AssertParity(model, bytes, 5);
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void EveryActivationExportsWithParityAtEveryOpset(int opset)
    {
        Keras.SetRandomSeed(opset);
        string[] all = ["linear", "relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "silu", "softplus", "softsign", "leaky_relu", "hard_sigmoid", "exponential", "softmax"];
        using var model = Mlp(all);
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
        Assert.Equal(opset, report.Opset);
        Assert.True(report.MaxAbsDifference <= 1e-5, $"max diff {report.MaxAbsDifference}");
        var parsed = Onnx.ModelProto.Parser.ParseFrom(bytes);
        Assert.Equal(OnnxExport.IrVersion(opset), parsed.IrVersion);
        Assert.Equal(opset, parsed.OpsetImport.Single().Version);
        Assert.Equal(opset >= 20, parsed.Graph.Node.Any(n => n.OpType == "Gelu"));
        OnnxTestHelpers.AssertParity(model, bytes, 7);
    }

    [Fact]
    public void IrVersionsFollowTheOpset()
    {
        Assert.Equal(8, OnnxExport.IrVersion(17));
        Assert.Equal(8, OnnxExport.IrVersion(18));
        Assert.Equal(9, OnnxExport.IrVersion(19));
        Assert.Equal(9, OnnxExport.IrVersion(20));
        Assert.Equal(10, OnnxExport.IrVersion(21));
    }

    [Fact]
    public void FileDescribesItselfWithShapesNamesAndKerasConfig()
    {
        using var model = new Sequential(new InputLayer([4]), new Dense(3, activation: "relu"), new Dropout(0.5), new Dense(2, activation: "softmax"));
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { InputNames = ["pixels"], OutputNames = ["probabilities"], DocString = "test", Metadata = new Dictionary<string, string> { ["author"] = "me" } });
        var g = Onnx.ModelProto.Parser.ParseFrom(bytes);
        Assert.Equal("OnnxKeras", g.ProducerName);
        Assert.Equal("test", g.DocString);
        var input = g.Graph.Input.Single();
        Assert.Equal("pixels", input.Name);
        Assert.Equal("batch", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(4, input.Type.TensorType.Shape.Dim[1].DimValue);
        var output = g.Graph.Output.Single();
        Assert.Equal("probabilities", output.Name);
        Assert.Equal("batch", output.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(2, output.Type.TensorType.Shape.Dim[1].DimValue);
        // Every value produced by a node and not a graph output has a shape in value_info.
        var intermediate = g.Graph.Node.SelectMany(n => n.Output).Where(o => o != "probabilities").ToList();
        Assert.NotEmpty(intermediate);
        Assert.All(intermediate, v => Assert.Contains(g.Graph.ValueInfo, vi => vi.Name == v && vi.Type.TensorType.Shape.Dim.Count > 0));
        Assert.DoesNotContain(g.Graph.Node, n => n.OpType is "Identity" or "Dropout");
        var config = g.MetadataProps.Single(p => p.Key == "keras_config").Value;
        using var json = System.Text.Json.JsonDocument.Parse(config);
        Assert.Equal("Sequential", json.RootElement.GetProperty("class_name").GetString());
        // Keras 3 lists the InputLayer first in a Sequential's config.
        var layers = json.RootElement.GetProperty("config").GetProperty("layers");
        Assert.Equal(4, layers.GetArrayLength());
        Assert.Equal("InputLayer", layers[0].GetProperty("class_name").GetString());
        Assert.Equal("Dense", layers[1].GetProperty("class_name").GetString());
        Assert.Equal("me", g.MetadataProps.Single(p => p.Key == "author").Value);
        OnnxTestHelpers.AssertParity(model, bytes, 3); // the ONNX input is named "pixels"
    }

    [Fact]
    public void FunctionalMultiInputMultiOutputSharedResidualAndNestedModelsExport()
    {
        Keras.SetRandomSeed(3);
        var inner = Keras.Input([6]);
        using var block = new Model(inner, new Add().Apply([inner, new Dense(6, activation: "tanh").Apply(inner)]), name: "block");
        var a = Keras.Input([6], name: "a");
        var b = Keras.Input([6], name: "b");
        var shared = new Dense(6, activation: "relu");
        var ha = block.Apply(shared.Apply(a));
        var hb = shared.Apply(b);
        var joined = new Concatenate().Apply([ha, hb]);
        var first = new Dense(3, activation: "softmax") { Name = "first" }.Apply(joined);
        var second = new Dense(1) { Name = "second" }.Apply(new Average().Apply([ha, hb]));
        using var model = new Model([a, b], [first, second]);
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Verify = true });
        var g = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.Equal(new[] { "a", "b" }, g.Input.Select(i => i.Name).ToArray());
        Assert.Equal(new[] { "first", "second" }, g.Output.Select(i => i.Name).ToArray());
        // The shared Dense is written once.
        Assert.Equal(model.Weights.Count, g.Initializer.Count(i => i.Name.EndsWith("kernel") || i.Name.EndsWith("bias")));
        Assert.Equal(model.CountParams(), g.Initializer.Where(i => i.Name.EndsWith("kernel") || i.Name.EndsWith("bias")).Sum(i => i.Dims.Aggregate(1L, (x, y) => x * y)));
        OnnxTestHelpers.AssertParity(model, bytes, 1);
        OnnxTestHelpers.AssertParity(model, bytes, 4);
    }

    [Fact]
    public void SubclassedModelAndCustomLayersExportWithNoExtraCode()
    {
        Keras.SetRandomSeed(4);
        using var subclassed = new MyModel(numClasses: 4);
        subclassed.Predict(new float[2, 8]);
        var bytes = subclassed.ExportOnnxBytes(out _, new OnnxExportOptions { Verify = true });
        OnnxTestHelpers.AssertParity(subclassed, bytes, 3);

        var input = Keras.Input([3]);
        using var custom = new Model(input, new MyLayer(5).Apply(new PairwiseProducts().Apply(input)));
        var customBytes = custom.ExportOnnxBytes(out var report, new OnnxExportOptions { Verify = true });
        Assert.Contains("MatMul", report.NodesByOpType.Keys);
        OnnxTestHelpers.AssertParity(custom, customBytes, 2);
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void CoreAndMergeLayersExportWithParityAtEveryOpset(int opset)
    {
        Keras.SetRandomSeed(30 + opset);
        var a = Keras.Input([2, 3], name: "a");
        var b = Keras.Input([2, 3], name: "b");
        var fa = new Flatten().Apply(new Dropout(0.3).Apply(a));
        var fb = new Flatten().Apply(b);
        Layer[] merges = [new Add(), new Subtract(), new Multiply(), new Average(), new Maximum(), new Minimum(), new Concatenate()];
        var merged = merges.Select(m => m.Apply([fa, fb])).ToList();
        var dot = new Dot(1, normalize: true).Apply([fa, fb]);
        var all = new Concatenate().Apply([.. merged, dot]);
        using var model = new Model([a, b], [new Dense(3, activation: "softmax").Apply(new Activation("tanh").Apply(all))]);
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
        Assert.DoesNotContain("Dropout", report.NodesByOpType.Keys);
        OnnxTestHelpers.AssertParity(model, bytes, 1);
        OnnxTestHelpers.AssertParity(model, bytes, 5);
    }

    [Fact]
    public void ExtraDynamicAxesBecomeNamedDimensionsThatAcceptOtherSizes()
    {
        Keras.SetRandomSeed(40);
        var input = Keras.Input([4, 3], name: "tokens");
        var dense = new Dense(2, activation: "tanh");
        using var model = new Model(input, dense.Apply(input));
        var axes = new Dictionary<string, IReadOnlyDictionary<int, string>> { ["tokens"] = new Dictionary<int, string> { [1] = "sequence" } };
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { DynamicAxes = axes });
        var g = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.Equal(new[] { "batch", "sequence", "" }, g.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimParam).ToArray());
        Assert.Equal(new[] { "batch", "sequence", "" }, g.Output[0].Type.TensorType.Shape.Dim.Select(d => d.DimParam).ToArray());
        // A sequence of 6 (the model was declared with 4) runs, and equals tanh(x W + b) computed here.
        var x = Enumerable.Range(0, 2 * 6 * 3).Select(i => (float)Math.Sin(i)).ToArray();
        var actual = OnnxTestHelpers.RunOrt(bytes, ("tokens", x, [2, 6, 3]))[0];
        var w = dense.Kernel.ToArray();
        var b = dense.Bias!.ToArray();
        Assert.Equal(2 * 6 * 2, actual.Length);
        for (int row = 0; row < 12; row++)
            for (int j = 0; j < 2; j++)
            {
                double z = b[j];
                for (int k = 0; k < 3; k++) z += x[row * 3 + k] * w[k * 2 + j];
                Assert.Equal(Math.Tanh(z), actual[row * 2 + j], 5);
            }
    }
}
