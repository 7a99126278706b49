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
    public void KerasFileExportsToOnnxWithParity(string name)
    {
        var dir = FixturesDir();
        var path = dir is null ? null : Path.Combine(dir, name);
        if (path is null || !File.Exists(path))
        {
            output.WriteLine($"SKIPPED: fixture {name} not found (expected in ../shared/fixtures/keras next to the repository).");
            return;
        }
        using var model = Model.LoadModel(path);
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Verify = true });
        output.WriteLine($"{name}: {report}");
        if (name == "dl4j_embedding_lstm_tensorflow_2.h5") return; // ONNX's LSTM adds a zero recurrent bias; inputs are indices
        Assert.Equal(model.CountParams(), report.ParameterCount + FoldedParameters(model));
        OnnxTestHelpers.AssertParity(model, bytes, 2);
    }

    /// <summary>BatchNormalization's four vectors fold into two in the exported graph (Mul and Add constants).</summary>
    private static long FoldedParameters(Model model) =>
        model.Layers.OfType<OnnxKeras.Layers.BatchNormalization>().Sum(bn => bn.Weights.Sum(w => w.Size) - 2 * bn.Weights[0].Size);
}
