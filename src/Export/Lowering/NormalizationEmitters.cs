using OnnxKeras.Export.Tracing;
using TorchSharp;
using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.EmitterHelpers;
using static OnnxKeras.Export.Lowering.OpEmitters;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// Emitters of the ops in <c>Ops.Normalization.cs</c>: moments, batch and layer normalization, the generalized ReLU,
/// PReLU, softmax over several axes and Take (Embedding).
/// </summary>
internal sealed class NormalizationEmitters : IEmitterFamily
{
    public void Register(Dictionary<string, Emitter> table)
    {
        table[nameof(Ops.Moments) + "Mean"] = (ctx, op, shape) =>
            Reduce(ctx, "ReduceMean", 18, op.Inputs[0], Longs(op, "axes"), Bool(op, "keepdims"), op.Output, op.Output, shape);
        table[nameof(Ops.Moments) + "Variance"] = MomentsVariance;
        table[nameof(Ops.BatchNormalization)] = BatchNormalization;
        table[nameof(Ops.LayerNormalization)] = LayerNormalization;
        table[nameof(Ops.Relu) + "Extended"] = ReluExtended;
        table[nameof(Ops.Prelu)] = (ctx, op, shape) => ctx.Node("PRelu", op.Inputs, op.Output, shape);
        table[nameof(Ops.Softmax) + "Axes"] = SoftmaxAxes;
        table[nameof(Ops.Take)] = (ctx, op, shape) =>
        {
            var indices = ctx.Temp("Cast", [op.Inputs[1]], op.Output, ShapeOf(ctx, op.Inputs[1]), 7, Int("to", 7));
            ctx.Node("Gather", [op.Inputs[0], indices], op.Output, shape, ElemType(op.DType), Int("axis", I(op, "axis")));
        };
    }

    /// <summary>Biased variance: mean((x - mean(x))^2) over the axes.</summary>
    private static void MomentsVariance(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var axes = Longs(op, "axes");
        var x = op.Inputs[0];
        var mean = Reduce(ctx, "ReduceMean", 18, x, axes, true, op.Output);
        var centered = ctx.Temp("Sub", [x, mean], op.Output, ShapeOf(ctx, x));
        var squared = ctx.Temp("Mul", [centered, centered], op.Output, ShapeOf(ctx, x));
        Reduce(ctx, "ReduceMean", 18, squared, axes, Bool(op, "keepdims"), op.Output, op.Output, shape);
    }

    /// <summary>
    /// Inference batch normalization. With constant statistics and parameters (the layer at inference) it folds to
    /// <c>x * a + b</c> with <c>a = gamma / sqrt(var + eps)</c> and <c>b = beta - mean * a</c> computed here (Mul, Add);
    /// otherwise the formula with the vectors reshaped to broadcast along the axis.
    /// </summary>
    private static void BatchNormalization(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        int axis = (int)I(op, "axis");
        double epsilon = D(op, "epsilon");
        bool hasOffset = Bool(op, "has_offset"), hasScale = Bool(op, "has_scale");
        string x = op.Inputs[0], mean = op.Inputs[1], variance = op.Inputs[2];
        string? offset = hasOffset ? op.Inputs[3] : null;
        string? scale = hasScale ? op.Inputs[hasOffset ? 4 : 3] : null;
        // Broadcast shape from the axis on: [C, 1, ..., 1] (NumPy broadcasting aligns trailing dims).
        var broadcast = new long[shape.Length - axis];
        Array.Fill(broadcast, 1L);
        broadcast[0] = -1;
        string[] vectors = [mean, variance, .. offset is null ? [] : new[] { offset }, .. scale is null ? [] : new[] { scale }];
        if (vectors.All(ctx.Constants.ContainsKey))
        {
            using var _ = NewDisposeScope();
            Tensor V(string name) => ctx.Constants[name].to_type(ScalarType.Float64).flatten();
            var a = (V(variance) + epsilon).rsqrt();
            if (scale is not null) a = a * V(scale);
            var b = -V(mean) * a;
            if (offset is not null) b = b + V(offset);
            var aName = ctx.Initializer(ctx.Fresh($"{op.Output}_scale"), a.to_type(ScalarType.Float32).reshape(broadcast));
            var bName = ctx.Initializer(ctx.Fresh($"{op.Output}_shift"), b.to_type(ScalarType.Float32).reshape(broadcast));
            ctx.Node("Add", [ctx.Temp("Mul", [x, aName], op.Output, shape), bName], op.Output, shape);
            return;
        }
        var target = ctx.Int64s(broadcast, op.Output);
        string Vec(string name) => ctx.Temp("Reshape", [name, target], op.Output);
        var inv = ctx.Temp("Reciprocal", [ctx.Temp("Sqrt", [ctx.Temp("Add", [Vec(variance), ctx.ScalarFloat(epsilon, op.Output)], op.Output)], op.Output)], op.Output);
        if (scale is not null) inv = ctx.Temp("Mul", [inv, Vec(scale)], op.Output);
        var centered = ctx.Temp("Sub", [x, Vec(mean)], op.Output, shape);
        if (offset is null)
        {
            ctx.Node("Mul", [centered, inv], op.Output, shape);
            return;
        }
        ctx.Node("Add", [ctx.Temp("Mul", [centered, inv], op.Output, shape), Vec(offset)], op.Output, shape);
    }

    /// <summary>
    /// ONNX LayerNormalization (opset 17) over the trailing axes; other axes are moved to the end by a Transpose and back.
    /// Scale is required by ONNX: ones without gamma. Keras's rms_scaling has no ONNX form here.
    /// </summary>
    private static void LayerNormalization(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        if (Bool(op, "rms_scaling"))
            throw new OnnxExportException($"In {op.Scope}: LayerNormalization with rms_scaling=True cannot be exported: ONNX's LayerNormalization always centers the input, and the exporter has no RMS form. Use rms_scaling=False for an exportable model.");
        var axes = Longs(op, "axes");
        int rank = shape.Length, k = axes.Length;
        bool hasGamma = Bool(op, "has_gamma"), hasBeta = Bool(op, "has_beta");
        string x = op.Inputs[0];
        string? gamma = hasGamma ? op.Inputs[1] : null;
        string? beta = hasBeta ? op.Inputs[hasGamma ? 2 : 1] : null;
        var dims = axes.Select(a => shape[a] ?? throw new OnnxExportException(
            $"In {op.Scope}: LayerNormalization over axis {a}, whose size is dynamic; ONNX LayerNormalization needs a scale of known shape.")).ToArray();
        bool trailing = axes.Select((a, i) => a == rank - k + i).All(b => b);
        long[] perm = trailing ? [] : [.. Enumerable.Range(0, rank).Select(i => (long)i).Where(i => !axes.Contains(i)), .. axes];
        long?[] inner = trailing ? shape : perm.Select(p => shape[p]).ToArray();

        string Parameter(string? name, float fill, string suffix)
        {
            if (name is null) return ctx.Initializer(ctx.Fresh($"{op.Output}_{suffix}"), full(dims, fill, ScalarType.Float32));
            if (ctx.Constants.TryGetValue(name, out var value)) return ctx.Initializer(ctx.Fresh($"{op.Output}_{suffix}"), value.reshape(dims));
            return ctx.Temp("Reshape", [name, ctx.Int64s(dims, op.Output)], op.Output);
        }
        string input = trailing ? x : ctx.Temp("Transpose", [x], op.Output, inner, 1, Ints("perm", perm));
        string[] inputs = [input, Parameter(gamma, 1f, "scale"), .. beta is null ? [] : new[] { Parameter(beta, 0f, "bias") }];
        var attributes = new[] { Int("axis", rank - k), Float("epsilon", D(op, "epsilon")) };
        if (trailing)
        {
            ctx.Node("LayerNormalization", inputs, op.Output, shape, 1, attributes);
            return;
        }
        var normalized = ctx.Temp("LayerNormalization", inputs, op.Output, inner, 1, attributes);
        var inverse = new long[rank];
        for (int i = 0; i < rank; i++) inverse[perm[i]] = i;
        ctx.Node("Transpose", [normalized], op.Output, shape, 1, Ints("perm", inverse));
    }

    /// <summary>
    /// Keras's relu with max_value / threshold / negative_slope: Clip for max_value alone, else
    /// <c>clip(where(x &gt; t, x, 0), 0, max) - slope * relu(t - x)</c>.
    /// </summary>
    private static void ReluExtended(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        double slope = D(op, "negative_slope"), threshold = D(op, "threshold");
        double? max = op.Attributes["max_value"] is { } m ? Convert.ToDouble(m, System.Globalization.CultureInfo.InvariantCulture) : null;
        var x = op.Inputs[0];
        if (slope == 0 && threshold == 0 && max is double clipOnly)
        {
            ctx.Node("Clip", [x, ctx.ScalarFloat(0, op.Output), ctx.ScalarFloat(clipOnly, op.Output)], op.Output, shape);
            return;
        }
        bool last = slope == 0 && max is null;
        string positive;
        if (threshold != 0)
        {
            var above = ctx.Temp("Greater", [x, ctx.ScalarFloat(threshold, op.Output)], op.Output, shape, 9);
            string[] whereInputs = [above, x, ctx.ScalarFloat(0, op.Output)];
            if (last)
            {
                ctx.Node("Where", whereInputs, op.Output, shape);
                return;
            }
            positive = ctx.Temp("Where", whereInputs, op.Output, shape);
        }
        else positive = ctx.Temp("Relu", [x], op.Output, shape);
        if (max is double mv)
        {
            string[] clipInputs = [positive, ctx.ScalarFloat(0, op.Output), ctx.ScalarFloat(mv, op.Output)];
            if (slope == 0)
            {
                ctx.Node("Clip", clipInputs, op.Output, shape);
                return;
            }
            positive = ctx.Temp("Clip", clipInputs, op.Output, shape);
        }
        var below = ctx.Temp("Relu", [ctx.Temp("Sub", [ctx.ScalarFloat(threshold, op.Output), x], op.Output, shape)], op.Output, shape);
        ctx.Node("Sub", [positive, ctx.Temp("Mul", [below, ctx.ScalarFloat(slope, op.Output)], op.Output, shape)], op.Output, shape);
    }

    /// <summary>Softmax jointly over several axes: <c>e / sum(e)</c> with <c>e = exp(x - max(x))</c> over the axes.</summary>
    private static void SoftmaxAxes(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var axes = Longs(op, "axes");
        var x = op.Inputs[0];
        var max = Reduce(ctx, "ReduceMax", 18, x, axes, true, op.Output);
        var e = ctx.Temp("Exp", [ctx.Temp("Sub", [x, max], op.Output, shape)], op.Output, shape);
        var sum = Reduce(ctx, "ReduceSum", 13, e, axes, true, op.Output);
        ctx.Node("Div", [e, sum], op.Output, shape);
    }
}
