using System.Text;
using System.Text.Json;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Commands;

/// <summary>The text <c>predict</c> writes: its outputs as CSV (one line per row) or as one JSON object.</summary>
internal static class PredictOutput
{
    internal static string ToCsv(IReadOnlyDictionary<string, DenseTensorResult> results)
    {
        var list = results.ToList();
        if (list.Any(r => r.Value.Rank == 0) || list.Select(r => r.Value.Shape[0]).Distinct().Count() > 1)
            throw new InvalidOperationException(
                $"CSV needs outputs that share a first (row) dimension, but the shapes are {string.Join(", ", list.Select(r => $"{r.Key} {r.Value}"))}; " +
                "use --format json or --outputs.");
        long rows = list[0].Value.Shape[0];
        var sb = new StringBuilder();
        var header = new List<string>();
        foreach (var (name, r) in list)
        {
            long width = rows == 0 ? r.Shape.Skip(1).Aggregate(1L, (a, b) => a * b) : r.Values.Length / rows;
            if (r.Rank == 1) header.Add(name);
            else for (long j = 0; j < width; j++) header.Add($"{name}_{j}");
        }
        sb.Append(string.Join(",", header)).Append('\n');
        for (long i = 0; i < rows; i++)
        {
            bool first = true;
            foreach (var (_, r) in list)
            {
                long width = r.Values.Length / rows;
                for (long j = 0; j < width; j++)
                {
                    if (!first) sb.Append(',');
                    sb.Append(Serving.InferCodec.ElementText(r.Values, i * width + j));
                    first = false;
                }
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    internal static string ToJson(IReadOnlyDictionary<string, DenseTensorResult> results)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteStartObject("outputs");
            foreach (var (name, r) in results)
            {
                w.WriteStartObject(name);
                w.WriteStartArray("shape");
                foreach (var d in r.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WritePropertyName("data");
                int k = 0;
                WriteNested(w, r, 0, ref k);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteNested(Utf8JsonWriter w, DenseTensorResult r, int dim, ref int k)
    {
        if (dim == r.Rank)
        {
            Serving.InferCodec.WriteElement(w, r.Values, k++);
            return;
        }
        w.WriteStartArray();
        for (long i = 0; i < r.Shape[dim]; i++) WriteNested(w, r, dim + 1, ref k);
        w.WriteEndArray();
    }
}
