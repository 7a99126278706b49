using System.Diagnostics;
using OnnxKeras;
using OnnxKeras.Bench;

// Benchmarks that compare OnnxKeras against a baseline measured in the same process and report ratios.
// Usage: dotnet run -c Release --project bench/OnnxKeras.Bench -- [fit|ablation|export|inference|memory|scaling|all|gpu] [--threads N] [--repeats N]
//        fit: [--device cpu|cuda] [--cases id,id] [--out DIR] (default bench/out/train: the cases for bench/pytorch) [--no-peak]
//        scaling: [--scaling-repeats N] (default 3) [--out DIR] (default: the repository's bench/ folder, for its PNG plots)
string mode = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "all";
int threads = ArgValue("--threads", 2);
int repeats = ArgValue("--repeats", 7);
Keras.SetThreads(threads);
if (ArgString("--device") == "cuda") Keras.Device = TorchSharp.torch.CUDA;
if (mode == "train-peak")
{
    // A child of the fit mode's peak-memory comparison: train-peak CASE fit|loop.
    PeakMemory.RunChild(args[1], args[2]);
    return;
}
Console.WriteLine($"Machine: {Environment.ProcessorCount} logical cores, {Environment.OSVersion}, .NET {Environment.Version}, libtorch threads {threads}");

var cases = ArgString("--cases")?.Split(',').ToHashSet();
if (mode is "ablation") FitBenchmark.RunAblation(repeats, cases);
if (mode is "fit" or "all") FitBenchmark.Run(repeats, ArgString("--out") is { } o && mode == "fit" ? o : Path.Combine(BenchFolder(), "out", "train"), cases, !args.Contains("--no-peak"));
if (mode is "export" or "all") ExportBenchmark.Run(repeats);
if (mode is "inference" or "all") InferenceBenchmark.Run();
if (mode is "gpu") InferenceBenchmark.RunGpu();
if (mode is "memory" or "all") MemoryBenchmark.Run(steps: ArgValue("--steps", 10_000));
if (mode is "scaling" or "all") ScalingBenchmark.Run(ArgValue("--scaling-repeats", 3), ArgString("--out") ?? BenchFolder());

string? ArgString(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

// The repository's bench/ folder (found above the build output), else the working directory.
static string BenchFolder()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "OnnxKeras.sln"))) return Path.Combine(dir.FullName, "bench");
    return Directory.GetCurrentDirectory();
}

int ArgValue(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}
