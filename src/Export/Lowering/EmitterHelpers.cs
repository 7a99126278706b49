using OnnxKeras.Export.Onnx;
using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitContext;

namespace OnnxKeras.Export.Lowering;

/// <summary>Helpers shared by the emitter families.</summary>
internal static class EmitterHelpers
{
    /// <summary>An emitter that writes one ONNX node of <paramref name="onnx"/> on the op's inputs, with the output's element type.</summary>
    public static Emitter<TOp> Simple<TOp>(string onnx) where TOp : OpInfo =>
        (ctx, op, _, shape) => ctx.Node(onnx, op.Inputs, op.Output, shape, ElemType(op.DType));

    /// <summary>The shape of a value (recorded op output, graph input or constant); null dims are dynamic; null when unknown.</summary>
    public static long?[]? ShapeOf(EmitContext ctx, string name)
    {
        if (ctx.Shapes.TryGetValue(name, out var s)) return s;
        if (ctx.Constants.TryGetValue(name, out var c)) return c.shape.Select(d => (long?)d).ToArray();
        return ctx.ValueInfo.TryGetValue(name, out var v) ? v.Shape : null;
    }

    /// <summary>The shape of input <paramref name="index"/> of <paramref name="op"/>.</summary>
    /// <exception cref="OnnxExportException">The shape is unknown.</exception>
    public static long?[] InputShape(EmitContext ctx, RecordedOp op, int index = 0) =>
        ShapeOf(ctx, op.Inputs[index]) ?? throw new OnnxExportException($"In {op.Scope}: the shape of '{op.Inputs[index]}' is unknown.");

    /// <summary>
    /// The opset from which ONNX's <paramref name="reduceOp"/> takes its axes as an input rather than an attribute: 13 for
    /// ReduceSum, 18 for the other Reduce ops (ReduceMean, ReduceMax, ReduceMin, ...).
    /// </summary>
    public static int AxesInputFrom(string reduceOp) => reduceOp == "ReduceSum" ? 13 : 18;

    /// <summary>
    /// The reduction <paramref name="onnx"/> (ReduceSum, ReduceMean, ReduceMax, ...) over <paramref name="axes"/> (all axes
    /// when null), with the axes as an input or an attribute as the opset wants (<see cref="AxesInputFrom"/>). Writes to
    /// <paramref name="output"/>, or to a fresh value in <paramref name="scope"/>; returns the output's name.
    /// </summary>
    public static string Reduce(EmitContext ctx, string onnx, string input, long[]? axes, bool keepDims, string scope,
        string? output = null, long?[]? shape = null, int elemType = 1)
    {
        output ??= ctx.Fresh($"{scope}_{onnx.ToLowerInvariant()}");
        var keep = Int("keepdims", keepDims ? 1 : 0);
        if (axes is null) ctx.Node(onnx, [input], output, shape, elemType, keep);
        else if (ctx.Opset >= AxesInputFrom(onnx)) ctx.Node(onnx, [input, ctx.Int64s(axes, scope)], output, shape, elemType, keep);
        else ctx.Node(onnx, [input], output, shape, elemType, Ints("axes", axes), keep);
        return output;
    }

    /// <summary>An ONNX attribute from a .NET value: long or int, double or float, string, and arrays of them.</summary>
    /// <exception cref="OnnxExportException">Another type.</exception>
    public static AttributeProto Attribute(string name, object? value)
    {
        switch (value)
        {
            case long or int: return Int(name, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
            case double or float: return Float(name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
            case string s: return String(name, s);
            case long[] ints: return Ints(name, ints);
            case int[] ints: return Ints(name, ints.Select(i => (long)i));
            case double[] or float[]:
                {
                    var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
                    a.Floats.AddRange(((System.Collections.IEnumerable)value).Cast<object>()
                        .Select(v => Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture)));
                    return a;
                }
            case string[] strings:
                {
                    var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
                    a.Strings.AddRange(strings.Select(Google.Protobuf.ByteString.CopyFromUtf8));
                    return a;
                }
            default:
                throw new OnnxExportException(
                    $"Attribute '{name}' has a value of type {value?.GetType().Name ?? "null"}, which ONNX attributes cannot hold here.");
        }
    }
}
