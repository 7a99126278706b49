using OnnxKeras.Export.Onnx;
using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitContext;

namespace OnnxKeras.Export.Lowering;

/// <summary>Helpers shared by the emitter families in their own files.</summary>
internal static class EmitterHelpers
{
    /// <summary>The shape of a value (recorded op output, graph input or constant); null dims are dynamic; null when unknown.</summary>
    public static long?[]? ShapeOf(EmitContext ctx, string name)
    {
        if (ctx.Shapes.TryGetValue(name, out var s)) return s;
        if (ctx.Constants.TryGetValue(name, out var c)) return c.shape.Select(d => (long?)d).ToArray();
        return ctx.ValueInfo.TryGetValue(name, out var v) ? v.Shape : null;
    }

    public static long[] Longs(RecordedOp op, string key) => op.Attributes[key] switch
    {
        long[] l => l,
        int[] i => i.Select(v => (long)v).ToArray(),
        var v => throw new OnnxExportException($"Op '{op.Op}' (in {op.Scope}): attribute '{key}' is {v?.GetType().Name ?? "null"}, not a list of integers."),
    };

    public static bool Bool(RecordedOp op, string key) => (bool)op.Attributes[key]!;

    /// <summary>
    /// A reduction over <paramref name="axes"/> with axes as an input from opset <paramref name="axesInputFrom"/> and as an
    /// attribute before; writes to <paramref name="output"/> or to a fresh value (returned).
    /// </summary>
    public static string Reduce(EmitContext ctx, string onnx, int axesInputFrom, string input, long[] axes, bool keepDims, string scope, string? output = null, long?[]? shape = null)
    {
        output ??= ctx.Fresh($"{scope}_{onnx.ToLowerInvariant()}");
        if (ctx.Opset >= axesInputFrom) ctx.Node(onnx, [input, ctx.Int64s(axes, scope)], output, shape, 1, Int("keepdims", keepDims ? 1 : 0));
        else ctx.Node(onnx, [input], output, shape, 1, Ints("axes", axes), Int("keepdims", keepDims ? 1 : 0));
        return output;
    }

    /// <summary>An ONNX attribute from a .NET value (integers, floats, strings and lists of them).</summary>
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
                    a.Floats.AddRange(((System.Collections.IEnumerable)value).Cast<object>().Select(v => Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture)));
                    return a;
                }
            case string[] strings:
                {
                    var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
                    a.Strings.AddRange(strings.Select(Google.Protobuf.ByteString.CopyFromUtf8));
                    return a;
                }
            default:
                throw new OnnxExportException($"Attribute '{name}' has a value of type {value?.GetType().Name ?? "null"}, which ONNX attributes cannot hold here.");
        }
    }
}
