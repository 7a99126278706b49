using OnnxKeras.Export;
using OnnxKeras.Models;
using OnnxKeras.Tests.Export;
using Xunit;
using Xunit.Abstractions;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>Models written by Python Keras become ONNX files without Python: load, export, and compare ONNX Runtime with TorchSharp.</summary>
public class KerasFixtureExportTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("flownet_final_model.keras")]
    [InlineData("dl4j_cnn_batch_norm.h5")]
    [InlineData("fer2013_mini_XCEPTION.102-0.66.hdf5")]
    [InlineData("dl4j_embedding_lstm_tensorflow_2.h5")]
    [InlineData("dl4j_simple_lstm_tf_keras_2_model.h5")]
    public void KerasFileExportsToOnnxWithParity(string name)
    {
        var path = Fixture(name);
        using var model = Model.LoadModel(path);
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Verify = true });
        output.WriteLine($"{name}: {report}");
        if (name.StartsWith("dl4j_", StringComparison.Ordinal) && name.Contains("_lstm_", StringComparison.Ordinal))
        {
            // Keras 2 LSTMs (recurrent activation hard_sigmoid = clip(0.2x + 0.5, 0, 1)) become one ONNX LSTM node, not a step-by-step trace.
            var graph = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
            var lstm = Assert.Single(graph.Node, n => n.OpType == "LSTM");
            Assert.Equal("HardSigmoid", lstm.Attribute.Single(a => a.Name == "activations").Strings[0].ToStringUtf8());
            Assert.Equal(new[] { 0.2f }, lstm.Attribute.Single(a => a.Name == "activation_alpha").Floats.ToArray());
        }
        if (name == "dl4j_embedding_lstm_tensorflow_2.h5") return; // ONNX's LSTM adds a zero recurrent bias; inputs are indices
        // ONNX's LSTM adds a zero recurrent bias, so the parameter counts differ there.
        if (!name.Contains("_lstm_", StringComparison.Ordinal)) Assert.Equal(model.CountParams(), report.ParameterCount + FoldedParameters(model));
        OnnxTestHelpers.AssertParity(model, bytes, 2);
    }

    /// <summary>BatchNormalization's four vectors fold into two in the exported graph (Mul and Add constants).</summary>
    private static long FoldedParameters(Model model) =>
        model.Layers.OfType<OnnxKeras.Layers.BatchNormalization>().Sum(bn => bn.Weights.Sum(w => w.Size) - 2 * bn.Weights[0].Size);
}
