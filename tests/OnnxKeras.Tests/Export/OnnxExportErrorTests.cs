using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Export;

/// <summary>A custom layer that computes with raw TorchSharp, outside Ops: it cannot be traced.</summary>
public sealed class RawCube : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) => inputs.Value.pow(3);
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

/// <summary>Another raw layer, to check every unsupported layer is listed.</summary>
public sealed class RawAbs : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) => inputs.Value.abs();
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

/// <summary>Raw layers that no test registers a lowering for (lowerings are process-wide).</summary>
public sealed class UnloweredCube : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) => inputs.Value.pow(3);
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

/// <summary>See <see cref="UnloweredCube"/>.</summary>
public sealed class UnloweredAbs : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) => inputs.Value.abs();
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

public class OnnxExportErrorTests
{
    [Fact]
    public void EveryUnsupportedLayerIsListedInOneError()
    {
        using var model = new Sequential(new InputLayer([3]), new UnloweredCube { Name = "cube" }, new Dense(2), new UnloweredAbs { Name = "absolute" });
        var e = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _));
        Assert.Contains("2 layer(s)", e.Message);
        Assert.Contains("cube (UnloweredCube)", e.Message);
        Assert.Contains("absolute (UnloweredAbs)", e.Message);
    }

    [Fact]
    public void AnExplicitLoweringMakesARawLayerExportable()
    {
        OnnxExport.RegisterLowering<RawCube>((layer, args) => [Ops.Power(args.Inputs[0], 3)]);
        OnnxExport.RegisterLowering<RawAbs>((layer, args) => [args.OnnxNode("Abs", [args.Inputs[0]], args.Inputs[0].Value.abs())]);
        using var model = new Sequential(new InputLayer([3]), new RawCube(), new Dense(2), new RawAbs());
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Verify = true });
        Assert.Contains("Pow", report.NodesByOpType.Keys);
        Assert.Contains("Abs", report.NodesByOpType.Keys);
        OnnxTestHelpers.AssertParity(model, bytes, 3);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(22)]
    public void UnsupportedOpsetsAreRejected(int opset)
    {
        using var model = new Sequential(new InputLayer([3]), new Dense(2));
        var e = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset }));
        Assert.Contains("17 to 21", e.Message);
    }

    [Fact]
    public void NameCollisionsBadDynamicAxesAndUnbuiltModelsAreRejected()
    {
        using var model = new Sequential(new InputLayer([3]) { Name = "pixels" }, new Dense(2));
        Assert.Contains("'x'", Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _, new OnnxExportOptions { InputNames = ["x"], OutputNames = ["x"] })).Message);
        var axes = new Dictionary<string, IReadOnlyDictionary<int, string>> { ["pixels"] = new Dictionary<int, string> { [3] = "seq" } };
        Assert.Contains("axis 3 does not exist", Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _, new OnnxExportOptions { DynamicAxes = axes })).Message);
        var unknownInput = new Dictionary<string, IReadOnlyDictionary<int, string>> { ["nope"] = new Dictionary<int, string> { [1] = "seq" } };
        Assert.Contains("'nope'", Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _, new OnnxExportOptions { DynamicAxes = unknownInput })).Message);
        using var unbuilt = new Sequential(new Dense(2));
        Assert.Contains("not built", Assert.Throws<OnnxExportException>(() => unbuilt.ExportOnnxBytes(out _)).Message);
    }

    [Fact]
    public void FailedExportLeavesNoPartialFileAndKeepsThePreviousOne()
    {
        var dir = Directory.CreateTempSubdirectory("onnxkeras-export-");
        try
        {
            using var good = new Sequential(new InputLayer([3]), new Dense(2));
            var target = Path.Combine(dir.FullName, "model.onnx");
            good.ExportOnnx(target);
            var before = File.ReadAllBytes(target);
            using var bad = new Sequential(new InputLayer([3]), new UnloweredCube { Name = "raw_layer" });
            Assert.Throws<OnnxExportException>(() => bad.ExportOnnx(target));
            Assert.Equal(before, File.ReadAllBytes(target));
            Assert.Single(Directory.GetFiles(dir.FullName));
            Assert.Throws<DirectoryNotFoundException>(() => good.ExportOnnx(Path.Combine(dir.FullName, "missing", "model.onnx")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

public class OnnxExternalDataTests
{
    [Fact]
    public void PathAndByteExportShareOneInlineLimit()
    {
        // Protobuf caps one message at 2^31 - 1 bytes; 1 MiB of that is left for the graph: 2^31 - 2^20 = 2,146,435,072.
        const long limit = 2_146_435_072;
        Assert.Equal(limit, OnnxExportOptions.MaxInlineWeightBytes);
        Assert.True(OnnxExportOptions.FitsInline(limit));
        Assert.False(OnnxExportOptions.FitsInline(limit + 1));
        var defaults = new OnnxExportOptions();
        Assert.False(defaults.UsesExternalData(limit));
        // Just under 2^31 bytes: too large to stay inline (the file could not be written), so external data.
        Assert.True(defaults.UsesExternalData(limit + 1));
        Assert.True(defaults.UsesExternalData((1L << 31) - 1));
        Assert.True(defaults.UsesExternalData(1L << 31));
        // A lower threshold moves smaller weights out; a higher one cannot keep weights above the limit inline.
        var low = new OnnxExportOptions { ExternalDataThreshold = 1024 };
        Assert.False(low.UsesExternalData(1024));
        Assert.True(low.UsesExternalData(1025));
        var high = new OnnxExportOptions { ExternalDataThreshold = long.MaxValue };
        Assert.False(high.UsesExternalData(limit));
        Assert.True(high.UsesExternalData(limit + 1));
    }

    [Fact]
    public void LargeWeightsGoToAnExternalDataFileThatOnnxRuntimeLoads()
    {
        var dir = Directory.CreateTempSubdirectory("onnxkeras-external-");
        try
        {
            Keras.SetRandomSeed(5);
            using var model = new Sequential(new InputLayer([64]), new Dense(32, activation: "relu"), new Dense(4));
            var path = Path.Combine(dir.FullName, "big.onnx");
            // A threshold below the weights' size (64*32 + 32 + 32*4 + 4 floats) stands in for the 2 GB protobuf limit.
            var report = model.ExportOnnx(path, new OnnxExportOptions { ExternalDataThreshold = 1024, Verify = true });
            Assert.Equal(path + ".data", report.ExternalDataPath);
            // Tensors of 1 KB and more move out (the 64x32 kernel: 8,192 bytes); smaller ones stay inline, as onnx's own
            // convert_model_to_external_data does with its default size_threshold of 1024.
            Assert.Equal(64 * 32 * 4, new FileInfo(path + ".data").Length);
            Assert.True(new FileInfo(path).Length < 4096, $"the model file keeps only the graph; it has {new FileInfo(path).Length} bytes");
            var parsed = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            var kernel = parsed.Graph.Initializer.Single(t => t.Dims.SequenceEqual(new long[] { 64, 32 }));
            Assert.Equal(Onnx.TensorProto.Types.DataLocation.External, kernel.DataLocation);
            Assert.Equal("big.onnx.data", kernel.ExternalData.Single(e => e.Key == "location").Value);
            Assert.True(report.MaxAbsDifference <= 1e-5, $"max diff {report.MaxAbsDifference}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
