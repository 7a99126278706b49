using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.OpEmitters;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// Emitters of the ops in <c>Ops.Masking.cs</c>: NotEqual (Not of Equal with a constant of the input's type), Any (no
/// boolean reduction before opset 20, so ReduceMax on the mask cast to float, cast back to bool) and LogicalAnd (And).
/// </summary>
internal sealed class MaskingEmitters : IEmitterFamily
{
    private const int Bool = 9;

    public void Register(Dictionary<string, Emitter> table)
    {
        table[nameof(Ops.NotEqual)] = (ctx, op, shape) =>
        {
            var dtype = Enum.Parse<ScalarType>((string)op.Attributes["input_dtype"]!);
            var constant = ctx.Initializer(ctx.Fresh($"{op.Output}_value"), tensor(D(op, "value")).to_type(dtype));
            var equal = ctx.Temp("Equal", [op.Inputs[0], constant], op.Output, shape, Bool);
            ctx.Node("Not", [equal], op.Output, shape, Bool);
        };
        table[nameof(Ops.Any)] = (ctx, op, shape) =>
        {
            long axis = I(op, "axis");
            long keep = (bool)op.Attributes["keepdims"]! ? 1 : 0;
            var asFloat = ctx.Temp("Cast", [op.Inputs[0]], op.Output, null, 1, Int("to", 1));
            var max = ctx.Opset >= 18
                ? ctx.Temp("ReduceMax", [asFloat, ctx.Int64s([axis], op.Output)], op.Output, shape, 1, Int("keepdims", keep))
                : ctx.Temp("ReduceMax", [asFloat], op.Output, shape, 1, Ints("axes", [axis]), Int("keepdims", keep));
            ctx.Node("Cast", [max], op.Output, shape, Bool, Int("to", Bool));
        };
        table[nameof(Ops.LogicalAnd)] = (ctx, op, shape) => ctx.Node("And", op.Inputs, op.Output, shape, Bool);
    }
}
