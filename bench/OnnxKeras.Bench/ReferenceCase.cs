using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace OnnxKeras.Bench;

/// <summary>
/// Writes a training case for the PyTorch reference script (<c>bench/pytorch/train_reference.py</c>): <c>case.json</c>
/// (hyperparameters, Fit's first losses and times) and <c>tensors.safetensors</c> (the data and the initial weights in
/// PyTorch's layout), so PyTorch trains the very same network on the very same batches.
/// </summary>
internal static class ReferenceCase
{
    public static void Write(string dir, TrainCase c, double[] fitLosses, FitBenchmark.Timing fit, FitBenchmark.Timing loop, int samples,
                             long stepsPerSample, double peakGflops, string bound)
    {
        Directory.CreateDirectory(dir);
        var json = new Dictionary<string, object?>
        {
            ["case_id"] = c.Id,
            ["name"] = c.Name,
            ["arch"] = c.Arch,
            ["sizes"] = c.Sizes,
            ["batch"] = c.Batch,
            ["lr"] = TrainCase.LearningRate,
            ["beta1"] = TrainCase.Beta1,
            ["beta2"] = TrainCase.Beta2,
            ["eps"] = TrainCase.Epsilon,
            ["check_steps"] = fitLosses.Length,
            ["losses"] = fitLosses,
            ["timing_steps"] = stepsPerSample,
            ["repeats"] = samples,
            ["device"] = Keras.Device.type == TorchSharp.DeviceType.CUDA ? "cuda" : "cpu",
            ["fit_ms_per_step"] = FitBenchmark.Median(fit.Wall),
            ["loop_ms_per_step"] = FitBenchmark.Median(loop.Wall),
            ["fit_ms_per_step_min"] = fit.Wall.Min(),
            ["loop_ms_per_step_min"] = loop.Wall.Min(),
            ["fit_cpu_ms_per_step"] = FitBenchmark.Median(fit.Cpu),
            ["loop_cpu_ms_per_step"] = FitBenchmark.Median(loop.Cpu),
            ["flops_per_step"] = c.FlopsPerStep,
            ["peak_gflops"] = peakGflops,
            ["bound"] = bound,
            ["threads"] = get_num_threads(),
        };
        WriteAtomically(Path.Combine(dir, "case.json"), s => JsonSerializer.Serialize(s, json, new JsonSerializerOptions { WriteIndented = true }));
        var tensors = new List<(string, Tensor)> { ("x", c.X), ("y", c.Y) };
        tensors.AddRange(c.Initial);
        WriteAtomically(Path.Combine(dir, "tensors.safetensors"), s => WriteSafetensors(s, tensors));
    }

    private static void WriteAtomically(string path, Action<Stream> write)
    {
        string tmp = path + ".tmp";
        using (var s = File.Create(tmp)) write(s);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>safetensors: u64 little-endian header length, JSON header, raw little-endian data (F32 and I64 here).</summary>
    private static void WriteSafetensors(Stream stream, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        var header = new Dictionary<string, object>();
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, value) in tensors)
        {
            using var cpu = value.detach().cpu().contiguous();
            byte[] bytes = cpu.dtype switch
            {
                ScalarType.Float32 => ToBytes(cpu.data<float>().ToArray(), 4, (span, v) => BinaryPrimitives.WriteSingleLittleEndian(span, v)),
                ScalarType.Int64 => ToBytes(cpu.data<long>().ToArray(), 8, (span, v) => BinaryPrimitives.WriteInt64LittleEndian(span, v)),
                _ => throw new NotSupportedException($"{name}: dtype {cpu.dtype}"),
            };
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = cpu.dtype == ScalarType.Float32 ? "F32" : "I64",
                ["shape"] = cpu.shape,
                ["data_offsets"] = new[] { offset, offset + bytes.Length },
            };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;
        var len = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        stream.Write(len);
        stream.Write(json);
        for (int i = 0; i < pad; i++) stream.WriteByte((byte)' ');
        foreach (var b in blobs) stream.Write(b);
    }

    private static byte[] ToBytes<T>(T[] values, int size, SpanAction<T> write)
    {
        var bytes = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++) write(bytes.AsSpan(i * size), values[i]);
        return bytes;
    }

    private delegate void SpanAction<T>(Span<byte> span, T value);
}

/// <summary>
/// Peak memory of Fit against the hand-written loop: each trains a case for 3 epochs in a fresh process
/// (<c>train-peak CASE fit|loop</c>), which reports its RSS high-water mark (VmHWM), so neither side inherits the other's
/// allocations.
/// </summary>
internal static class PeakMemory
{
    /// <summary>Fresh processes per side, alternating: a single pair's ratio moved between 0.97 and 1.30 here.</summary>
    private const int Pairs = 3;

    public static string Compare(string caseId)
    {
        var fit = new List<double>();
        var loop = new List<double>();
        var ratios = new List<double>();
        for (int i = 0; i < Pairs; i++)
        {
            fit.Add(Child(caseId, "fit"));
            loop.Add(Child(caseId, "loop"));
            ratios.Add(fit[^1] / loop[^1]);
        }
        double f = FitBenchmark.Median(fit), l = FitBenchmark.Median(loop);
        return $"| {caseId} | {f:0.0} | {l:0.0} | {f / l:0.000} | {ratios.Min():0.000}-{ratios.Max():0.000} |";
    }

    private static double Child(string caseId, string side)
    {
        // The timed children's malloc settings, so the high-water mark does not depend on glibc's dynamic threshold.
        var psi = FitBenchmark.ChildProcess("train-peak", caseId, side, "--threads", get_num_threads().ToString(), "--device", FitBenchmark.DeviceName);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("PEAK_KIB ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"train-peak {caseId} {side} printed no PEAK_KIB line:\n{output}");
        return long.Parse(line[9..].Trim()) / 1024.0;
    }

    /// <summary>The child side: trains 3 epochs one way and prints the process's RSS high-water mark.</summary>
    public static void RunChild(string caseId, string side)
    {
        var make = TrainCase.All(new HashSet<string> { caseId }).SingleOrDefault()
            ?? throw new ArgumentException($"Unknown case '{caseId}'.");
        using var c = make();
        // Setting the case up (loading and converting the data) leaves native tensors that only finalizers release; collect
        // them now, so the high-water mark is training's and does not depend on when the first collection happens to run
        // (it moved Fit's mnist_mlp_b1024 peak between about 340 and 410 MiB: bench/NOTES.md).
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        for (int e = 0; e < 3; e++)
        {
            if (side == "fit") c.FitEpoch();
            else c.HandEpoch();
        }
        var hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        Console.WriteLine("PEAK_KIB " + hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }
}
