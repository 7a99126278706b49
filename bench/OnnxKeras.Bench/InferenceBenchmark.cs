using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Bench;

/// <summary>
/// Inference on the MNIST MLP (784-512-512-10, exported at opset 17):
/// (1) OnnxModel.Predict against a bare ONNX Runtime Run with pre-allocated OrtValues (input and output), batch 1;
/// (2) ONNX Runtime against the TorchSharp eager forward of the same model, batch 1 and 1000.
/// Blocks of calls alternate between the two sides; medians of per-call times are compared.
/// </summary>
internal static class InferenceBenchmark
{
    /// <summary>Quick mode: one block per comparison (checks the program, not for figures).</summary>
    public static bool Quick { get; set; }

    private static int Blocks(int full) => Quick ? 1 : full;

    public static void Run()
    {
        Report.Heading("Inference, MNIST MLP 784-512-512-10 (CPU)");
        Keras.SetRandomSeed(6);
        using var model = new Sequential(new InputLayer([784]), new Dense(512, activation: "relu"), new Dense(512, activation: "relu"), new Dense(10, activation: "softmax"));
        var bytes = model.ExportOnnxBytes(out _);
        // One intra-op thread for both sessions: two sessions with thread pools in one process spin against each other
        // and make whichever runs second look slower; at batch 1 a pool does not help this model anyway.
        using var served = OnnxModel.Load(bytes, new InferenceOptions { IntraOpThreads = 1 });
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(bytes, sessionOptions);
        var rng = new Random(1);
        var input = Enumerable.Range(0, 1000 * 784).Select(_ => (float)rng.NextDouble()).ToArray();

        // (1) Predict overhead at batch 1.
        var output = new float[10];
        using var inValue = OrtValue.CreateTensorValueFromMemory(input.AsMemory(0, 784).ToArray(), [1, 784]);
        using var outValue = OrtValue.CreateTensorValueFromMemory(output, [1, 10]);
        using var runOptions = new RunOptions();
        string inName = session.InputNames[0], outName = session.OutputNames[0];
        void Bare() => session.Run(runOptions, [inName], [inValue], [outName], [outValue]);
        var memory = input.AsMemory(0, 784);
        long[] shape = [1, 784];
        void Predict() => served.Predict(memory, shape);
        var (bare, predict) = AlternateBlocks(Bare, Predict, Blocks(15), callsPerBlock: 300);
        // What a caller pays without pre-allocation: input and output OrtValues created for each call (no validation).
        void BarePerCall()
        {
            var outArray = new float[10];
            using var i = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, memory, shape);
            using var o = OrtValue.CreateTensorValueFromMemory(outArray, [1, 10]);
            session.Run(runOptions, [inName], [i], [outName], [o]);
        }
        var (bare3, perCall) = AlternateBlocks(Bare, BarePerCall, Blocks(15), callsPerBlock: 300);
        // The same with OnnxKeras's I/O binding: buffers bound once, like the baseline's pre-allocated OrtValues.
        using var binding = served.CreateBinding(1, 784);
        memory.Span.CopyTo(binding.GetInputBuffer<float>(served.Inputs[0].Name));
        var (bare2, bound) = AlternateBlocks(Bare, binding.Run, Blocks(15), callsPerBlock: 300);
        Report.Line($"| case | baseline us/call | OnnxKeras us/call | ratio | goal | ratio of minima | spread baseline / OnnxKeras (us, {Blocks(15)} blocks) |");
        Report.Line("|---|---|---|---|---|---|---|");
        Report.Line($"| OnnxModel.Predict (allocates and copies the output) vs bare Run with pre-allocated OrtValues, batch 1, 1 thread | {Cells(bare, predict, "<= 1.05")}");
        Report.Line($"| bare Run with OrtValues created per call (reference, no OnnxKeras code) vs pre-allocated, batch 1, 1 thread | {Cells(bare3, perCall, "reference")}");
        Report.Line($"| ModelBinding.Run (pre-bound buffers) vs bare Run with pre-allocated OrtValues, batch 1, 1 thread | {Cells(bare2, bound, "<= 1.05")}");

        // (2) ONNX Runtime vs TorchSharp eager forward, both with libtorch's thread count.
        binding.Dispose();
        served.Dispose();
        session.Dispose();
        using var threaded = OnnxModel.Load(bytes, new InferenceOptions { IntraOpThreads = torch.get_num_threads() });
        foreach (int batch in new[] { 1, 1000 })
        {
            using var xt = tensor(input.AsSpan(0, batch * 784).ToArray(), [batch, 784]);
            var mem = input.AsMemory(0, batch * 784);
            long[] s = [batch, 784];
            void Torch()
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                model.Apply(xt).Value.data<float>();
            }
            void Ort() => threaded.Predict(mem, s);
            var (torchTimes, ortTimes) = AlternateBlocks(Torch, Ort, Blocks(11), callsPerBlock: batch == 1 ? 300 : 5);
            Report.Line($"| ONNX Runtime (OnnxModel) vs TorchSharp eager forward (baseline), batch {batch}, {torch.get_num_threads()} threads | {Cells(torchTimes, ortTimes, "report")}");
        }
    }

    /// <summary>
    /// For a GPU machine with CUDA 13 and cuDNN 9 on LD_LIBRARY_PATH: CPU vs CUDA parity and latency for the MNIST CNN and
    /// a large MLP at several batch sizes. On a machine without CUDA it prints ONNX Runtime's reason and stops.
    /// </summary>
    public static void RunGpu()
    {
        Report.Heading("ONNX Runtime CPU vs CUDA");
        Keras.SetRandomSeed(7);
        var models = new (string Name, Model Model, long[] Sample)[]
        {
            ("MNIST CNN", new Sequential(new InputLayer([28, 28, 1]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2), new Conv2D(64, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(), new Dense(10, activation: "softmax")), [28, 28, 1]),
            ("MLP 8x4096", new Sequential([new InputLayer([4096]), .. Enumerable.Range(0, 8).Select(_ => (Layer)new Dense(4096, activation: "relu"))]), [4096]),
        };
        Report.Line("| model | batch | CPU ms | CUDA ms | speed-up | max abs diff |");
        Report.Line("|---|---|---|---|---|---|");
        foreach (var (name, model, sample) in models)
        {
            var bytes = model.ExportOnnxBytes(out _);
            using var cpu = OnnxModel.Load(bytes, new InferenceOptions { Device = ExecutionDevice.Cpu });
            OnnxModel gpu;
            try
            {
                gpu = OnnxModel.Load(bytes, new InferenceOptions { Device = ExecutionDevice.Cuda, CudaUseTf32 = false });
            }
            catch (ExecutionProviderException e)
            {
                Report.Line($"CUDA is not available here: {e.Reason}");
                return;
            }
            using (gpu)
            {
                foreach (int batch in new[] { 1, 64, 512 })
                {
                    long per = sample.Aggregate(1L, (a, b) => a * b);
                    var rng = new Random(batch);
                    var x = Enumerable.Range(0, (int)(batch * per)).Select(_ => (float)rng.NextDouble()).ToArray();
                    long[] shape = [batch, .. sample];
                    var a = cpu.Predict(x, shape).Data;
                    var b = gpu.Predict(x, shape).Data;
                    double diff = a.Zip(b, (p, q) => (double)Math.Abs(p - q)).Max();
                    var (cpuMs, gpuMs) = Alternate(() => cpu.Predict(x, shape), () => gpu.Predict(x, shape), blocks: 5, callsPerBlock: batch == 512 ? 3 : 20);
                    Report.Line($"| {name} | {batch} | {cpuMs / 1000:0.000} | {gpuMs / 1000:0.000} | {cpuMs / gpuMs:0.0} | {diff:E1} |");
                }
            }
            model.Dispose();
        }
    }

    /// <summary>Alternating blocks of calls after a warm-up; medians of microseconds per call.</summary>
    internal static (double First, double Second) Alternate(Action first, Action second, int blocks, int callsPerBlock)
    {
        var (a, b) = AlternateBlocks(first, second, blocks, callsPerBlock);
        return (FitBenchmark.Median(a), FitBenchmark.Median(b));
    }

    /// <summary>Like <see cref="Alternate"/>, returning every block's microseconds per call.</summary>
    internal static (List<double> First, List<double> Second) AlternateBlocks(Action first, Action second, int blocks, int callsPerBlock)
    {
        for (int i = 0; i < 20; i++) { first(); second(); }
        var a = new List<double>();
        var b = new List<double>();
        for (int block = 0; block < blocks; block++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < callsPerBlock; i++) first();
            a.Add(sw.Elapsed.TotalMicroseconds / callsPerBlock);
            sw.Restart();
            for (int i = 0; i < callsPerBlock; i++) second();
            b.Add(sw.Elapsed.TotalMicroseconds / callsPerBlock);
        }
        return (a, b);
    }

    /// <summary>Medians and min-max of both sides: "base | ours | ratio of medians | goal | ratio of minima | spread" cells.</summary>
    private static string Cells(List<double> baseline, List<double> ours, string goal)
    {
        double b = FitBenchmark.Median(baseline), o = FitBenchmark.Median(ours);
        return $"{b:0.0} | {o:0.0} | {o / b:0.000} | {goal} | {ours.Min() / baseline.Min():0.000} | " +
               $"{baseline.Min():0.0}-{baseline.Max():0.0} / {ours.Min():0.0}-{ours.Max():0.0} |";
    }
}
