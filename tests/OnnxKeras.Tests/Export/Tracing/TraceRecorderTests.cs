using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Export.Tracing;

/// <summary>A layer with a bug that shows only when traced: its Call throws an unrelated exception during export.</summary>
public sealed class BuggyWhenTraced : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) =>
        inputs.Tracer is null ? inputs : throw new InvalidOperationException("index bookkeeping went wrong");
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

/// <summary>A layer whose registered lowering has a bug (a KeyNotFoundException, not a missing ONNX form).</summary>
public sealed class BuggyLowering : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) => inputs;
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

/// <summary>A layer whose lowering says it has no ONNX form (NotSupportedException).</summary>
public sealed class LoweringSaysNotSupported : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) => inputs;
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

/// <summary>A custom layer that forgot to override Call (the base throws NotSupportedException).</summary>
public sealed class NoCallOverride : Layer
{
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

/// <summary>A raw TorchSharp layer no test registers a lowering for.</summary>
public sealed class RawSquareForTracing : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) => inputs.Value.square();
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}

public class TraceRecorderTests
{
    [Fact]
    public void AnUnrelatedExceptionInALayersCallSurfacesInsteadOfBeingReportedAsNoOnnxForm()
    {
        using var model = new Sequential(new InputLayer([3]), new Dense(2), new BuggyWhenTraced { Name = "buggy" }, new RawSquareForTracing { Name = "raw" });
        var e = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _));
        var inner = Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.Equal("index bookkeeping went wrong", inner.Message);
        Assert.Contains("'buggy' (BuggyWhenTraced)", e.Message);
        Assert.Contains("InvalidOperationException", e.Message);
        Assert.DoesNotContain("cannot be exported", e.Message);
        Assert.DoesNotContain("have no ONNX form", e.Message);
    }

    [Fact]
    public void AnUnrelatedExceptionInALoweringSurfaces()
    {
        OnnxExport.RegisterLowering<BuggyLowering>((layer, args) => throw new KeyNotFoundException("missing weight 'kernel'"));
        using var model = new Sequential(new InputLayer([3]), new BuggyLowering { Name = "lowered" });
        var e = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _));
        Assert.IsType<KeyNotFoundException>(e.InnerException);
        Assert.Contains("'lowered' (BuggyLowering)", e.Message);
        Assert.DoesNotContain("cannot be exported", e.Message);
    }

    [Fact]
    public void LayersWithNoOnnxFormAreStillCollectedIntoOneReport()
    {
        OnnxExport.RegisterLowering<LoweringSaysNotSupported>((layer, args) => throw new NotSupportedException("this mode has no ONNX form"));
        using var model = new Sequential(new InputLayer([3]), new LoweringSaysNotSupported { Name = "mode" }, new NoCallOverride { Name = "nocall" },
            new Dense(2), new RawSquareForTracing { Name = "raw" });
        var e = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _));
        Assert.Null(e.InnerException);
        Assert.Contains("cannot be exported: 3 layer(s) have no ONNX form", e.Message);
        Assert.Contains("mode (LoweringSaysNotSupported): this mode has no ONNX form", e.Message);
        Assert.Contains("nocall (NoCallOverride)", e.Message);
        Assert.Contains("raw (RawSquareForTracing)", e.Message);
    }
}
