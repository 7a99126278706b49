using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitContext;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// The ONNX form of each <see cref="Ops"/> op (the symbolic interpretation of the ops API). An emitter writes nodes that
/// compute the recorded op's output value; where opsets differ, it chooses by <see cref="EmitContext.Opset"/>
/// (tf2onnx's version_N idea).
/// </summary>
internal static class OpEmitters
{
    internal delegate void Emitter(EmitContext ctx, RecordedOp op, long?[] shape);

    private static readonly Dictionary<string, Emitter> Table = new(StringComparer.Ordinal)
    {
        [nameof(Ops.Add)] = Simple("Add"),
        [nameof(Ops.Subtract)] = Simple("Sub"),
        [nameof(Ops.Multiply)] = Simple("Mul"),
        [nameof(Ops.Divide)] = Simple("Div"),
        [nameof(Ops.Maximum)] = Simple("Max"),
        [nameof(Ops.Minimum)] = Simple("Min"),
        [nameof(Ops.MatMul)] = Simple("MatMul"),
        [nameof(Ops.Negative)] = Simple("Neg"),
        [nameof(Ops.Abs)] = Simple("Abs"),
        [nameof(Ops.Sqrt)] = Simple("Sqrt"),
        [nameof(Ops.Exp)] = Simple("Exp"),
        [nameof(Ops.Log)] = Simple("Log"),
        [nameof(Ops.Sign)] = Simple("Sign"),
        [nameof(Ops.Where)] = Simple("Where"),
        [nameof(Ops.Relu)] = Simple("Relu"),
        [nameof(Ops.Sigmoid)] = Simple("Sigmoid"),
        [nameof(Ops.Tanh)] = Simple("Tanh"),
        [nameof(Ops.Selu)] = Simple("Selu"),
        [nameof(Ops.Softplus)] = Simple("Softplus"),
        [nameof(Ops.Softsign)] = Simple("Softsign"),
        [nameof(Ops.Square)] = (ctx, op, shape) => ctx.Node("Mul", [op.Inputs[0], op.Inputs[0]], op.Output, shape),
        [nameof(Ops.Scale)] = (ctx, op, shape) => ctx.Node("Mul", [op.Inputs[0], ctx.ScalarFloat(D(op, "scalar"), op.Output)], op.Output, shape),
        [nameof(Ops.AddScalar)] = (ctx, op, shape) => ctx.Node("Add", [op.Inputs[0], ctx.ScalarFloat(D(op, "scalar"), op.Output)], op.Output, shape),
        [nameof(Ops.Power)] = (ctx, op, shape) => ctx.Node("Pow", [op.Inputs[0], ctx.ScalarFloat(D(op, "exponent"), op.Output)], op.Output, shape),
        [nameof(Ops.Log1p)] = (ctx, op, shape) =>
            ctx.Node("Log", [ctx.Temp("Add", [op.Inputs[0], ctx.ScalarFloat(1, op.Output)], op.Output, shape)], op.Output, shape),
        [nameof(Ops.Clip)] = (ctx, op, shape) => ctx.Node("Clip",
            [op.Inputs[0], ctx.ScalarFloat(Math.Max(D(op, "min"), float.MinValue), op.Output), ctx.ScalarFloat(Math.Min(D(op, "max"), float.MaxValue), op.Output)], op.Output, shape),
        [nameof(Ops.CastFloat)] = (ctx, op, shape) => ctx.Node("Cast", op.Inputs, op.Output, shape, 1, Int("to", 1)),
        [nameof(Ops.Softmax)] = (ctx, op, shape) => ctx.Node("Softmax", op.Inputs, op.Output, shape, 1, Int("axis", I(op, "axis"))),
        [nameof(Ops.LogSoftmax)] = (ctx, op, shape) => ctx.Node("LogSoftmax", op.Inputs, op.Output, shape, 1, Int("axis", I(op, "axis"))),
        [nameof(Ops.Elu)] = (ctx, op, shape) => ctx.Node("Elu", op.Inputs, op.Output, shape, 1, Float("alpha", D(op, "alpha"))),
        [nameof(Ops.LeakyRelu)] = (ctx, op, shape) => ctx.Node("LeakyRelu", op.Inputs, op.Output, shape, 1, Float("alpha", D(op, "alpha"))),
        // Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1).
        [nameof(Ops.HardSigmoid)] = (ctx, op, shape) => ctx.Node("HardSigmoid", op.Inputs, op.Output, shape, 1, Float("alpha", 1.0 / 6), Float("beta", 0.5)),
        [nameof(Ops.Silu)] = (ctx, op, shape) => ctx.Node("Mul", [op.Inputs[0], ctx.Temp("Sigmoid", [op.Inputs[0]], op.Output, shape)], op.Output, shape),
        [nameof(Ops.Gelu)] = Gelu,
        [nameof(Ops.Reshape)] = (ctx, op, shape) => ctx.Node("Reshape", [op.Inputs[0], ctx.Int64s((long[])op.Attributes["shape"]!, op.Output)], op.Output, shape),
        [nameof(Ops.Flatten)] = (ctx, op, shape) => ctx.Node("Flatten", op.Inputs, op.Output, shape, 1, Int("axis", 1)),
        [nameof(Ops.Transpose)] = (ctx, op, shape) => ctx.Node("Transpose", op.Inputs, op.Output, shape, 1, Ints("perm", (long[])op.Attributes["perm"]!)),
        [nameof(Ops.Concatenate)] = (ctx, op, shape) => ctx.Node("Concat", op.Inputs, op.Output, shape, 1, Int("axis", I(op, "axis"))),
        [nameof(Ops.Sum)] = Reduce("ReduceSum", 13),
        [nameof(Ops.Mean)] = Reduce("ReduceMean", 18),
        [nameof(Ops.Max)] = Reduce("ReduceMax", 18),
        [nameof(Ops.Min)] = Reduce("ReduceMin", 18),
        [nameof(Ops.ArgMax)] = (ctx, op, shape) => ctx.Node("ArgMax", op.Inputs, op.Output, shape, 7, Int("axis", I(op, "axis")), Int("keepdims", 0)),
        [nameof(Ops.Linear)] = Linear,
    };

    static OpEmitters()
    {
        // Emitters of op families kept in their own files (Lowering/*Emitters.cs).
        foreach (var family in typeof(OpEmitters).Assembly.GetTypes().Where(t => typeof(IEmitterFamily).IsAssignableFrom(t) && !t.IsInterface))
            ((IEmitterFamily)Activator.CreateInstance(family)!).Register(Table);
    }

    /// <summary>Writes the nodes of <paramref name="op"/>.</summary>
    public static void Emit(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        if (op.Op.StartsWith("onnx:", StringComparison.Ordinal))
        {
            ctx.Node(op.Op[5..], op.Inputs, op.Output, shape, ElemType(op.DType), op.Attributes.Select(a => Attribute(a.Key, a.Value)).ToArray());
            return;
        }
        if (!Table.TryGetValue(op.Op, out var emitter)) throw new OnnxExportException($"Op '{op.Op}' (in {op.Scope}) has no ONNX form yet.");
        emitter(ctx, op, shape);
    }

    private static Onnx.AttributeProto Attribute(string name, object? value) => value switch
    {
        long or int => Int(name, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
        double or float => Float(name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)),
        string s => String(name, s),
        long[] ints => Ints(name, ints),
        int[] ints => Ints(name, ints.Select(i => (long)i)),
        _ => throw new OnnxExportException($"Attribute '{name}' has a value of type {value?.GetType().Name ?? "null"}, which ONNX attributes cannot hold here."),
    };

    internal static Emitter Simple(string onnx) => (ctx, op, shape) => ctx.Node(onnx, op.Inputs, op.Output, shape, ElemType(op.DType));

    internal static double D(RecordedOp op, string key) => Convert.ToDouble(op.Attributes[key], System.Globalization.CultureInfo.InvariantCulture);

    internal static long I(RecordedOp op, string key) => Convert.ToInt64(op.Attributes[key], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Dense: Gemm for a rank-2 input with constant kernel (Keras's [in, out] layout is Gemm's B as is), else MatMul (+ Add).</summary>
    private static void Linear(EmitContext ctx, RecordedOp op, long?[] shape)
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

    /// <summary>Gelu is an op from opset 20; before it, its formula (exact with Erf, or the tanh approximation).</summary>
    private static void Gelu(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        bool approximate = (bool)op.Attributes["approximate"]!;
        var x = op.Inputs[0];
        if (ctx.Opset >= 20)
        {
            ctx.Node("Gelu", [x], op.Output, shape, 1, String("approximate", approximate ? "tanh" : "none"));
            return;
        }
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

    /// <summary>Reductions: axes as an input from <paramref name="axesInputFrom"/>, as an attribute before.</summary>
    private static Emitter Reduce(string onnx, int axesInputFrom) => (ctx, op, shape) =>
    {
        bool keep = (bool)op.Attributes["keepdims"]!;
        var axis = op.Attributes["axis"];
        if (axis is null)
        {
            ctx.Node(onnx, [op.Inputs[0]], op.Output, shape, 1, Int("keepdims", 0));
            return;
        }
        long a = Convert.ToInt64(axis, System.Globalization.CultureInfo.InvariantCulture);
        if (ctx.Opset >= axesInputFrom) ctx.Node(onnx, [op.Inputs[0], ctx.Int64s([a], op.Output)], op.Output, shape, 1, Int("keepdims", keep ? 1 : 0));
        else ctx.Node(onnx, [op.Inputs[0]], op.Output, shape, 1, Ints("axes", [a]), Int("keepdims", keep ? 1 : 0));
    };
}

/// <summary>A family of op emitters in its own file; every implementation is registered when the emitters load.</summary>
internal interface IEmitterFamily
{
    /// <summary>Adds the family's emitters (by <see cref="Ops"/> method name) to <paramref name="table"/>.</summary>
    void Register(Dictionary<string, OpEmitters.Emitter> table);
}
