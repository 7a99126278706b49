using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using OnnxKeras.Layers;

namespace OnnxKeras.Saving;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor names to
/// <c>{"dtype", "shape", "data_offsets"}</c> (plus <c>__metadata__</c>), then the raw little-endian data.
/// Tensor names are the variables' paths (<c>dense/kernel</c>); the metadata records the layer order.
/// </summary>
internal static class SafeTensors
{
    public static void Write(IReadOnlyList<Layer> layers, Stream stream)
    {
        var entries = new List<(string Name, long[] Shape, float[] Data)>();
        var layerList = new List<object?>();
        foreach (var l in layers)
        {
            var names = new List<object?>();
            foreach (var v in l.Weights)
            {
                string name = entries.Any(e => e.Name == v.Path) ? $"{l.Name}/{v.Path}" : v.Path;
                entries.Add((name, v.Value.shape, v.ToArray()));
                names.Add(name);
            }
            layerList.Add(new List<object?> { l.Name, names });
        }
        var header = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["__metadata__"] = new Dictionary<string, object?> { ["format"] = "pt", ["producer"] = "onnxkeras", ["layers"] = ConfigJson.Write(layerList) },
        };
        long offset = 0;
        foreach (var (name, shape, data) in entries)
        {
            long size = data.LongLength * 4;
            header[name] = new Dictionary<string, object?> { ["dtype"] = "F32", ["shape"] = shape, ["data_offsets"] = new[] { offset, offset + size } };
            offset += size;
        }
        var json = Encoding.UTF8.GetBytes(ConfigJson.Write(header));
        int pad = (8 - json.Length % 8) % 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        stream.Write(len);
        stream.Write(json);
        for (int i = 0; i < pad; i++) stream.WriteByte((byte)' ');
        foreach (var (_, _, data) in entries)
        {
            var bytes = new byte[data.Length * 4];
            for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), data[i]);
            stream.Write(bytes);
        }
    }

    private static string Shorten(string s) => s.Length <= 100 ? s : s[..100] + "...";

    public static List<StoredLayer> Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        string Bad(string why) => $"'{path}' is not a valid safetensors weights file: {why}.";
        if (bytes.Length < 8) throw new InvalidDataException(Bad($"it has only {bytes.Length} bytes"));
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen == 0 || headerLen > (ulong)(bytes.Length - 8))
            throw new InvalidDataException(Bad($"its header length {headerLen} does not fit the file's {bytes.Length} bytes (truncated, " +
                "or another file type)"));
        // Names and strings are read as .NET strings below; invalid UTF-8 would surface there as InvalidOperationException.
        if (!System.Text.Unicode.Utf8.IsValid(bytes.AsSpan(8, (int)headerLen)))
            throw new InvalidDataException(Bad("its header is not valid UTF-8"));
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(Bad($"its header is not JSON ({e.Message})"), e);
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException(Bad("its header is not a JSON object"));
        long dataStart = 8 + (long)headerLen, dataLen = bytes.LongLength - dataStart;
        var tensors = new Dictionary<string, StoredArray>(StringComparer.Ordinal);
        var order = new List<(long Begin, string Name)>();
        string? layersMeta = null;
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                if (p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("layers", out var lm) && lm.ValueKind == JsonValueKind.String)
                    layersMeta = lm.GetString();
                continue;
            }
            try
            {
                string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                int elem = dtype switch
                {
                    "F32" => 4,
                    "F64" => 8,
                    "F16" => 2,
                    _ => throw new InvalidDataException(Bad($"tensor '{p.Name}' has dtype {dtype}; only F32, F64 and F16 are supported")),
                };
                // The element count is bounded by the data (every tensor lies inside it) before it can overflow.
                long n = 1;
                foreach (var d in shape)
                {
                    if (d < 0)
                        throw new InvalidDataException(Bad($"tensor '{p.Name}' has the negative dimension {d} in shape {WeightFiles.FormatShape(shape)}"));
                    if (d != 0 && n > dataLen / elem / d)
                        throw new InvalidDataException(Bad($"tensor '{p.Name}' of shape {WeightFiles.FormatShape(shape)} and dtype " +
                            $"{dtype} needs more bytes than the file's {dataLen} data bytes"));
                    n *= d;
                }
                if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLen)
                    throw new InvalidDataException(Bad($"tensor '{p.Name}' has data offsets [{string.Join(", ", offs)}] outside the " +
                        $"{dataLen} data bytes (truncated?)"));
                if (offs[1] - offs[0] != n * elem)
                    throw new InvalidDataException(Bad($"tensor '{p.Name}' of shape {WeightFiles.FormatShape(shape)} and dtype {dtype} " +
                        $"needs {n * elem} bytes; its offsets span {offs[1] - offs[0]}"));
                var span = bytes.AsSpan((int)(dataStart + offs[0]), (int)(offs[1] - offs[0]));
                var data = new float[n];
                for (long i = 0; i < n; i++)
                {
                    data[i] = elem switch
                    {
                        4 => BinaryPrimitives.ReadSingleLittleEndian(span[(int)(i * 4)..]),
                        8 => (float)BinaryPrimitives.ReadDoubleLittleEndian(span[(int)(i * 8)..]),
                        _ => (float)BinaryPrimitives.ReadHalfLittleEndian(span[(int)(i * 2)..]),
                    };
                }
                tensors[p.Name] = new StoredArray(p.Name, shape, data);
                order.Add((offs[0], p.Name));
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException(Bad($"tensor '{p.Name}' lacks a valid dtype, shape or data_offsets"), e);
            }
        }
        if (layersMeta is not null)
        {
            try
            {
                using var meta = JsonDocument.Parse(layersMeta);
                return meta.RootElement.EnumerateArray().Select(e =>
                {
                    // Each entry is [layer name, [tensor names]]: strings only (a null used to escape as ArgumentNullException).
                    if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2 || e[0].ValueKind != JsonValueKind.String
                        || e[1].ValueKind != JsonValueKind.Array || e[1].EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
                        throw new InvalidDataException(Bad($"its '__metadata__.layers' entry {Shorten(e.GetRawText())} is not [layer name, [tensor names]]"));
                    var name = e[0].GetString()!;
                    var arrays = e[1].EnumerateArray().Select(t => tensors.TryGetValue(t.GetString()!, out var a) ? a
                        : throw new InvalidDataException(Bad($"its metadata lists tensor '{t.GetString()}', which is missing"))).ToList();
                    return new StoredLayer(name, arrays);
                }).ToList();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or IndexOutOfRangeException)
            {
                throw new InvalidDataException(Bad("its '__metadata__.layers' entry is malformed"), e);
            }
        }
        // A file from elsewhere: group tensors by the layer part of their name ("dense/kernel"), in data order.
        var groups = new List<(string Layer, List<StoredArray> Arrays)>();
        foreach (var (_, name) in order.OrderBy(o => o.Begin))
        {
            int slash = name.LastIndexOf('/');
            string layer = slash < 0 ? name : name[..slash];
            var g = groups.FirstOrDefault(x => x.Layer == layer);
            if (g.Arrays is null) groups.Add((layer, [tensors[name]]));
            else g.Arrays.Add(tensors[name]);
        }
        return groups.Select(g => new StoredLayer(g.Layer, g.Arrays)).ToList();
    }
}
