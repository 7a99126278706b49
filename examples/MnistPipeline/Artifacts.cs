using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using OnnxKeras.Export;

namespace OnnxKeras.Examples.MnistPipeline;

/// <summary>Writes an exported model's manifest and measures its accuracy with ONNX Runtime alone.</summary>
internal static class Artifacts
{
    /// <summary>The repository's models/ folder (found by walking up to OnnxKeras.sln), else ./models.</summary>
    public static string ModelsFolder()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OnnxKeras.sln"))) return Directory.CreateDirectory(Path.Combine(dir.FullName, "models")).FullName;
        }
        return Directory.CreateDirectory("models").FullName;
    }

    /// <summary>
    /// Reloads the ONNX file with the inference module alone (no TorchSharp) and returns its accuracy on the test split,
    /// its predictions, and the CPU latency per sample at batch 1 (median of 200 calls).
    /// </summary>
    public static (double Accuracy, float[] Scores, double LatencyMs) OnnxCheck(string path, float[,] images, int[] labels, long[] sampleShape)
    {
        using var model = OnnxKeras.Inference.OnnxModel.Load(path, new OnnxKeras.Inference.InferenceOptions { IntraOpThreads = Environment.ProcessorCount });
        int n = labels.Length;
        var flat = new float[images.Length];
        Buffer.BlockCopy(images, 0, flat, 0, flat.Length * sizeof(float));
        var scores = model.Predict(flat, [n, .. sampleShape]).Data;
        int per = (int)sampleShape.Aggregate(1L, (a, b) => a * b);
        var times = new List<double>();
        for (int i = 0; i < 200; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            model.Predict(flat.AsMemory(i % n * per, per), [1, .. sampleShape]);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        int classes = scores.Length / n, correct = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
            if (best == labels[i]) correct++;
        }
        return (correct / (double)n, scores, times[times.Count / 2]);
    }

    /// <summary>Writes <c>name.json</c> next to the ONNX file: inputs, outputs, opset, parameters, accuracy, sha256.</summary>
    public static void WriteManifest(string onnxPath, ExportReport report, double accuracy, string description)
    {
        using var session = new InferenceSession(onnxPath);
        var manifest = new
        {
            file = Path.GetFileName(onnxPath),
            description,
            opset = report.Opset,
            ir_version = report.IrVersion,
            parameters = report.ParameterCount,
            inputs = session.InputMetadata.Select(kv => new { name = kv.Key, shape = kv.Value.SymbolicDimensions.Zip(kv.Value.Dimensions, (s, d) => d > 0 ? (object)d : s), type = "float32" }),
            outputs = session.OutputMetadata.Select(kv => new { name = kv.Key, shape = kv.Value.SymbolicDimensions.Zip(kv.Value.Dimensions, (s, d) => d > 0 ? (object)d : s), type = "float32" }),
            test_accuracy = Math.Round(accuracy, 4),
            test_split = "data/mnist/mnist10k.bin.gz, last 2,000 samples",
            sha256 = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(onnxPath))).ToLowerInvariant(),
            size_bytes = new FileInfo(onnxPath).Length,
        };
        var json = JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true });
        var target = Path.ChangeExtension(onnxPath, ".json");
        var temp = target + ".tmp";
        File.WriteAllText(temp, json + "\n");
        File.Move(temp, target, overwrite: true);
    }
}
