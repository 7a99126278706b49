using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.ML.OnnxRuntime;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using static TorchSharp.torch;
using KerasAdam = OnnxKeras.Optimizers.Adam;
using KerasOptimizer = OnnxKeras.Optimizers.Optimizer;

namespace OnnxKeras.Bench;

/// <summary>
/// The <c>micro</c> mode: BenchmarkDotNet for the operations small enough to repeat thousands of times (an optimizer
/// update, one inference call, one export, one save), each class one comparison with its baseline. Whole training runs
/// stay in the plain timed harness (<see cref="FitBenchmark"/>): an epoch is too long, and too stateful, for
/// BenchmarkDotNet's invocation model. The jobs run in this process (InProcessEmitToolchain): no project is generated
/// and built per benchmark, so the mode works wherever the benchmark program runs and libtorch and ONNX Runtime keep the
/// thread settings of the rest of the run.
/// </summary>
internal static class MicroBenchmarks
{
    /// <summary>BenchmarkDotNet's version, for the report.</summary>
    public static string BdnVersion =>
        typeof(BenchmarkRunner).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(BenchmarkRunner).Assembly.GetName().Version?.ToString() ?? "?";

    /// <summary>The MNIST MLP every micro-benchmark uses (784-512-512-10, 669,706 parameters).</summary>
    public static Sequential MnistMlp(int seed)
    {
        Keras.SetRandomSeed(seed);
        return new Sequential(new InputLayer([784]), new Dense(512, activation: "relu"), new Dense(512, activation: "relu"), new Dense(10, activation: "softmax"));
    }

    public static void Run(bool quick)
    {
        // Quick: one invocation per benchmark, no warm-up (checks the program, not for figures). Otherwise ShortRun:
        // 3 warm-up and 3 measured iterations of about 0.5 s each after BenchmarkDotNet's pilot stage.
        var job = (quick ? Job.Dry : Job.ShortRun).WithToolchain(InProcessEmitToolchain.Instance).WithId(quick ? "Dry" : "ShortRun");
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(ConsoleLogger.Default)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "onnxkeras-benchmarkdotnet"))
            .WithOptions(ConfigOptions.DisableLogFile);
        Type[] classes = [typeof(AdamUpdateBenchmark), typeof(PredictBenchmark), typeof(ExportBenchmarks), typeof(SaveBenchmarks)];
        var titles = new Dictionary<Type, string>
        {
            [typeof(AdamUpdateBenchmark)] = "Adam update, MNIST MLP 784-512-512-10 (669,706 parameters), baseline torch.optim.Adam",
            [typeof(PredictBenchmark)] = "Inference call, MNIST MLP at batch 1, 1 ONNX Runtime thread, baseline bare InferenceSession.Run with pre-allocated OrtValues",
            [typeof(ExportBenchmarks)] = "ONNX export of the MNIST MLP to bytes (opset 17), baseline copying the weights out",
            [typeof(SaveBenchmarks)] = "Saving the MNIST MLP's weights, baseline writing the raw float32 weights to a file",
        };
        foreach (var type in classes)
        {
            var summary = BenchmarkRunner.Run(type, config);
            Report.Heading(titles[type]);
            var log = new AccumulationLogger();
            MarkdownExporter.GitHub.ExportToLog(summary, log);
            Report.Keep(Table(log.GetLog()));
            if (summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success))
                Report.Line("Some benchmarks of this class failed; see the console output of the run.");
        }
    }

    /// <summary>The exporter's markdown without its environment block (the report's header says the machine).</summary>
    private static IEnumerable<string> Table(string markdown)
    {
        var lines = markdown.Replace("\r", "").Split('\n').ToList();
        int fence = lines.FindIndex(l => l.StartsWith("```", StringComparison.Ordinal));
        int close = fence >= 0 ? lines.FindIndex(fence + 1, l => l.StartsWith("```", StringComparison.Ordinal)) : -1;
        if (close > 0) lines.RemoveRange(0, close + 1);
        // Descriptions with spaces come quoted, the quotes HTML-escaped: a space each keeps the columns aligned.
        return lines.SkipWhile(string.IsNullOrWhiteSpace).Select(l => l.Replace("&#39;", " ").TrimEnd());
    }
}

/// <summary>
/// One Adam update of the MNIST MLP's parameters. Both sides receive the same gradients by one copy per variable
/// (torch: into each parameter's <c>.grad</c>; OnnxKeras: <see cref="KerasOptimizer.Apply"/> copies them into its flat
/// gradient buffer, the path of a custom loop that does not bind gradients as Fit does) and then update.
/// </summary>
[MemoryDiagnoser]
public class AdamUpdateBenchmark
{
    private Sequential fusedModel = null!, opModel = null!;
    private IReadOnlyList<Variable> fusedVars = null!, opVars = null!;
    private KerasAdam fusedAdam = null!, opAdam = null!;
    private List<TorchSharp.Modules.Parameter> torchParams = null!;
    private Tensor[] torchGrads = null!;
    private TorchSharp.Modules.Adam torchAdam = null!;

    [GlobalSetup]
    public void Setup()
    {
        (fusedModel, fusedVars, fusedAdam) = MakeKeras(fused: true);
        (opModel, opVars, opAdam) = MakeKeras(fused: false);
        torchParams = fusedVars.Select(v => new TorchSharp.Modules.Parameter(v.Value.detach().clone())).ToList();
        torchGrads = fusedVars.Select(v => v.Value.grad!.detach().clone()).ToArray();
        foreach (var (p, g) in torchParams.Zip(torchGrads)) p.grad = zeros_like(g);
        torchAdam = optim.Adam(torchParams, lr: TrainCase.LearningRate, beta1: TrainCase.Beta1, beta2: TrainCase.Beta2, eps: TrainCase.Epsilon);
        TorchAdam();
    }

    private static (Sequential, IReadOnlyList<Variable>, KerasAdam) MakeKeras(bool fused)
    {
        var model = MicroBenchmarks.MnistMlp(21);
        var vars = model.TrainableWeights;
        Keras.SetRandomSeed(22);
        foreach (var v in vars) v.Value.grad = (randn_like(v.Value) * 0.01).DetachFromDisposeScope();
        var adam = new KerasAdam(TrainCase.LearningRate, TrainCase.Beta1, TrainCase.Beta2, TrainCase.Epsilon);
        KerasOptimizer.UseFusedKernels = fused;
        adam.Apply(vars); // packs the variables
        KerasOptimizer.UseFusedKernels = true;
        return (model, vars, adam);
    }

    [Benchmark(Baseline = true, Description = "torch.optim.Adam (per parameter)")]
    public void TorchAdam()
    {
        using var scope = NewDisposeScope();
        for (int i = 0; i < torchParams.Count; i++) torchParams[i].grad!.copy_(torchGrads[i]);
        torchAdam.step();
    }

    [Benchmark(Description = "OnnxKeras Adam, packed + fused kernel")]
    public void KerasPackedFused() => fusedAdam.Apply(fusedVars);

    [Benchmark(Description = "OnnxKeras Adam, packed, 7-op update")]
    public void KerasPackedOps()
    {
        KerasOptimizer.UseFusedKernels = false;
        opAdam.Apply(opVars);
        KerasOptimizer.UseFusedKernels = true;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        torchAdam.Dispose();
        fusedAdam.Dispose();
        opAdam.Dispose();
        fusedModel.Dispose();
        opModel.Dispose();
    }
}

/// <summary>One inference call of the exported MNIST MLP at batch 1 (one ONNX Runtime thread on both sides).</summary>
[MemoryDiagnoser]
public class PredictBenchmark
{
    private OnnxModel served = null!;
    private ModelBinding binding = null!;
    private InferenceSession session = null!;
    private SessionOptions options = null!;
    private RunOptions runOptions = null!;
    private OrtValue inValue = null!, outValue = null!;
    private string inName = "", outName = "";
    private readonly float[] input = new float[784];
    private readonly long[] shape = [1, 784];

    [GlobalSetup]
    public void Setup()
    {
        byte[] bytes;
        using (var model = MicroBenchmarks.MnistMlp(23)) bytes = model.ExportOnnxBytes(out _);
        var rng = new Random(1);
        for (int i = 0; i < input.Length; i++) input[i] = (float)rng.NextDouble();
        served = OnnxModel.Load(bytes, new InferenceOptions { IntraOpThreads = 1 });
        binding = served.CreateBinding(1, 784);
        input.AsSpan().CopyTo(binding.GetInputBuffer<float>(served.Inputs[0].Name));
        options = new SessionOptions { IntraOpNumThreads = 1 };
        session = new InferenceSession(bytes, options);
        runOptions = new RunOptions();
        inName = session.InputNames[0];
        outName = session.OutputNames[0];
        inValue = OrtValue.CreateTensorValueFromMemory(input.ToArray(), shape);
        outValue = OrtValue.CreateTensorValueFromMemory(new float[10], [1, 10]);
    }

    [Benchmark(Baseline = true, Description = "bare Run, pre-allocated OrtValues")]
    public void BareRun() => session.Run(runOptions, [inName], [inValue], [outName], [outValue]);

    [Benchmark(Description = "bare Run, OrtValues per call (no OnnxKeras code)")]
    public void BareRunPerCall()
    {
        var output = new float[10];
        using var i = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(), shape);
        using var o = OrtValue.CreateTensorValueFromMemory(output, [1, 10]);
        session.Run(runOptions, [inName], [i], [outName], [o]);
    }

    [Benchmark(Description = "OnnxModel.Predict")]
    public object Predict() => served.Predict(input, shape);

    [Benchmark(Description = "ModelBinding.Run")]
    public void BindingRun() => binding.Run();

    [GlobalCleanup]
    public void Cleanup()
    {
        inValue.Dispose();
        outValue.Dispose();
        runOptions.Dispose();
        session.Dispose();
        options.Dispose();
        binding.Dispose();
        served.Dispose();
    }
}

/// <summary>ONNX export of the MNIST MLP to a byte array, against copying its weights out of libtorch alone.</summary>
[MemoryDiagnoser]
public class ExportBenchmarks
{
    private Sequential model = null!;

    [GlobalSetup]
    public void Setup() => model = MicroBenchmarks.MnistMlp(24);

    [Benchmark(Baseline = true, Description = "copy the weights out (float[] per variable)")]
    public long CopyWeights() => model.Weights.Sum(v => v.ToArray().LongLength);

    [Benchmark(Description = "ExportOnnxBytes (opset 17)")]
    public int Export() => model.ExportOnnxBytes(out _).Length;

    [GlobalCleanup]
    public void Cleanup() => model.Dispose();
}

/// <summary>
/// Saving the MNIST MLP's weights to files in a temporary folder: safetensors and Keras 3's .weights.h5 (both written
/// atomically, through a temporary file and a rename), against writing the raw float32 weights to a file.
/// </summary>
[MemoryDiagnoser]
public class SaveBenchmarks
{
    private Sequential model = null!;
    private string dir = "";

    [GlobalSetup]
    public void Setup()
    {
        model = MicroBenchmarks.MnistMlp(25);
        dir = Path.Combine(Path.GetTempPath(), "onnxkeras-micro-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    [Benchmark(Baseline = true, Description = "raw float32 weights to a file")]
    public void Raw()
    {
        using var f = File.Create(Path.Combine(dir, "raw.bin"));
        foreach (var v in model.Weights) f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.ToArray().AsSpan()));
    }

    [Benchmark(Description = "SaveWeights safetensors")]
    public void SafeTensors() => model.SaveWeights(Path.Combine(dir, "model.safetensors"));

    [Benchmark(Description = "SaveWeights .weights.h5")]
    public void WeightsH5() => model.SaveWeights(Path.Combine(dir, "model.weights.h5"));

    [GlobalCleanup]
    public void Cleanup()
    {
        model.Dispose();
        Directory.Delete(dir, recursive: true);
    }
}
