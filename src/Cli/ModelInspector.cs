using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
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

    /// <summary>The model's description as text (what <c>onnxkeras inspect</c> prints).</summary>
    public static string Describe(string path) => Describe(Read(path));

    /// <summary>The same facts as <see cref="Describe(string)"/> as one JSON object (<c>inspect --json</c>).</summary>
    public static string DescribeJson(string path) => DescribeJson(Read(path));

    /// <summary>What both descriptions are built from.</summary>
    private sealed record Summary(string Path, long FileBytes, ModelProto Model, int Nodes,
                                  IReadOnlyList<KeyValuePair<string, int>> Operators, long Parameters, long ParameterBytes);

    private static Summary Read(string path)
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

        var g = model.Graph;
        var ops = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int nodes = CountOps(g, ops);
        long parameters = 0, parameterBytes = 0;
        foreach (var t in g.Initializer)
        {
            long n = t.Dims.Aggregate(1L, (a, b) => a * b);
            parameters += n;
            parameterBytes += n * ElementSize(t.DataType);
        }
        var ordered = ops.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        return new Summary(path, bytes.Length, model, nodes, ordered, parameters, parameterBytes);
    }

    /// <summary>The graph inputs that are not initializers (older exporters list initializers as inputs too).</summary>
    private static IEnumerable<ValueInfoProto> Inputs(GraphProto g)
    {
        var initializerNames = g.Initializer.Select(i => i.Name).ToHashSet();
        return g.Input.Where(v => !initializerNames.Contains(v.Name));
    }

    private static string OpsetDomain(OperatorSetIdProto o) => o.Domain.Length == 0 ? "ai.onnx" : o.Domain;

    private static string Describe(Summary s)
    {
        var sb = new StringBuilder();
        var model = s.Model;
        var g = model.Graph;
        sb.AppendLine($"Model: {s.Path} ({s.FileBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes)");
        sb.AppendLine($"IR version: {model.IrVersion}");
        sb.AppendLine($"Producer: {Join(model.ProducerName, model.ProducerVersion)}");
        if (model.Domain.Length > 0) sb.AppendLine($"Domain: {model.Domain}");
        if (model.ModelVersion != 0) sb.AppendLine($"Model version: {model.ModelVersion}");
        if (model.DocString.Length > 0) sb.AppendLine($"Description: {model.DocString}");
        if (g.Name.Length > 0) sb.AppendLine($"Graph: {g.Name}");
        sb.AppendLine("Opsets: " + string.Join(", ", model.OpsetImport.Select(o => $"{OpsetDomain(o)} {o.Version}")));

        sb.AppendLine("Inputs:");
        foreach (var v in Inputs(g))
            sb.AppendLine("  " + Describe(v));
        sb.AppendLine("Outputs:");
        foreach (var v in g.Output)
            sb.AppendLine("  " + Describe(v));

        sb.AppendLine($"Operators ({s.Nodes} node{(s.Nodes == 1 ? "" : "s")}):");
        foreach (var (op, count) in s.Operators)
            sb.AppendLine($"  {op} {count}");

        sb.AppendLine($"Parameters: {s.Parameters.ToString("N0", CultureInfo.InvariantCulture)} in {g.Initializer.Count} initializers " +
                      $"({s.ParameterBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes)");

        sb.AppendLine("Metadata:" + (model.MetadataProps.Count == 0 ? " (none)" : ""));
        foreach (var p in model.MetadataProps)
            sb.AppendLine($"  {p.Key}: {p.Value}");
        return sb.ToString();
    }

    /// <summary>
    /// One JSON object, indented: empty strings where the text leaves a line out (domain, description, graph name), 0 for an
    /// unset model version; a tensor's <c>shape</c> lists numbers for fixed dimensions, names for symbolic ones and null for
    /// unknown ones (the text's <c>?</c>), and is null for an unknown rank; a value that is not a tensor has a null
    /// <c>element_type</c> and <c>shape</c>. Metadata is a list of key/value pairs, as in the file (keys may repeat there).
    /// </summary>
    private static string DescribeJson(Summary s)
    {
        var model = s.Model;
        var g = model.Graph;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Indented = true,
            // Not for HTML: quotes in metadata (Keras configs are JSON) stay readable instead of \u0022.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            w.WriteStartObject();
            w.WriteString("path", s.Path);
            w.WriteNumber("file_bytes", s.FileBytes);
            w.WriteNumber("ir_version", model.IrVersion);
            w.WriteStartObject("producer");
            w.WriteString("name", model.ProducerName);
            w.WriteString("version", model.ProducerVersion);
            w.WriteEndObject();
            w.WriteString("domain", model.Domain);
            w.WriteNumber("model_version", model.ModelVersion);
            w.WriteString("description", model.DocString);
            w.WriteString("graph", g.Name);
            w.WriteStartArray("opsets");
            foreach (var o in model.OpsetImport)
            {
                w.WriteStartObject();
                w.WriteString("domain", OpsetDomain(o));
                w.WriteNumber("version", o.Version);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("inputs");
            foreach (var v in Inputs(g)) WriteValue(w, v);
            w.WriteEndArray();
            w.WriteStartArray("outputs");
            foreach (var v in g.Output) WriteValue(w, v);
            w.WriteEndArray();
            w.WriteNumber("nodes", s.Nodes);
            w.WriteStartObject("operators");
            foreach (var (op, count) in s.Operators) w.WriteNumber(op, count);
            w.WriteEndObject();
            w.WriteStartObject("parameters");
            w.WriteNumber("count", s.Parameters);
            w.WriteNumber("initializers", g.Initializer.Count);
            w.WriteNumber("bytes", s.ParameterBytes);
            w.WriteEndObject();
            w.WriteStartArray("metadata");
            foreach (var p in model.MetadataProps)
            {
                w.WriteStartObject();
                w.WriteString("key", p.Key);
                w.WriteString("value", p.Value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteValue(Utf8JsonWriter w, ValueInfoProto v)
    {
        w.WriteStartObject();
        w.WriteString("name", v.Name);
        if (v.Type?.TensorType is not { } t)
        {
            w.WriteNull("element_type");
            w.WriteNull("shape");
        }
        else
        {
            w.WriteString("element_type", TypeName(t.ElemType));
            if (t.Shape is null)
            {
                w.WriteNull("shape");
            }
            else
            {
                w.WriteStartArray("shape");
                foreach (var d in t.Shape.Dim)
                {
                    if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue) w.WriteNumberValue(d.DimValue);
                    else if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam) w.WriteStringValue(d.DimParam);
                    else w.WriteNullValue();
                }
                w.WriteEndArray();
            }
        }
        w.WriteEndObject();
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
