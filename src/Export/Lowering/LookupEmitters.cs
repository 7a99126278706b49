using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitContext;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// The emitter of <c>Ops.IndexLookup</c> (IntegerLookup's table): ai.onnx.ml <c>LabelEncoder</c> (int64 keys to int64
/// values with a default, from ai.onnx.ml opset 2; ONNX Runtime runs it on the CPU), then the mask as Equal + Where and the
/// hashed OOV buckets as Mod (floor mod, <c>fmod=0</c>) + Add where the lookup gave -1.
/// </summary>
internal sealed class LookupEmitters : IEmitterFamily
{
    /// <summary>The ai.onnx.ml domain, imported by the exporter at <see cref="MlOpset"/> when a node uses it.</summary>
    public const string MlDomain = "ai.onnx.ml";

    /// <summary>The ai.onnx.ml opset written: 2, the first whose LabelEncoder maps int64 to int64.</summary>
    public const int MlOpset = 2;

    private const int Bool = 9, Int64 = 7;

    public void Register(EmitterTable table)
    {
        table.Add<IndexLookupOp>(Emit);
        table.Add<EncodeCategoricalOp>(EmitEncode);
    }

    /// <summary>OneHot over the last axis (negative ids first moved out of range, as OneHot would wrap them), then
    /// ReduceMax (multi_hot) or ReduceSum (count) over the sample axis.</summary>
    private static void EmitEncode(EmitContext ctx, RecordedOp op, EncodeCategoricalOp a, long?[] shape)
    {
        string ids = op.Inputs[0];
        var inShape = ctx.Shapes[ids];
        if (a.Mode == "one_hot" && inShape.Length > 1 && inShape[^1] == 1)
            ids = ctx.Temp("Squeeze", [ids, ctx.Int64s([inShape.Length - 1], op.Output)], op.Output, inShape[..^1], Int64);
        var negative = ctx.Temp("Less", [ids, ctx.Int64s([0], op.Output)], op.Output, null, Bool);
        ids = ctx.Temp("Where", [negative, ctx.Int64s([a.Depth], op.Output), ids], op.Output, null, Int64);
        var values = ctx.Initializer(ctx.Fresh($"{op.Output}_values"), TorchSharp.torch.tensor(new float[] { 0, 1 }));
        var depth = ctx.Int64s([a.Depth], op.Output);
        if (a.Mode == "one_hot")
        {
            ctx.Node("OneHot", [ids, depth, values], op.Output, shape, 1, Int("axis", -1));
            return;
        }
        var hot = ctx.Temp("OneHot", [ids, depth, values], op.Output, null, 1, Int("axis", -1));
        EmitterHelpers.Reduce(ctx, a.Mode == "multi_hot" ? "ReduceMax" : "ReduceSum", hot, [-2], false, op.Output, op.Output, shape);
    }

    private static void Emit(EmitContext ctx, RecordedOp op, IndexLookupOp a, long?[] shape)
    {
        string x = op.Inputs[0];
        bool more = a.MaskKey is not null || a.HashedOov > 1;
        string lookedUp = more ? ctx.Fresh($"{op.Output}_table") : op.Output;
        if (a.Keys.Length == 0)
        {
            // No vocabulary: every value gets the default (LabelEncoder needs at least one key).
            var zero = ctx.Temp("Mul", [x, ctx.Int64s([0], op.Output)], op.Output, shape, Int64);
            ctx.Node("Add", [zero, ctx.Int64s([a.Default], op.Output)], lookedUp, shape, Int64);
        }
        else
        {
            ctx.Node("LabelEncoder", [x], lookedUp, shape, Int64,
                Ints("keys_int64s", a.Keys), Ints("values_int64s", a.Values), Int("default_int64", a.Default));
            ctx.Graph.Node[^1].Domain = MlDomain;
        }
        string current = lookedUp;
        if (a.MaskKey is long mask)
        {
            bool last = a.HashedOov <= 1;
            var isMask = ctx.Temp("Equal", [x, ctx.Int64s([mask], op.Output)], op.Output, shape, Bool);
            string next = last ? op.Output : ctx.Fresh($"{op.Output}_masked");
            ctx.Node("Where", [isMask, ctx.Int64s([a.MaskValue], op.Output), current], next, shape, Int64);
            current = next;
        }
        if (a.HashedOov > 1)
        {
            var missing = ctx.Temp("Equal", [current, ctx.Int64s([-1], op.Output)], op.Output, shape, Bool);
            var bucket = ctx.Temp("Mod", [x, ctx.Int64s([a.HashedOov], op.Output)], op.Output, shape, Int64, Int("fmod", 0));
            var oov = ctx.Temp("Add", [bucket, ctx.Int64s([a.OovStart], op.Output)], op.Output, shape, Int64);
            ctx.Node("Where", [missing, oov, current], op.Output, shape, Int64);
        }
    }
}
