using OnnxKeras.Export;
using OnnxKeras.Export.Lowering;
using OnnxKeras.Export.Tracing;
using Xunit;

namespace OnnxKeras.Tests.Export;

/// <summary>
/// The contract between ops and their ONNX emitters: every op record type (every non-abstract <see cref="OpInfo"/> in the
/// Training and Export assemblies) has an emitter at every opset the exporter supports, and the per-opset variants of
/// <see cref="EmitterTable"/> pick the emitter that covers the opset.
/// </summary>
public class OpContractTests
{
    private sealed record NoEmitterOp : OpInfo;

    private sealed record VersionedOp : OpInfo;

    private static readonly int[] SupportedOpsets =
        Enumerable.Range(OnnxExportOptions.MinOpset, OnnxExportOptions.MaxOpset - OnnxExportOptions.MinOpset + 1).ToArray();

    private static List<Type> OpRecordTypes() =>
        new[] { typeof(OpInfo).Assembly, typeof(OnnxExport).Assembly }
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsSubclassOf(typeof(OpInfo)) && !t.IsAbstract)
            .ToList();

    [Fact]
    public void EveryOpRecordHasAnEmitterAtEverySupportedOpset()
    {
        var types = OpRecordTypes();
        // The enumeration sees the records (Ops has about 75 of them), including those named in the issue and the raw ONNX nodes.
        Assert.True(types.Count >= 70, $"only {types.Count} op records found");
        foreach (var expected in new[] { typeof(SoftmaxOp), typeof(SliceOp), typeof(TakeIndexOp), typeof(ConvOp), typeof(OnnxNodeOp), typeof(UnsupportedOp) })
            Assert.Contains(expected, types);
        var missing = (from t in types from opset in SupportedOpsets where !OpEmitters.Table.Covers(t, opset) select $"{t.Name} at opset {opset}").ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void EveryOpRecordIsSealedAndNamedForItsOp()
    {
        foreach (var t in OpRecordTypes())
        {
            Assert.True(t.IsSealed, $"{t.Name} is not sealed");
            Assert.EndsWith("Op", t.Name);
        }
    }

    [Fact]
    public void AnOpWithoutAnEmitterIsNotCoveredAndFailsToEmitWithItsName()
    {
        Assert.All(SupportedOpsets, opset => Assert.False(OpEmitters.Table.Covers(typeof(NoEmitterOp), opset)));
        var ctx = new EmitContext(17, new Dictionary<string, long?[]>(), new Dictionary<string, TorchSharp.torch.Tensor>());
        var op = new RecordedOp(new NoEmitterOp(), ["x"], "layer/NoEmitter", [2], TorchSharp.torch.ScalarType.Float32, "layer");
        var e = Assert.Throws<OnnxExportException>(() => OpEmitters.Emit(ctx, op, [2]));
        Assert.Contains("'NoEmitter'", e.Message);
        Assert.Contains("opset 17", e.Message);
    }

    [Fact]
    public void AVersionedEmitterCoversFromItsOpsetUntilTheNextVersion()
    {
        var table = new EmitterTable();
        var used = new List<string>();
        table.Add<VersionedOp>((_, _, _, _) => used.Add("v18"), fromOpset: 18);
        table.Add<VersionedOp>((_, _, _, _) => used.Add("v20"), fromOpset: 20);
        Assert.False(table.Covers(typeof(VersionedOp), 17));
        Assert.All(new[] { 18, 19, 20, 21 }, opset => Assert.True(table.Covers(typeof(VersionedOp), opset)));
        foreach (var opset in SupportedOpsets.Skip(1))
        {
            var ctx = new EmitContext(opset, new Dictionary<string, long?[]>(), new Dictionary<string, TorchSharp.torch.Tensor>());
            table.Emit(ctx, new RecordedOp(new VersionedOp(), [], "v", [], TorchSharp.torch.ScalarType.Float32, ""), []);
        }
        Assert.Equal(new[] { "v18", "v18", "v20", "v20" }, used);
        Assert.Throws<InvalidOperationException>(() => table.Add<VersionedOp>((_, _, _, _) => { }, fromOpset: 20));
    }

    [Theory]
    [InlineData(19, "Erf")]
    [InlineData(20, "Gelu")]
    public void GeluHasAFormulaBeforeOpset20AndTheOpFromIt(int opset, string expectedOpType)
    {
        var ctx = new EmitContext(opset, new Dictionary<string, long?[]>(), new Dictionary<string, TorchSharp.torch.Tensor>());
        OpEmitters.Emit(ctx, new RecordedOp(new GeluOp(false), ["x"], "y", [2], TorchSharp.torch.ScalarType.Float32, ""), [2]);
        Assert.Contains(ctx.Graph.Node, n => n.OpType == expectedOpType);
        Assert.Equal(opset >= 20 ? 1 : 5, ctx.Graph.Node.Count);
    }
}
