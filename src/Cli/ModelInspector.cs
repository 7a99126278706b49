using System.Globalization;
using System.Text;
using Google.Protobuf;
using OnnxKeras.Export.Onnx;

namespace OnnxKeras.Cli;

/// <summary>Reads an ONNX file's graph (not through ONNX Runtime) and describes it.</summary>
internal static class ModelInspector
{
    /// <summary>
    /// The largest file inspected: 2,147,483,591 bytes, the most a .NET byte array holds (<see cref="Array.MaxLength"/>),
    /// just under protobuf's 2 GiB limit on one message; larger models keep their weights in external data files.
    /// </summary>
    public const long MaxModelBytes = 2_147_483_591;

    public static string Describe(string path)
    {
        // A regular file of bounded size only: /dev/zero or a pipe used to be read until memory ran out.
        var bytes = ArrayFiles.ReadRegularFile(path, MaxModelBytes, "Model file");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model (protobuf parse failed: {e.Message}).", e);
        }
        if (model.Graph is null)
            throw new InvalidDataException($"'{path}' has no graph: it is not an ONNX model.");

        var sb = new StringBuilder();
        var g = model.Graph;
        sb.AppendLine($"Model: {path} ({bytes.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes)");
        sb.AppendLine($"IR version: {model.IrVersion}");
        sb.AppendLine($"Producer: {Join(model.ProducerName, model.ProducerVersion)}");
        if (model.Domain.Length > 0) sb.AppendLine($"Domain: {model.Domain}");
        if (model.ModelVersion != 0) sb.AppendLine($"Model version: {model.ModelVersion}");
        if (model.DocString.Length > 0) sb.AppendLine($"Description: {model.DocString}");
        if (g.Name.Length > 0) sb.AppendLine($"Graph: {g.Name}");
        sb.AppendLine("Opsets: " + string.Join(", ", model.OpsetImport.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)} {o.Version}")));

        var initializerNames = g.Initializer.Select(i => i.Name).ToHashSet();
        sb.AppendLine("Inputs:");
        foreach (var v in g.Input.Where(v => !initializerNames.Contains(v.Name)))
            sb.AppendLine("  " + Describe(v));
        sb.AppendLine("Outputs:");
        foreach (var v in g.Output)
            sb.AppendLine("  " + Describe(v));

        var ops = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int nodes = CountOps(g, ops);
        sb.AppendLine($"Operators ({nodes} node{(nodes == 1 ? "" : "s")}):");
        foreach (var (op, count) in ops.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            sb.AppendLine($"  {op} {count}");

        long parameters = 0, parameterBytes = 0;
        foreach (var t in g.Initializer)
        {
            long n = t.Dims.Aggregate(1L, (a, b) => a * b);
            parameters += n;
            parameterBytes += n * ElementSize(t.DataType);
        }
        sb.AppendLine($"Parameters: {parameters.ToString("N0", CultureInfo.InvariantCulture)} in {g.Initializer.Count} initializers " +
                      $"({parameterBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes)");

        sb.AppendLine("Metadata:" + (model.MetadataProps.Count == 0 ? " (none)" : ""));
        foreach (var p in model.MetadataProps)
            sb.AppendLine($"  {p.Key}: {p.Value}");
        return sb.ToString();
    }

    private static string Join(string a, string b) => a.Length == 0 ? "(not set)" : b.Length == 0 ? a : a + " " + b;

    /// <summary>Counts nodes by operator (domain-qualified outside ai.onnx), including subgraphs (If, Loop, Scan).</summary>
    private static int CountOps(GraphProto g, IDictionary<string, int> ops)
    {
        int nodes = 0;
        foreach (var n in g.Node)
        {
            nodes++;
            var key = n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}.{n.OpType}";
            ops[key] = ops.TryGetValue(key, out var c) ? c + 1 : 1;
            foreach (var a in n.Attribute)
            {
                if (a.G is not null) nodes += CountOps(a.G, ops);
                foreach (var sub in a.Graphs) nodes += CountOps(sub, ops);
            }
        }
        return nodes;
    }

    private static string Describe(ValueInfoProto v)
    {
        if (v.Type?.TensorType is not { } t)
            return $"{v.Name}: (not a tensor)";
        var dims = t.Shape is null
            ? "(unknown rank)"
            : "[" + string.Join(", ", t.Shape.Dim.Select(d =>
                d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString(CultureInfo.InvariantCulture)
                : d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : "?")) + "]";
        return $"{v.Name}: {TypeName(t.ElemType)} {dims}";
    }

    internal static string TypeName(int elemType) => (TensorProto.Types.DataType)elemType switch
    {
        TensorProto.Types.DataType.Float => "float32",
        TensorProto.Types.DataType.Double => "float64",
        TensorProto.Types.DataType.Float16 => "float16",
        TensorProto.Types.DataType.Bfloat16 => "bfloat16",
        TensorProto.Types.DataType.Int64 => "int64",
        TensorProto.Types.DataType.Int32 => "int32",
        TensorProto.Types.DataType.Int16 => "int16",
        TensorProto.Types.DataType.Int8 => "int8",
        TensorProto.Types.DataType.Uint8 => "uint8",
        TensorProto.Types.DataType.Uint16 => "uint16",
        TensorProto.Types.DataType.Uint32 => "uint32",
        TensorProto.Types.DataType.Uint64 => "uint64",
        TensorProto.Types.DataType.Bool => "bool",
        TensorProto.Types.DataType.String => "string",
        TensorProto.Types.DataType.Complex64 => "complex64",
        TensorProto.Types.DataType.Complex128 => "complex128",
        _ => $"type{elemType}",
    };

    private static long ElementSize(int elemType) => (TensorProto.Types.DataType)elemType switch
    {
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64
            or TensorProto.Types.DataType.Complex64 => 8,
        TensorProto.Types.DataType.Complex128 => 16,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16
            or TensorProto.Types.DataType.Uint16 => 2,
        TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => 1,
        _ => 4,
    };
}
