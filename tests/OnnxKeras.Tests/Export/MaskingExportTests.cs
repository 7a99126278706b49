using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Export;

/// <summary>
/// Export of masked models: Masking and Embedding(mask_zero) masks, and the recurrent layers that consume them traced step by
/// step (ONNX's RNN ops take sequence lengths, not masks of arbitrary timesteps). Parity is checked on inputs whose masks
/// skip timesteps at the start, in the middle, at the end and everywhere.
/// </summary>
public class MaskingExportTests
{
    private static byte[] Export(Model model, int opset)
    {
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
        Assert.Equal(opset, report.Opset);
        return bytes;
    }

    /// <summary>[4, 5, 3] inputs with masked (all mask-value) timesteps: sample 0 none, 1 the first and third, 2 the last two, 3 all.</summary>
    private static Tensor MaskedInputs(double maskValue)
    {
        var x = rand([4, 5, 3], ScalarType.Float32, generator: new Generator(21)) * 2 - 1;
        foreach (var (b, t) in new[] { (1, 0), (1, 2), (2, 3), (2, 4), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4) }) x[b, t].fill_(maskValue);
        return x;
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void MaskedRecurrentLayersExportWithParity(int opset)
    {
        Keras.SetRandomSeed(opset);
        var input = Keras.Input([5, 3]);
        var masked = new Masking(0.25).Apply(input);
        var h = new Dense(4, activation: "tanh").Apply(masked);
        KTensor[] outputs =
        [
            new LSTM(3).Apply(h),
            new LSTM(2, returnSequences: true, zeroOutputForMask: true).Apply(h),
            new GRU(3, returnSequences: true, goBackwards: true).Apply(h),
            new SimpleRNN(2, returnSequences: true).Apply(new Bidirectional(new GRU(2, returnSequences: true), "sum").Apply(h)),
            masked,
        ];
        using var model = new Model([input], outputs);
        var bytes = Export(model, opset);
        var g = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.DoesNotContain(g.Node, n => n.OpType is "RNN" or "GRU" or "LSTM");
        foreach (var op in new[] { "Equal", "Not", "ReduceMax", "Where" }) Assert.Contains(g.Node, n => n.OpType == op);
        OnnxTestHelpers.AssertParityOn(model, bytes, MaskedInputs(0.25));
        OnnxTestHelpers.AssertParity(model, bytes, 2); // random inputs: nothing masked
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void EmbeddingMaskZeroExportsWithParity(int opset)
    {
        Keras.SetRandomSeed(opset + 100);
        using var model = new Sequential(new InputLayer([6]), new Embedding(5, 3, maskZero: true), new GRU(2, returnSequences: true), new LSTM(2));
        var bytes = Export(model, opset);
        OnnxTestHelpers.AssertParityOn(model, bytes, tensor(new float[] { 1, 2, 3, 4, 1, 2, /**/ 0, 0, 4, 0, 2, 0, /**/ 3, 1, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0 }, [4, 6]));
    }

    [Fact]
    public void UnmaskedRecurrentLayersStillLowerToOnnxRnnOps()
    {
        using var model = new Sequential(new InputLayer([5, 3]), new LSTM(2));
        var g = Onnx.ModelProto.Parser.ParseFrom(model.ExportOnnxBytes(out _)).Graph;
        Assert.Contains(g.Node, n => n.OpType == "LSTM");
    }
}
