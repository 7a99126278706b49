using OnnxKeras.Export.Tracing;
using TorchSharp;
using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.EmitterHelpers;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// Emitters of the ops in <c>Ops.Nn.cs</c>: the dense product (Gemm or MatMul), activations, softmax, moments, batch and
/// layer normalization, and the zero state of recurrent layers traced step by step.
/// </summary>
internal sealed class NnEmitters : IEmitterFamily
{
    public void Register(EmitterTable table)
    {
        table.Add<LinearOp>(Linear);
        table.Add(Simple<ReluOp>("Relu"));
        table.Add(Simple<SigmoidOp>("Sigmoid"));
        table.Add(Simple<SeluOp>("Selu"));
        table.Add(Simple<SoftplusOp>("Softplus"));
        table.Add(Simple<SoftsignOp>("Softsign"));
        table.Add<GeneralizedReluOp>(GeneralizedRelu);
        table.Add<PreluOp>((ctx, op, _, shape) => ctx.Node("PRelu", op.Inputs, op.Output, shape));
        table.Add<LeakyReluOp>((ctx, op, a, shape) => ctx.Node("LeakyRelu", op.Inputs, op.Output, shape, 1, Float("alpha", a.NegativeSlope)));
        table.Add<EluOp>((ctx, op, a, shape) => ctx.Node("Elu", op.Inputs, op.Output, shape, 1, Float("alpha", a.Alpha)));
        // Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1).
        table.Add<HardSigmoidOp>((ctx, op, _, shape) => ctx.Node("HardSigmoid", op.Inputs, op.Output, shape, 1, Float("alpha", 1.0 / 6), Float("beta", 0.5)));
        table.Add<SiluOp>((ctx, op, _, shape) => ctx.Node("Mul", [op.Inputs[0], ctx.Temp("Sigmoid", [op.Inputs[0]], op.Output, shape)], op.Output, shape));
        table.Add<GeluOp>(GeluFormula);
        table.Add<GeluOp>((ctx, op, a, shape) =>
            ctx.Node("Gelu", [op.Inputs[0]], op.Output, shape, 1, String("approximate", a.Approximate ? "tanh" : "none")), fromOpset: 20);
        table.Add<SoftmaxOp>(Softmax);
        table.Add<LogSoftmaxOp>((ctx, op, a, shape) => ctx.Node("LogSoftmax", op.Inputs, op.Output, shape, 1, Int("axis", a.Axis)));
        table.Add<MomentsMeanOp>((ctx, op, a, shape) => Reduce(ctx, "ReduceMean", op.Inputs[0], a.Axes, a.KeepDims, op.Output, op.Output, shape));
        table.Add<MomentsVarianceOp>(MomentsVariance);
        table.Add<BatchNormalizationOp>(BatchNormalization);
        table.Add<LayerNormalizationOp>(LayerNormalization);
        // [batch, units] zeros: ConstantOfShape (float32 zeros by default) of Concat(Shape(like)[0:1], [units]).
        table.Add<ZeroStateOp>((ctx, op, a, shape) =>
        {
            var batch = ctx.Temp("Shape", [op.Inputs[0]], op.Output, [1], 7, Int("start", 0), Int("end", 1));
            var dims = ctx.Temp("Concat", [batch, ctx.Int64s([a.Units], op.Output)], op.Output, [2], 7, Int("axis", 0));
            ctx.Node("ConstantOfShape", [dims], op.Output, shape);
        });
    }

    /// <summary>Dense: Gemm for a rank-2 input with constant kernel (Keras's [in, out] layout is Gemm's B as is), else MatMul (+ Add).</summary>
    private static void Linear(EmitContext ctx, RecordedOp op, LinearOp _, long?[] shape)
    {
        var x = op.Inputs[0];
        bool rank2 = ctx.Shapes.TryGetValue(x, out var xs) && xs.Length == 2;
        bool constantWeights = op.Inputs.Skip(1).All(ctx.Constants.ContainsKey);
        if (rank2 && constantWeights)
        {
            ctx.Node("Gemm", op.Inputs, op.Output, shape);
            return;
        }
        if (op.Inputs.Length == 2)
        {
            ctx.Node("MatMul", op.Inputs, op.Output, shape);
            return;
        }
        ctx.Node("Add", [ctx.Temp("MatMul", [x, op.Inputs[1]], op.Output, shape), op.Inputs[2]], op.Output, shape);
    }

    /// <summary>Gelu before opset 20 (where it became an op): its formula, exact with Erf or the tanh approximation.</summary>
    private static void GeluFormula(EmitContext ctx, RecordedOp op, GeluOp p, long?[] shape)
    {
        bool approximate = p.Approximate;
        var x = op.Inputs[0];
        string inner;
        if (!approximate)
        {
            // 0.5 x (1 + erf(x / sqrt 2))
            var scaled = ctx.Temp("Mul", [x, ctx.ScalarFloat(1 / Math.Sqrt(2), op.Output)], op.Output, shape);
            inner = ctx.Temp("Erf", [scaled], op.Output, shape);
        }
        else
        {
            // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
            var cube = ctx.Temp("Pow", [x, ctx.ScalarFloat(3, op.Output)], op.Output, shape);
            var poly = ctx.Temp("Add", [x, ctx.Temp("Mul", [cube, ctx.ScalarFloat(0.044715, op.Output)], op.Output, shape)], op.Output, shape);
            inner = ctx.Temp("Tanh", [ctx.Temp("Mul", [poly, ctx.ScalarFloat(Math.Sqrt(2 / Math.PI), op.Output)], op.Output, shape)], op.Output, shape);
        }
        var onePlus = ctx.Temp("Add", [inner, ctx.ScalarFloat(1, op.Output)], op.Output, shape);
        var half = ctx.Temp("Mul", [x, ctx.ScalarFloat(0.5, op.Output)], op.Output, shape);
        ctx.Node("Mul", [half, onePlus], op.Output, shape);
    }

    /// <summary>Softmax: ONNX Softmax over one axis; jointly over several axes <c>e / sum(e)</c> with <c>e = exp(x - max(x))</c> over the axes.</summary>
    private static void Softmax(EmitContext ctx, RecordedOp op, SoftmaxOp p, long?[] shape)
    {
        var axes = p.Axes;
        var x = op.Inputs[0];
        if (axes.Length == 1)
        {
            ctx.Node("Softmax", op.Inputs, op.Output, shape, 1, Int("axis", axes[0]));
            return;
        }
        var max = Reduce(ctx, "ReduceMax", x, axes, true, op.Output);
        var e = ctx.Temp("Exp", [ctx.Temp("Sub", [x, max], op.Output, shape)], op.Output, shape);
        var sum = Reduce(ctx, "ReduceSum", e, axes, true, op.Output);
        ctx.Node("Div", [e, sum], op.Output, shape);
    }
    /// <summary>Biased variance: mean((x - mean(x))^2) over the axes.</summary>
    private static void MomentsVariance(EmitContext ctx, RecordedOp op, MomentsVarianceOp p, long?[] shape)
    {
        var axes = p.Axes;
        var x = op.Inputs[0];
        var mean = Reduce(ctx, "ReduceMean", x, axes, true, op.Output);
        var centered = ctx.Temp("Sub", [x, mean], op.Output, ShapeOf(ctx, x));
        var squared = ctx.Temp("Mul", [centered, centered], op.Output, ShapeOf(ctx, x));
        Reduce(ctx, "ReduceMean", squared, axes, p.KeepDims, op.Output, op.Output, shape);
    }

    /// <summary>
    /// Inference batch normalization. With constant statistics and parameters (the layer at inference) it folds to
    /// <c>x * a + b</c> with <c>a = gamma / sqrt(var + eps)</c> and <c>b = beta - mean * a</c> computed here (Mul, Add);
    /// otherwise the formula with the vectors reshaped to broadcast along the axis.
    /// </summary>
    private static void BatchNormalization(EmitContext ctx, RecordedOp op, BatchNormalizationOp p, long?[] shape)
    {
        int axis = p.Axis;
        double epsilon = p.Epsilon;
        bool hasOffset = p.HasOffset, hasScale = p.HasScale;
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
        var inv = ctx.Temp("Reciprocal",
            [ctx.Temp("Sqrt", [ctx.Temp("Add", [Vec(variance), ctx.ScalarFloat(epsilon, op.Output)], op.Output)], op.Output)], op.Output);
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
    private static void LayerNormalization(EmitContext ctx, RecordedOp op, LayerNormalizationOp p, long?[] shape)
    {
        if (p.RmsScaling)
            throw new OnnxExportException($"In {op.Scope}: LayerNormalization with rms_scaling=True cannot be exported: " +
                "ONNX's LayerNormalization always centers the input, and the exporter has no RMS form. " +
                "Use rms_scaling=False for an exportable model.");
        var axes = p.Axes;
        int rank = shape.Length, k = axes.Length;
        bool hasGamma = p.HasGamma, hasBeta = p.HasBeta;
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
        var attributes = new[] { Int("axis", rank - k), Float("epsilon", p.Epsilon) };
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
    private static void GeneralizedRelu(EmitContext ctx, RecordedOp op, GeneralizedReluOp p, long?[] shape)
    {
        double slope = p.NegativeSlope, threshold = p.Threshold;
        double? max = p.MaxValue;
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
}
