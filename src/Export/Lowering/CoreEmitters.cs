using static OnnxKeras.Export.Lowering.EmitContext;

namespace OnnxKeras.Export.Lowering;

/// <summary>Emitters of the ops in <c>Ops.Core.cs</c>: Cast and Slice (Unstack is traced as Takes).</summary>
internal sealed class CoreEmitters : IEmitterFamily
{
    public void Register(EmitterTable table)
    {
        table.Add<CastOp>((ctx, op, a, shape) => ctx.Node("Cast", op.Inputs, op.Output, shape, ElemType(a.DType), Int("to", ElemType(a.DType))));
        table.Add<SliceOp>((ctx, op, a, shape) =>
        {
            // Only the axes that are cut: a start of 0 with size -1 keeps the whole axis.
            var axes = Enumerable.Range(0, a.Starts.Length).Where(i => a.Starts[i] != 0 || a.Sizes[i] != -1).ToArray();
            if (axes.Length == 0)
            {
                ctx.Node("Identity", op.Inputs, op.Output, shape, ElemType(op.DType));
                return;
            }
            var starts = axes.Select(i => a.Starts[i]).ToArray();
            var ends = axes.Select(i => a.Sizes[i] == -1 ? long.MaxValue : a.Starts[i] + a.Sizes[i]).ToArray();
            ctx.Node("Slice",
                [op.Inputs[0], ctx.Int64s(starts, op.Output), ctx.Int64s(ends, op.Output), ctx.Int64s(axes.Select(i => (long)i).ToArray(), op.Output)],
                op.Output, shape, ElemType(op.DType));
        });
    }
}
