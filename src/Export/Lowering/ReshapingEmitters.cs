using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.EmitterHelpers;
using static OnnxKeras.Export.Lowering.OpEmitters;

namespace OnnxKeras.Export.Lowering;

/// <summary>Emitters of the ops in <c>Ops.Reshaping.cs</c>: ExpandDims (Unsqueeze) and Repeat (Tile).</summary>
internal sealed class ReshapingEmitters : IEmitterFamily
{
    public void Register(Dictionary<string, Emitter> table)
    {
        table[nameof(Ops.ExpandDims)] = (ctx, op, shape) =>
            ctx.Node("Unsqueeze", [op.Inputs[0], ctx.Int64s([I(op, "axis")], op.Output)], op.Output, shape, ElemType(op.DType));
        table[nameof(Ops.Repeat)] = Repeat;
    }

    /// <summary>
    /// NumPy's repeat along an axis: Tile when the axis has size 1 (RepeatVector); otherwise each entry is repeated in place
    /// by Unsqueeze, Tile and Reshape, which needs the sizes after the axis to be static.
    /// </summary>
    private static void Repeat(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var x = op.Inputs[0];
        long repeats = I(op, "repeats");
        int axis = (int)I(op, "axis");
        int elem = ElemType(op.DType);
        var input = ShapeOf(ctx, x) ?? throw new OnnxExportException($"In {op.Scope}: Repeat on a value of unknown shape.");
        int rank = input.Length;
        if (input[axis] == 1)
        {
            var reps = Enumerable.Repeat(1L, rank).ToArray();
            reps[axis] = repeats;
            ctx.Node("Tile", [x, ctx.Int64s(reps, op.Output)], op.Output, shape, elem);
            return;
        }
        if (input.Skip(axis + 1).Any(d => d is null))
            throw new OnnxExportException($"In {op.Scope}: Repeat along axis {axis} of a value of shape ({string.Join(", ", input.Select(d => d?.ToString() ?? "?"))}) " +
                "has no ONNX form here: the axis does not have size 1 and a later axis is dynamic.");
        var unsqueezed = ctx.Temp("Unsqueeze", [x, ctx.Int64s([axis + 1], op.Output)], op.Output, null, elem);
        var tileReps = Enumerable.Repeat(1L, rank + 1).ToArray();
        tileReps[axis + 1] = repeats;
        var tiled = ctx.Temp("Tile", [unsqueezed, ctx.Int64s(tileReps, op.Output)], op.Output, null, elem);
        long[] target = [.. Enumerable.Repeat(0L, axis), -1, .. input.Skip(axis + 1).Select(d => d!.Value)];
        ctx.Node("Reshape", [tiled, ctx.Int64s(target, op.Output)], op.Output, shape, elem);
    }
}
