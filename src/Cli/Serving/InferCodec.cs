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
internal sealed record InferRequest(string? Id, IReadOnlyList<ParsedInput> Inputs, string[]? Outputs);

/// <summary>JSON of the Open Inference Protocol (KServe v2 REST): datatypes, infer requests and responses.</summary>
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

    private static RequestException Bad(string message) => new(400, message);

    public static InferRequest Parse(JsonElement root, OnnxModel model)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Bad("The request body must be a JSON object.");
        string? id = null;
        if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
            id = idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : throw Bad("'id' must be a string.");
        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
            throw Bad("The request needs an 'inputs' array.");
        var inputs = new List<ParsedInput>();
        foreach (var input in inputsElement.EnumerateArray())
        {
            if (input.ValueKind != JsonValueKind.Object) throw Bad("Each element of 'inputs' must be an object.");
            string name = input.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
                ? n.GetString()! : throw Bad("Each input needs a 'name' string.");
            if (inputs.Any(i => i.Name == name)) throw Bad($"Input '{name}' is given twice.");
            var shape = ParseShape(input, name);
            string datatype = input.TryGetProperty("datatype", out var dt) && dt.ValueKind == JsonValueKind.String
                ? dt.GetString()! : throw Bad($"Input '{name}' needs a 'datatype' string (e.g. \"FP32\").");
            var info = model.Inputs.FirstOrDefault(i => i.Name == name);
            if (info is not null && Datatype(info.ElementType) != datatype)
                throw Bad($"Input '{name}' expects datatype {Datatype(info.ElementType)} but the request says {datatype}.");
            var type = datatype switch
            {
                "FP32" => TensorElementType.Float,
                "INT64" => TensorElementType.Int64,
                "INT32" => TensorElementType.Int32,
                _ => throw Bad($"Input '{name}' has datatype {datatype}; this server accepts FP32, INT64 and INT32."),
            };
            if (!input.TryGetProperty("data", out var data))
                throw Bad($"Input '{name}' has no 'data' (binary tensor data is not supported).");
            inputs.Add(new ParsedInput(name, type, shape, Flatten(data, type, name)));
        }
        string[]? outputs = null;
        if (root.TryGetProperty("outputs", out var outputsElement) && outputsElement.ValueKind != JsonValueKind.Null)
        {
            if (outputsElement.ValueKind != JsonValueKind.Array) throw Bad("'outputs' must be an array of {\"name\": ...} objects.");
            outputs = outputsElement.EnumerateArray()
                .Select(o => o.ValueKind == JsonValueKind.Object && o.TryGetProperty("name", out var on) && on.ValueKind == JsonValueKind.String
                    ? on.GetString()! : throw Bad("Each element of 'outputs' needs a 'name' string."))
                .ToArray();
            if (outputs.Length == 0) outputs = null;
        }
        return new InferRequest(id, inputs, outputs);
    }

    private static long[] ParseShape(JsonElement input, string name)
    {
        if (!input.TryGetProperty("shape", out var s) || s.ValueKind != JsonValueKind.Array)
            throw Bad($"Input '{name}' needs a 'shape' array.");
        var shape = new long[s.GetArrayLength()];
        int k = 0;
        foreach (var d in s.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v) || v < 0)
                throw Bad($"Input '{name}' has shape {s.GetRawText()}; dimensions must be non-negative integers.");
            shape[k++] = v;
        }
        return shape;
    }

    private static Array Flatten(JsonElement data, TensorElementType type, string name)
    {
        switch (type)
        {
            case TensorElementType.Float:
                var floats = new List<float>();
                Walk(data, name, e =>
                {
                    if (e.ValueKind == JsonValueKind.Number && e.TryGetSingle(out var f)) floats.Add(f);
                    else if (e.ValueKind == JsonValueKind.String && e.GetString() is "NaN" or "Infinity" or "-Infinity")
                        floats.Add(float.Parse(e.GetString()!, CultureInfo.InvariantCulture));
                    else throw Bad($"Input '{name}' (FP32) has a non-numeric element {e.GetRawText()}.");
                });
                return floats.ToArray();
            case TensorElementType.Int64:
                var longs = new List<long>();
                Walk(data, name, e => longs.Add(e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var l)
                    ? l : throw Bad($"Input '{name}' (INT64) has an element that is not a 64-bit integer: {e.GetRawText()}.")));
                return longs.ToArray();
            default:
                var ints = new List<int>();
                Walk(data, name, e => ints.Add(e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var i)
                    ? i : throw Bad($"Input '{name}' (INT32) has an element that is not a 32-bit integer: {e.GetRawText()}.")));
                return ints.ToArray();
        }
    }

    /// <summary>Visits the leaves of flat or nested data, row-major.</summary>
    private static void Walk(JsonElement e, string name, Action<JsonElement> leaf)
    {
        if (e.ValueKind == JsonValueKind.Array)
            foreach (var item in e.EnumerateArray()) Walk(item, name, leaf);
        else if (e.ValueKind is JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.True or JsonValueKind.False)
            throw Bad($"Input '{name}' has data element {e.GetRawText()}; expected numbers in flat or nested arrays.");
        else leaf(e);
    }

    public static void WriteResponse(Utf8JsonWriter w, string modelName, string version, string? id,
                                     IReadOnlyList<(string Name, DenseTensorResult Result)> outputs)
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
            w.WriteString("datatype", "FP32");
            w.WriteStartArray("shape");
            foreach (var d in r.Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteStartArray("data");
            foreach (var v in r.Data)
            {
                if (float.IsFinite(v)) w.WriteNumberValue(v);
                else w.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

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
