using System.Diagnostics;
using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Bench;

/// <summary>
/// ONNX export of the MNIST MLP (784-512-512-10): time after warm-up (goal &lt; 100 ms) and file size against the raw
/// float32 weight bytes (goal: less than 4 KB over). Baseline in the same process: serializing the same weights alone
/// (a float[] to bytes copy), which is the floor any exporter pays.
/// </summary>
internal static class ExportBenchmark
{
    public static void Run(int repeats)
    {
        Report.Heading("ONNX export of the MNIST MLP 784-512-512-10 (opset 17)");
        Keras.SetRandomSeed(5);
        using var model = new Sequential(new InputLayer([784]), new Dense(512, activation: "relu"), new Dense(512, activation: "relu"), new Dense(10, activation: "softmax"));
        long rawBytes = model.CountParams() * sizeof(float);
        model.ExportOnnxBytes(out _); // warm-up
        var times = new List<double>();
        var copyTimes = new List<double>();
        byte[] bytes = [];
        for (int r = 0; r < Math.Max(5, repeats); r++)
        {
            var sw = Stopwatch.StartNew();
            bytes = model.ExportOnnxBytes(out _);
            times.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            long copied = model.Weights.Sum(v => (long)System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.ToArray().AsSpan()).ToArray().Length);
            copyTimes.Add(sw.Elapsed.TotalMilliseconds);
            if (copied != rawBytes) throw new InvalidOperationException("weight byte count mismatch");
        }
        double median = FitBenchmark.Median(times), copy = FitBenchmark.Median(copyTimes);
        Report.Line($"| export ms (median of {times.Count}, goal < 100) | weight copy ms (baseline) | ratio | spread export / copy (ms) | file bytes | raw weight bytes | overhead bytes (goal < 4096) |");
        Report.Line("|---|---|---|---|---|---|---|");
        Report.Line($"| {median:0.0} | {copy:0.0} | {median / copy:0.00} | {FitBenchmark.Spread(times)} / {FitBenchmark.Spread(copyTimes)} | {bytes.Length:N0} | {rawBytes:N0} | {bytes.Length - rawBytes:N0} |");
    }
}
