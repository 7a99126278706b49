using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Serving;

/// <summary>A request error with its HTTP status; the message goes into <c>{"error": ...}</c>.</summary>
internal sealed class RequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>One input tensor of a request: the flat data is a float[], long[] or int[].</summary>
internal sealed record ParsedInput(string Name, TensorElementType Type, long[] Shape, Array Data)
{
    public TensorInput ToTensorInput() => Data switch
    {
        float[] f => new TensorInput(f, Shape),
        long[] l => new TensorInput(l, Shape),
        int[] i => new TensorInput(i, Shape),
        _ => throw new InvalidOperationException("unreachable"),
    };
}

/// <summary>An Open Inference Protocol infer request, parsed.</summary>
/// <param name="Id">The request's id, echoed.</param>
/// <param name="Inputs">The inputs with their data.</param>
/// <param name="Outputs">The requested outputs in order, or null for the default.</param>
/// <param name="BinaryOutputs">Outputs to return as binary tensor data (the binary extension): null for none, empty for
/// all (request-level <c>binary_data_output</c>), else the names (output-level <c>binary_data</c>).</param>
internal sealed record InferRequest(string? Id, IReadOnlyList<ParsedInput> Inputs, string[]? Outputs, IReadOnlySet<string>? BinaryOutputs = null)
{
    /// <summary>Whether output <paramref name="name"/> goes back as binary data.</summary>
    public bool IsBinary(string name) => BinaryOutputs is { } b && (b.Count == 0 || b.Contains(name));
}

/// <summary>JSON of the Open Inference Protocol (KServe v2 REST): datatypes and responses (requests: <see cref="InferRequestReader"/>).</summary>
internal static class InferCodec
{
    /// <summary>The protocol's datatype name of an ONNX Runtime element type.</summary>
    public static string Datatype(TensorElementType t) => t switch
    {
        TensorElementType.Float => "FP32",
        TensorElementType.Double => "FP64",
        TensorElementType.Float16 => "FP16",
        TensorElementType.BFloat16 => "BF16",
        TensorElementType.Int64 => "INT64",
        TensorElementType.Int32 => "INT32",
        TensorElementType.Int16 => "INT16",
        TensorElementType.Int8 => "INT8",
        TensorElementType.UInt64 => "UINT64",
        TensorElementType.UInt32 => "UINT32",
        TensorElementType.UInt16 => "UINT16",
        TensorElementType.UInt8 => "UINT8",
        TensorElementType.Bool => "BOOL",
        TensorElementType.String => "BYTES",
        _ => t.ToString().ToUpperInvariant(),
    };

    /// <summary>Writes the JSON response; outputs for which <paramref name="binary"/> says true get
    /// <c>"parameters": {"binary_data_size": n}</c> instead of <c>data</c> (their bytes follow the JSON, in order).</summary>
    public static void WriteResponse(Utf8JsonWriter w, string modelName, string version, string? id,
                                     IReadOnlyList<(string Name, DenseTensorResult Result)> outputs, Func<string, bool>? binary = null)
    {
        w.WriteStartObject();
        w.WriteString("model_name", modelName);
        w.WriteString("model_version", version);
        if (id is not null) w.WriteString("id", id);
        w.WriteStartArray("outputs");
        foreach (var (name, r) in outputs)
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteString("datatype", Datatype(r.ElementType));
            w.WriteStartArray("shape");
            foreach (var d in r.Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            if (binary?.Invoke(name) == true)
            {
                w.WriteStartObject("parameters");
                w.WriteNumber("binary_data_size", (long)r.AsBytes().Length);
                w.WriteEndObject();
                w.WriteEndObject();
                continue;
            }
            w.WriteStartArray("data");
            for (int i = 0; i < r.Values.Length; i++) WriteElement(w, r.Values, i);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>A shape as the server's messages write it, e.g. <c>[1, 784]</c>.</summary>
    public static string ShapeText(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>
    /// Checks an input as a request declares it, before any of its data is kept (REST and gRPC alike): its datatype must
    /// be the model's and one this server reads (FP32, INT64, INT32), and its name, rank and fixed dimensions must fit the
    /// model (<see cref="OnnxModel.ValidateInput"/>, which throws <see cref="ArgumentException"/>). Returns the element
    /// type, the element size in bytes and the element count (<see cref="long.MaxValue"/> when the product overflows;
    /// callers bound it).
    /// </summary>
    public static (TensorElementType Type, int Size, long Count) CheckDeclaredInput(OnnxModel model, string name, string datatype, IReadOnlyList<long> shape)
    {
        var info = model.Inputs.FirstOrDefault(i => i.Name == name);
        if (info is not null && Datatype(info.ElementType) != datatype)
            throw new RequestException(400, $"Input '{name}' expects datatype {Datatype(info.ElementType)} but the request says {datatype}.");
        var (type, size) = datatype switch
        {
            "FP32" => (TensorElementType.Float, 4),
            "INT64" => (TensorElementType.Int64, 8),
            "INT32" => (TensorElementType.Int32, 4),
            _ => throw new RequestException(400, $"Input '{name}' has datatype {datatype}; this server accepts FP32, INT64 and INT32."),
        };
        model.ValidateInput(name, type, shape);
        long count = 1;
        foreach (long d in shape) count = d == 0 || count == 0 ? 0 : count > long.MaxValue / d ? long.MaxValue : count * d;
        return (type, size, count);
    }

    /// <summary>Writes element <paramref name="i"/> as JSON: a number (floats in shortest round-trip form, so a reader gets
    /// the same bits; NaN and infinities as the strings "NaN", "Infinity", "-Infinity"), or true/false for BOOL.</summary>
    public static void WriteElement(Utf8JsonWriter w, Array values, int i)
    {
        switch (values)
        {
            case float[] f:
                if (float.IsFinite(f[i])) w.WriteNumberValue(f[i]);
                else w.WriteStringValue(f[i].ToString(CultureInfo.InvariantCulture));
                break;
            case double[] d:
                if (double.IsFinite(d[i])) w.WriteNumberValue(d[i]);
                else w.WriteStringValue(d[i].ToString(CultureInfo.InvariantCulture));
                break;
            case bool[] b: w.WriteBooleanValue(b[i]); break;
            case long[] l: w.WriteNumberValue(l[i]); break;
            case ulong[] ul: w.WriteNumberValue(ul[i]); break;
            default: w.WriteNumberValue(Convert.ToInt64(values.GetValue(i), CultureInfo.InvariantCulture)); break;
        }
    }

    /// <summary>Element <paramref name="i"/> as text for CSV: as <see cref="WriteElement"/> writes it, bools as true/false.</summary>
    public static string ElementText(Array values, long i) => values switch
    {
        float[] f => f[i].ToString(CultureInfo.InvariantCulture),
        double[] d => d[i].ToString(CultureInfo.InvariantCulture),
        bool[] b => b[i] ? "true" : "false",
        _ => Convert.ToString(values.GetValue(i), CultureInfo.InvariantCulture)!,
    };

    public static void WriteTensorMetadata(Utf8JsonWriter w, ModelTensorInfo info)
    {
        w.WriteStartObject();
        w.WriteString("name", info.Name);
        w.WriteString("datatype", Datatype(info.ElementType));
        w.WriteStartArray("shape");
        foreach (var d in info.Dimensions) w.WriteNumberValue(d.Value ?? -1);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
