using System.Diagnostics;
using OnnxKeras.Data;
using OnnxKeras.Datasets;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Plotting;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Bench;

/// <summary>
/// How the costs grow with size, each against a baseline in the same process where there is one:
/// (1) Fit against the hand-written TorchSharp loop (FitBenchmark's machinery) as the batch grows 32..1024 on the MNIST
/// MLP 784-512-512-10, and as the width w grows 128..4096 in 784-w-w-10 at batch 128;
/// (2) ONNX export time and file size against the parameter count, up to a model of more than 2 GB of weights, which is
/// written with ONNX external data (and loaded back by ONNX Runtime to prove the file);
/// (3) ONNX Runtime (<see cref="OnnxModel"/>) latency against the TorchSharp eager forward as the batch grows 1..1024.
/// Prints markdown tables and draws PNG plots (bench/scaling-batch.png, scaling-width.png, export-size.png,
/// inference-latency.png). Repeats are kept small so the whole mode takes a few minutes on 2 cores.
/// </summary>
internal static class ScalingBenchmark
{
    /// <summary>Quick mode (for checking the program, not for figures): two sizes per study, one sample each, small exports only.</summary>
    public static bool Quick { get; set; }

    public static void Run(int repeats, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var total = Stopwatch.StartNew();
        FitScaling(Quick ? 1 : Math.Max(3, repeats), outDir);
        ExportScaling(outDir);
        InferenceScaling(outDir);
        Console.WriteLine();
        Console.WriteLine($"Scaling plots written to {Path.GetFullPath(outDir)} ({total.Elapsed.TotalSeconds:0} s in all).");
    }

    // ---- (1) Fit vs loop -------------------------------------------------------------------------------------------

    private static void FitScaling(int repeats, string outDir)
    {
        var mnist = Mnist.Load();
        using var xAll = TensorConvert.ToTensor(mnist.TrainImages);
        using var labels = TensorConvert.ToTensor(mnist.TrainLabels);
        using var yAll = nn.functional.one_hot(labels, 10).to_type(ScalarType.Float32);

        Report.Heading($"Scaling: Fit vs hand-written TorchSharp loop as the batch grows (MNIST MLP 784-512-512-10, median of {repeats} alternating samples of 4,096 rows)");
        Report.Line("| batch | steps/sample | Fit ms/step | loop ms/step | ratio | Fit samples/s | spread Fit / loop (ms) |");
        Report.Line("|---:|---:|---:|---:|---:|---:|---|");
        int[] batches = Quick ? [32, 128] : [32, 64, 128, 256, 512, 1024];
        var batchRows = new List<(int Batch, FitBenchmark.Measurement M)>();
        foreach (int batch in batches)
        {
            // Every sample is 4,096 rows (4 to 128 steps): about the same time per sample at each size.
            int steps = Math.Max(4, 4096 / batch);
            using var x = xAll.narrow(0, 0, steps * batch);
            using var y = yAll.narrow(0, 0, steps * batch);
            Keras.SetRandomSeed(11);
            var m = FitBenchmark.Measure([784, 512, 512, 10], x, y, batch, repeats, epochsPerSample: 1);
            batchRows.Add((batch, m));
            Report.Line($"| {batch} | {m.Steps} | {m.Fit:0.000} | {m.Loop:0.000} | {m.Fit / m.Loop:0.000} | {batch / m.Fit * 1000:N0} | {FitBenchmark.Spread(m.FitTimes)} / {FitBenchmark.Spread(m.LoopTimes)} |");
        }
        double[] bx = [.. batches.Select(b => (double)b)];
        Charts.SavePng(Path.Combine(outDir, "scaling-batch.png"),
        [
            new ChartPanel("Step time vs batch (784-512-512-10)", "batch size", "ms per step") { LogX = true, LogY = true }
                .AddLine("Fit", bx, batchRows.Select(r => r.M.Fit))
                .AddLine("TorchSharp loop", bx, batchRows.Select(r => r.M.Loop), dashed: true),
            new ChartPanel("Time per sample", "batch size", "us per sample") { LogX = true, LogY = true }
                .AddLine("Fit", bx, batchRows.Select(r => r.M.Fit * 1000 / r.Batch))
                .AddLine("TorchSharp loop", bx, batchRows.Select(r => r.M.Loop * 1000 / r.Batch), dashed: true),
            new ChartPanel("Fit / loop", "batch size", "ratio (1 = same time)") { LogX = true }
                .AddLine("Fit / loop", bx, batchRows.Select(r => r.M.Fit / r.M.Loop))
                .AddLine("same time", [bx[0], bx[^1]], [1.0, 1.0], dashed: true, markers: false),
        ], 1500, 480);
        Report.Image("Fit vs loop over batch size", Path.Combine(outDir, "scaling-batch.png"));

        Report.Heading($"Scaling: Fit vs hand-written TorchSharp loop as the width grows (784-w-w-10, batch 128, median of {repeats} alternating samples)");
        Report.Line("| width w | parameters | steps/sample | Fit ms/step | loop ms/step | ratio | spread Fit / loop (ms) |");
        Report.Line("|---:|---:|---:|---:|---:|---:|---|");
        int[] widths = Quick ? [128, 256] : [128, 256, 512, 1024, 2048, 4096];
        var widthRows = new List<(int Width, long Params, FitBenchmark.Measurement M)>();
        foreach (int w in widths)
        {
            long parameters = 784L * w + w + (long)w * w + w + w * 10L + 10;
            // Fewer steps for wider models (about 3e7 parameter-steps per sample, at least 3 steps, at most 32).
            int steps = (int)Math.Clamp(3e7 / parameters, 3, 32);
            using var x = xAll.narrow(0, 0, steps * 128);
            using var y = yAll.narrow(0, 0, steps * 128);
            Keras.SetRandomSeed(12);
            var m = FitBenchmark.Measure([784, w, w, 10], x, y, 128, repeats, epochsPerSample: 1);
            widthRows.Add((w, parameters, m));
            Report.Line($"| {w} | {parameters:N0} | {m.Steps} | {m.Fit:0.000} | {m.Loop:0.000} | {m.Fit / m.Loop:0.000} | {FitBenchmark.Spread(m.FitTimes)} / {FitBenchmark.Spread(m.LoopTimes)} |");
        }
        double[] wx = [.. widths.Select(w => (double)w)];
        Charts.SavePng(Path.Combine(outDir, "scaling-width.png"),
        [
            new ChartPanel("Step time vs width (784-w-w-10, batch 128)", "width w", "ms per step") { LogX = true, LogY = true }
                .AddLine("Fit", wx, widthRows.Select(r => r.M.Fit))
                .AddLine("TorchSharp loop", wx, widthRows.Select(r => r.M.Loop), dashed: true),
            new ChartPanel("Fit / loop", "width w", "ratio (1 = same time)") { LogX = true }
                .AddLine("Fit / loop", wx, widthRows.Select(r => r.M.Fit / r.M.Loop))
                .AddLine("same time", [wx[0], wx[^1]], [1.0, 1.0], dashed: true, markers: false),
        ], 1100, 480);
        Report.Image("Fit vs loop over width", Path.Combine(outDir, "scaling-width.png"));
    }

    // ---- (2) Export ------------------------------------------------------------------------------------------------

    private static void ExportScaling(string outDir)
    {
        // Exports go to a scratch folder next to the system temp files; the large files are deleted right after.
        var dir = Path.Combine(Path.GetTempPath(), "onnxkeras-scaling-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        long free = new DriveInfo(dir).AvailableFreeSpace;
        Report.Heading($"Scaling: ONNX export time and file size vs parameters (opset 17, to a scratch folder in {Path.GetTempPath()}, {free / (1L << 30)} GiB free there)");
        Report.Line("| model | parameters | raw weights bytes | .onnx bytes | external .data bytes | overhead bytes | export ms (median) | weight copy ms | ratio | ONNX Runtime load ms |");
        Report.Line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        // MLPs 784-w-w-10, then one with more than 2 GiB of weights (each tensor under 2 GB: .NET arrays and protobuf
        // byte strings stop there), which the exporter writes as external data.
        var cases = new (string Name, int[] Sizes, int Repeats)[]
        {
            ("784-128-128-10", [784, 128, 128, 10], 5),
            ("784-512-512-10", [784, 512, 512, 10], 5),
            ("784-2048-2048-10", [784, 2048, 2048, 10], 3),
            ("784-8192-8192-10", [784, 8192, 8192, 10], 1),
            ("16384-16384-16384-4096", [16384, 16384, 16384, 4096], 1),
        };
        var rows = new List<(long Params, double Ms, long Bytes)>();
        try
        {
            foreach (var (name, sizes, reps) in Quick ? cases[..2] : cases)
            {
                long parameters = 0;
                for (int i = 1; i < sizes.Length; i++) parameters += (long)sizes[i - 1] * sizes[i] + sizes[i];
                long rawBytes = parameters * sizeof(float);
                if (rawBytes * 2 + (1L << 30) > free)
                {
                    Report.Line($"| {name} | {parameters:N0} | skipped: needs about {rawBytes * 2 / (1L << 30)} GiB free, {free / (1L << 30)} GiB there | | | | | | | |");
                    continue;
                }
                Keras.SetRandomSeed(13);
                var layers = new List<Layer> { new InputLayer([sizes[0]]) };
                for (int i = 1; i < sizes.Length; i++) layers.Add(new Dense(sizes[i], activation: i == sizes.Length - 1 ? "softmax" : "relu"));
                using var model = new Sequential([.. layers]);
                var path = Path.Combine(dir, name + ".onnx");
                var times = new List<double>();
                var copies = new List<double>();
                ExportReport report = null!;
                for (int r = 0; r < reps + (reps > 1 ? 1 : 0); r++) // one warm-up export when repeating
                {
                    var sw = Stopwatch.StartNew();
                    report = model.ExportOnnx(path);
                    double ms = sw.Elapsed.TotalMilliseconds;
                    // The baseline: copying the weights out of libtorch alone, the floor any exporter pays.
                    sw.Restart();
                    long copied = 0;
                    foreach (var v in model.Weights) copied += v.ToArray().LongLength * sizeof(float);
                    double copyMs = sw.Elapsed.TotalMilliseconds;
                    if (copied != rawBytes) throw new InvalidOperationException($"{name}: {copied} weight bytes copied, {rawBytes} expected");
                    if (reps > 1 && r == 0) continue;
                    times.Add(ms);
                    copies.Add(copyMs);
                }
                long onnxBytes = new FileInfo(path).Length;
                long dataBytes = report.ExternalDataPath is string d ? new FileInfo(d).Length : 0;
                if (rawBytes > (1L << 31) && report.ExternalDataPath is null)
                    throw new InvalidOperationException($"{name}: {rawBytes:N0} bytes of weights were written without external data");
                // Prove the file: ONNX Runtime loads it (external data included) and runs one row.
                var load = Stopwatch.StartNew();
                using (var served = OnnxModel.Load(path, new InferenceOptions { IntraOpThreads = 2 }))
                {
                    double loadMs = load.Elapsed.TotalMilliseconds;
                    var output = served.Predict(new float[sizes[0]], [1, sizes[0]]);
                    double sum = output.Data.Sum(v => (double)v);
                    if (Math.Abs(sum - 1) > 1e-3) throw new InvalidOperationException($"{name}: softmax output sums to {sum}");
                    double median = FitBenchmark.Median(times), copy = FitBenchmark.Median(copies);
                    Report.Line($"| {name} | {parameters:N0} | {rawBytes:N0} | {onnxBytes:N0} | {(dataBytes > 0 ? dataBytes.ToString("N0") : "-")} | {onnxBytes + dataBytes - rawBytes:N0} | {median:0.0} | {copy:0.0} | {median / copy:0.00} | {loadMs:0} |");
                    rows.Add((parameters, median, onnxBytes + dataBytes));
                }
                foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        if (rows.Count == 0) return;
        double[] px = [.. rows.Select(r => (double)r.Params)];
        Charts.SavePng(Path.Combine(outDir, "export-size.png"),
        [
            new ChartPanel("Export time vs parameters (opset 17)", "parameters", "export ms") { LogX = true, LogY = true }
                .AddLine("ExportOnnx", px, rows.Select(r => r.Ms)),
            new ChartPanel("File size vs parameters", "parameters", "MB on disk (.onnx + .data)") { LogX = true, LogY = true }
                .AddLine("file", px, rows.Select(r => r.Bytes / 1e6))
                .AddLine("raw float32 weights", px, rows.Select(r => r.Params * 4 / 1e6), dashed: true),
        ], 1100, 480);
        Report.Image("Export time and size vs parameters", Path.Combine(outDir, "export-size.png"));
    }

    // ---- (3) Inference ---------------------------------------------------------------------------------------------

    private static void InferenceScaling(string outDir)
    {
        Keras.SetRandomSeed(14);
        using var model = new Sequential(new InputLayer([784]), new Dense(512, activation: "relu"), new Dense(512, activation: "relu"), new Dense(10, activation: "softmax"));
        var bytes = model.ExportOnnxBytes(out _);
        int threads = torch.get_num_threads();
        using var served = OnnxModel.Load(bytes, new InferenceOptions { IntraOpThreads = threads });
        var rng = new Random(3);
        var input = Enumerable.Range(0, 1024 * 784).Select(_ => (float)rng.NextDouble()).ToArray();
        Report.Heading($"Scaling: ONNX Runtime latency vs batch (MNIST MLP 784-512-512-10, {threads} threads; baseline TorchSharp eager forward, alternating blocks, medians)");
        Report.Line("| batch | OnnxModel.Predict ms/call | us/sample | TorchSharp ms/call | ratio ORT / torch |");
        Report.Line("|---:|---:|---:|---:|---:|");
        int[] batches = Quick ? [1, 16] : [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
        var rows = new List<(int Batch, double Ort, double Torch)>();
        foreach (int batch in batches)
        {
            using var xt = tensor(input.AsSpan(0, batch * 784).ToArray(), [batch, 784]);
            var mem = input.AsMemory(0, batch * 784);
            long[] shape = [batch, 784];
            void Torch()
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                model.Apply(xt).Value.data<float>();
            }
            void Ort() => served.Predict(mem, shape);
            int calls = Math.Clamp(1024 / batch, 3, 200);
            var (torchUs, ortUs) = InferenceBenchmark.Alternate(Torch, Ort, blocks: Quick ? 1 : 7, callsPerBlock: calls);
            rows.Add((batch, ortUs / 1000, torchUs / 1000));
            Report.Line($"| {batch} | {ortUs / 1000:0.000} | {ortUs / batch:0.00} | {torchUs / 1000:0.000} | {ortUs / torchUs:0.000} |");
        }
        double[] bx = [.. batches.Select(b => (double)b)];
        Charts.SavePng(Path.Combine(outDir, "inference-latency.png"),
        [
            new ChartPanel("Latency per call vs batch (784-512-512-10)", "batch size", "ms per call") { LogX = true, LogY = true }
                .AddLine("ONNX Runtime (OnnxModel)", bx, rows.Select(r => r.Ort))
                .AddLine("TorchSharp eager", bx, rows.Select(r => r.Torch), dashed: true),
            new ChartPanel("Time per sample", "batch size", "us per sample") { LogX = true, LogY = true }
                .AddLine("ONNX Runtime (OnnxModel)", bx, rows.Select(r => r.Ort * 1000 / r.Batch))
                .AddLine("TorchSharp eager", bx, rows.Select(r => r.Torch * 1000 / r.Batch), dashed: true),
        ], 1100, 480);
        Report.Image("Inference latency vs batch", Path.Combine(outDir, "inference-latency.png"));
    }
}
