using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.EmitterHelpers;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// Emitters of the ops in <c>Ops.Numpy.cs</c>: arithmetic and math (one ONNX node each, or a constant operand), masks
/// (NotEqual as Not of Equal with a constant of the input's type; Any as ReduceMax of the mask cast to float, since ONNX has
/// no boolean reduction before opset 20), reductions, and shapes (Reshape, Transpose, Unsqueeze, Tile, Gather, Slice, Concat).
/// </summary>
internal sealed class NumpyEmitters : IEmitterFamily
{
    private const int Bool = 9, Int64 = 7;

    public void Register(EmitterTable table)
    {
        table.Add(Simple<AddOp>("Add"));
        table.Add(Simple<SubtractOp>("Sub"));
        table.Add(Simple<MultiplyOp>("Mul"));
        table.Add(Simple<DivideOp>("Div"));
        table.Add(Simple<MaximumOp>("Max"));
        table.Add(Simple<MinimumOp>("Min"));
        table.Add(Simple<MatMulOp>("MatMul"));
        table.Add<EinsumOp>((ctx, op, a, shape) =>
            ctx.Node("Einsum", op.Inputs, op.Output, shape, ElemType(op.DType), String("equation", a.Equation)));
        table.Add(Simple<NegativeOp>("Neg"));
        table.Add(Simple<AbsOp>("Abs"));
        table.Add(Simple<SqrtOp>("Sqrt"));
        table.Add(Simple<ExpOp>("Exp"));
        table.Add(Simple<LogOp>("Log"));
        table.Add(Simple<SignOp>("Sign"));
        table.Add(Simple<TanhOp>("Tanh"));
        table.Add(Simple<WhereOp>("Where"));
        table.Add<SquareOp>((ctx, op, _, shape) => ctx.Node("Mul", [op.Inputs[0], op.Inputs[0]], op.Output, shape));
        table.Add<MultiplyScalarOp>((ctx, op, a, shape) => ctx.Node("Mul", [op.Inputs[0], ctx.ScalarFloat(a.Scalar, op.Output)], op.Output, shape));
        table.Add<AddScalarOp>((ctx, op, a, shape) => ctx.Node("Add", [op.Inputs[0], ctx.ScalarFloat(a.Scalar, op.Output)], op.Output, shape));
        table.Add<PowerOp>((ctx, op, a, shape) => ctx.Node("Pow", [op.Inputs[0], ctx.ScalarFloat(a.Exponent, op.Output)], op.Output, shape));
        table.Add<Log1pOp>((ctx, op, _, shape) =>
            ctx.Node("Log", [ctx.Temp("Add", [op.Inputs[0], ctx.ScalarFloat(1, op.Output)], op.Output, shape)], op.Output, shape));
        table.Add<ClipOp>((ctx, op, a, shape) => ctx.Node("Clip",
            [op.Inputs[0], ctx.ScalarFloat(Math.Max(a.Min, float.MinValue), op.Output), ctx.ScalarFloat(Math.Min(a.Max, float.MaxValue), op.Output)],
            op.Output, shape));

        table.Add<NotEqualOp>((ctx, op, a, shape) =>
        {
            var constant = ctx.Initializer(ctx.Fresh($"{op.Output}_value"), tensor(a.Value).to_type(a.InputDType));
            var equal = ctx.Temp("Equal", [op.Inputs[0], constant], op.Output, shape, Bool);
            ctx.Node("Not", [equal], op.Output, shape, Bool);
        });
        table.Add<AnyOp>((ctx, op, a, shape) =>
        {
            var asFloat = ctx.Temp("Cast", [op.Inputs[0]], op.Output, null, 1, Int("to", 1));
            var max = Reduce(ctx, "ReduceMax", asFloat, [a.Axis], a.KeepDims, op.Output, shape: shape);
            ctx.Node("Cast", [max], op.Output, shape, Bool, Int("to", Bool));
        });
        table.Add(Simple<LogicalAndOp>("And"));
        table.Add(Simple<GreaterEqualOp>("GreaterOrEqual"));

        table.Add<SumOp>((ctx, op, a, shape) => ReduceAxis(ctx, "ReduceSum", op, a.Axis, a.KeepDims, shape));
        table.Add<MeanOp>((ctx, op, a, shape) => ReduceAxis(ctx, "ReduceMean", op, a.Axis, a.KeepDims, shape));
        table.Add<MaxOp>((ctx, op, a, shape) => ReduceAxis(ctx, "ReduceMax", op, a.Axis, a.KeepDims, shape));
        table.Add<MinOp>((ctx, op, a, shape) => ReduceAxis(ctx, "ReduceMin", op, a.Axis, a.KeepDims, shape));
        table.Add<ArgMaxOp>((ctx, op, a, shape) => ctx.Node("ArgMax", op.Inputs, op.Output, shape, Int64, Int("axis", a.Axis), Int("keepdims", 0)));

        table.Add<ReshapeOp>((ctx, op, a, shape) => ctx.Node("Reshape", [op.Inputs[0], ctx.Int64s(a.Shape, op.Output)], op.Output, shape));
        table.Add<FlattenOp>((ctx, op, _, shape) => ctx.Node("Flatten", op.Inputs, op.Output, shape, 1, Int("axis", 1)));
        table.Add<TransposeOp>((ctx, op, a, shape) => ctx.Node("Transpose", op.Inputs, op.Output, shape, 1, Ints("perm", a.Perm)));
        table.Add<ConcatenateOp>((ctx, op, a, shape) => ctx.Node("Concat", op.Inputs, op.Output, shape, 1, Int("axis", a.Axis)));
        table.Add<ExpandDimsOp>((ctx, op, a, shape) =>
            ctx.Node("Unsqueeze", [op.Inputs[0], ctx.Int64s([a.Axis], op.Output)], op.Output, shape, ElemType(op.DType)));
        table.Add<RepeatOp>(Repeat);
        table.Add<TakeOp>((ctx, op, a, shape) =>
        {
            var indices = ctx.Temp("Cast", [op.Inputs[1]], op.Output, ShapeOf(ctx, op.Inputs[1]), Int64, Int("to", Int64));
            ctx.Node("Gather", [op.Inputs[0], indices], op.Output, shape, ElemType(op.DType), Int("axis", a.Axis));
        });
        table.Add<TakeIndexOp>((ctx, op, a, shape) =>
        {
            var index = ctx.Initializer(ctx.Fresh($"{op.Output}_index"), tensor(a.Index));
            ctx.Node("Gather", [op.Inputs[0], index], op.Output, shape, ElemType(op.DType), Int("axis", a.Axis));
        });
        table.Add<SplitOp>((ctx, op, a, shape) => Slice(ctx, op, shape, a.Axis, a.Start, a.Start + a.Length));
        table.Add<FlipOp>((ctx, op, a, shape) => Slice(ctx, op, shape, a.Axis, -1, long.MinValue, -1));
        table.Add<StackOp>((ctx, op, a, shape) =>
        {
            var axes = ctx.Int64s([a.Axis], op.Output);
            var parts = op.Inputs.Select(i => ctx.Temp("Unsqueeze", [i, axes], op.Output, null, ElemType(op.DType))).ToArray();
            ctx.Node("Concat", parts, op.Output, shape, ElemType(op.DType), Int("axis", a.Axis));
        });
    }

    /// <summary>A reduction over one axis, or over all axes (to a scalar) when the axis is null.</summary>
    private static void ReduceAxis(EmitContext ctx, string onnx, RecordedOp op, int? axis, bool keepDims, long?[] shape) =>
        Reduce(ctx, onnx, op.Inputs[0], axis is int a ? [a] : null, axis is not null && keepDims, op.Output, op.Output, shape);

    /// <summary>One ONNX Slice along <paramref name="axis"/>.</summary>
    internal static void Slice(EmitContext ctx, RecordedOp op, long?[] shape, long axis, long start, long end, long step = 1)
    {
        string[] inputs = [op.Inputs[0], ctx.Int64s([start], op.Output), ctx.Int64s([end], op.Output), ctx.Int64s([axis], op.Output),
            .. step == 1 ? [] : new[] { ctx.Int64s([step], op.Output) }];
        ctx.Node("Slice", inputs, op.Output, shape, ElemType(op.DType));
    }

    /// <summary>
    /// NumPy's repeat along an axis: Tile when the axis has size 1 (RepeatVector); otherwise each entry is repeated in place
    /// by Unsqueeze, Tile and Reshape, which needs the sizes after the axis to be static.
    /// </summary>
    private static void Repeat(EmitContext ctx, RecordedOp op, RepeatOp a, long?[] shape)
    {
        var x = op.Inputs[0];
        long repeats = a.Repeats;
        int axis = a.Axis;
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
            throw new OnnxExportException(
                $"In {op.Scope}: Repeat along axis {axis} of a value of shape ({string.Join(", ", input.Select(d => d?.ToString() ?? "?"))}) " +
                "has no ONNX form here: the axis does not have size 1 and a later axis is dynamic.");
        var unsqueezed = ctx.Temp("Unsqueeze", [x, ctx.Int64s([axis + 1], op.Output)], op.Output, null, elem);
        var tileReps = Enumerable.Repeat(1L, rank + 1).ToArray();
        tileReps[axis + 1] = repeats;
        var tiled = ctx.Temp("Tile", [unsqueezed, ctx.Int64s(tileReps, op.Output)], op.Output, null, elem);
        long[] target = [.. Enumerable.Repeat(0L, axis), -1, .. input.Skip(axis + 1).Select(d => d!.Value)];
        ctx.Node("Reshape", [tiled, ctx.Int64s(target, op.Output)], op.Output, shape, elem);
    }
}
