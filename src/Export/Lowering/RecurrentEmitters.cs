using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.OpEmitters;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// Emitters of the ops in <c>Ops.Recurrent.cs</c> (indexing, slicing, stacking, reversing along an axis, zero states), used
/// when a recurrent computation is traced step by step (the recurrent layers themselves lower to ONNX LSTM / GRU / RNN).
/// </summary>
internal sealed class RecurrentEmitters : IEmitterFamily
{
    public void Register(Dictionary<string, Emitter> table)
    {
        table[nameof(Ops.SelectAlong)] = (ctx, op, shape) =>
        {
            var index = ctx.Initializer(ctx.Fresh($"{op.Output}_index"), tensor(I(op, "index")));
            ctx.Node("Gather", [op.Inputs[0], index], op.Output, shape, ElemType(op.DType), Int("axis", I(op, "axis")));
        };
        table[nameof(Ops.NarrowAlong)] = (ctx, op, shape) => Slice(ctx, op, shape, I(op, "start"), I(op, "start") + I(op, "length"));
        table[nameof(Ops.SplitAlong)] = (ctx, op, shape) => Slice(ctx, op, shape, I(op, "start"), I(op, "start") + I(op, "length"));
        table[nameof(Ops.ReverseAlong)] = (ctx, op, shape) => Slice(ctx, op, shape, -1, long.MinValue, -1);
        table[nameof(Ops.StackAlong)] = (ctx, op, shape) =>
        {
            long axis = I(op, "axis");
            var axes = ctx.Int64s([axis], op.Output);
            var parts = op.Inputs.Select(i => ctx.Temp("Unsqueeze", [i, axes], op.Output, null, ElemType(op.DType))).ToArray();
            ctx.Node("Concat", parts, op.Output, shape, ElemType(op.DType), Int("axis", axis));
        };
        // [batch, units] zeros: ConstantOfShape (float32 zeros by default) of Concat(Shape(like)[0:1], [units]).
        table[nameof(Ops.ZeroState)] = (ctx, op, shape) =>
        {
            var batch = ctx.Temp("Shape", [op.Inputs[0]], op.Output, [1], 7, Int("start", 0), Int("end", 1));
            var dims = ctx.Temp("Concat", [batch, ctx.Int64s([I(op, "units")], op.Output)], op.Output, [2], 7, Int("axis", 0));
            ctx.Node("ConstantOfShape", [dims], op.Output, shape);
        };
    }

    private static void Slice(EmitContext ctx, RecordedOp op, long?[] shape, long start, long end, long step = 1)
    {
        string[] inputs = [op.Inputs[0], ctx.Int64s([start], op.Output), ctx.Int64s([end], op.Output), ctx.Int64s([I(op, "axis")], op.Output),
            .. step == 1 ? [] : new[] { ctx.Int64s([step], op.Output) }];
        ctx.Node("Slice", inputs, op.Output, shape, ElemType(op.DType));
    }
}
