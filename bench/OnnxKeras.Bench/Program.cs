using System.Diagnostics;
using OnnxKeras;
using OnnxKeras.Bench;

// Benchmarks that compare OnnxKeras against a baseline measured in the same process and report ratios.
// Usage: dotnet run -c Release --project bench/OnnxKeras.Bench -- [all|fit|ablation|export|inference|memory|scaling|micro|gpu] [--threads N|auto] [--repeats N]
//        --threads auto: leave libtorch's thread count to OnnxKeras's automatic choice (docs/training.md); default 2, except the fit
//        mode's cases, which default to auto (what a user gets without SetThreads; the loop runs at the count Fit chose)
//        all: runs fit, ablation, export, inference, memory, scaling and micro, then writes bench/RESULTS.md (temp file + rename)
//        --report PATH: write the report there instead (any mode; single modes only print without it)
//        --quick: tiny settings to check the program (one repeat, one training case, small scaling, BenchmarkDotNet's Dry job)
//        fit: [--samples N] (alternating samples of about 40 ms per side; default 25) [--device cpu|cuda] [--cases id,id] [--out DIR] (default bench/out/train: the cases for bench/pytorch) [--no-peak]
//             [--in-process] (all cases in this process; by default each case runs in a fresh child process with glibc's malloc thresholds pinned, bench/NOTES.md)
//             [--jit] (instead: eager Fit vs compiled Fit (jitCompile: true) vs the loop, alternating in one process)
//             [--jit-predict] (instead: Predict vs its eager forward pass vs that pass compiled, batch 32 and 1)
//             [--pytorch PYTHON] (a Python with torch: runs bench/pytorch/train_reference.py on the cases, table into the report)
//        memory: [--steps N] (default 10,000); scaling: [--scaling-repeats N] (default 3) [--out DIR] (PNG plots; default: the report's folder)
//        pipeline: Prefetch overlapping a Map that sleeps [--sleep-ms N] (default 5) per batch with training (not part of all)
string[] modes = ["all", "fit", "ablation", "export", "inference", "memory", "scaling", "micro", "gpu", "pipeline"];
string mode = args.FirstOrDefault(a => !a.StartsWith("--") && !IsValue(a)) ?? "all";
if (mode == "train-peak")
{
    // A child of the fit mode's peak-memory comparison: train-peak CASE fit|loop [--threads N --device D].
    Keras.SetThreads(ArgValue("--threads", 2));
    if (ArgString("--device") == "cuda") Keras.Device = TorchSharp.torch.CUDA;
    PeakMemory.RunChild(args[1], args[2]);
    return 0;
}
if (mode == "fit-case")
{
    // A child of the fit mode (each case in a fresh process): fit-case CASE --samples N --out DIR --peak-gflops G --threads T --device D.
    if (ArgString("--threads") != "auto") Keras.SetThreads(ArgValue("--threads", 2));
    if (ArgString("--device") == "cuda") Keras.Device = TorchSharp.torch.CUDA;
    double peakGflops = double.Parse(ArgString("--peak-gflops")!, System.Globalization.CultureInfo.InvariantCulture);
    Console.WriteLine(FitBenchmark.RowPrefix + FitBenchmark.RunCase(args[1], ArgValue("--samples", 25), ArgString("--out")!, peakGflops));
    return 0;
}
if (mode == "lstm-probe")
{
    Keras.SetThreads(ArgValue("--threads", 1));
    LstmProbe.Run(args[1]);
    return 0;
}
if (!modes.Contains(mode))
{
    Console.Error.WriteLine($"Unknown mode '{mode}'; one of: {string.Join(", ", modes)}.");
    return 2;
}
bool quick = args.Contains("--quick");
int repeats = ArgValue("--repeats", quick ? 1 : 7);
// "auto": no SetThreads, so Fit and Predict choose the count per model (the default a user gets).
if (ArgString("--threads") != "auto") Keras.SetThreads(ArgValue("--threads", 2));
if (ArgString("--device") == "cuda") Keras.Device = TorchSharp.torch.CUDA;
InferenceBenchmark.Quick = ScalingBenchmark.Quick = quick;
string? reportPath = ArgString("--report") ?? (mode == "all" ? Path.Combine(BenchFolder(), "RESULTS.md") : null);
Report.OutputPath = reportPath;
foreach (var (key, value) in Report.Machine()) Console.WriteLine($"{key}: {value}");

var cases = ArgString("--cases")?.Split(',').ToHashSet() ?? (quick ? ["quickstart_mlp_b32"] : null);
string trainOut = ArgString("--out") is { } o && mode == "fit" ? o : Path.Combine(BenchFolder(), "out", "train");
if (mode is "ablation" || (mode is "all" && !quick))
{
    Report.Begin("ablation");
    FitBenchmark.RunAblation(repeats, cases);
}
if (mode is "fit" or "all")
{
    Report.Begin("fit");
    if (args.Contains("--jit-predict")) JitBenchmark.RunPredict(ArgValue("--samples", quick ? 3 : 25), cases);
    else if (args.Contains("--jit")) JitBenchmark.Run(ArgValue("--samples", quick ? 3 : 25), cases);
    else FitBenchmark.Run(ArgValue("--samples", quick ? 3 : 25), trainOut, cases, !args.Contains("--no-peak"), args.Contains("--in-process"),
        ArgString("--threads") ?? "auto");
    if (ArgString("--pytorch") is { } python) PyTorchReference(python, trainOut);
}
if (mode is "export" or "all")
{
    Report.Begin("export");
    ExportBenchmark.Run(repeats);
}
if (mode is "inference" or "all")
{
    Report.Begin("inference");
    InferenceBenchmark.Run();
}
if (mode is "gpu")
{
    Report.Begin("gpu");
    InferenceBenchmark.RunGpu();
}
if (mode is "memory" or "all")
{
    Report.Begin("memory");
    MemoryBenchmark.Run(steps: ArgValue("--steps", quick ? 1_000 : 10_000));
}
if (mode is "scaling" or "all")
{
    Report.Begin("scaling");
    string plots = ArgString("--out") is { } dir && mode == "scaling" ? dir
        : reportPath is not null ? Path.GetDirectoryName(Path.GetFullPath(reportPath))! : BenchFolder();
    ScalingBenchmark.Run(ArgValue("--scaling-repeats", 3), plots);
}
if (mode is "pipeline")
{
    Report.Begin("pipeline");
    PipelineBenchmark.Run(repeats, ArgValue("--sleep-ms", 5));
}
if (mode is "micro" or "all")
{
    Report.Begin("micro");
    MicroBenchmarks.Run(quick);
}
if (reportPath is null) return 0;

// The server benchmark is a separate program (no TorchSharp); it leaves its table in bench/out/server.md.
string serverTable = Path.Combine(BenchFolder(), "out", "server.md");
Report.Begin("server");
Report.Keep(File.Exists(serverTable)
    ? File.ReadAllLines(serverTable)
    : ["Not measured for this report: run `dotnet run -c Release --project bench/OnnxKeras.ServerBench` first (it writes bench/out/server.md)."]);
var notes = new List<string>();
if (quick) notes.Add("**--quick**: tiny settings to check the program; these figures mean nothing.");
if (mode != "all") notes.Add($"Only the {mode} mode ran.");
string command = "dotnet run -c Release --project bench/OnnxKeras.Bench -- " + string.Join(' ', args);
Report.Write(reportPath, command.TrimEnd(), notes);
return 0;

// Runs bench/pytorch/train_reference.py on the cases just written and keeps its table (and its OK/FAIL lines).
void PyTorchReference(string python, string dir)
{
    Report.Begin("pytorch");
    string script = Path.Combine(BenchFolder(), "pytorch", "train_reference.py");
    var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    psi.ArgumentList.Add(script);
    psi.ArgumentList.Add(dir);
    if (cases is not null)
    {
        psi.ArgumentList.Add("--cases");
        psi.ArgumentList.Add(string.Join(',', cases));
    }
    Console.WriteLine($"Running {python} {script} {dir}");
    using var p = Process.Start(psi)!;
    var stderr = p.StandardError.ReadToEndAsync();
    string output = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    foreach (var line in output.Split('\n').Select(l => l.TrimEnd()))
        Report.Line(line);
    if (p.ExitCode != 0) Report.Line($"train_reference.py exited with status {p.ExitCode}: {stderr.Result.Trim().Split('\n').LastOrDefault()}");
    Report.Begin("fit");
}

bool IsValue(string a)
{
    int i = Array.IndexOf(args, a);
    return i > 0 && args[i - 1] is "--threads" or "--repeats" or "--cases" or "--out" or "--device" or "--steps" or "--scaling-repeats" or "--report" or "--pytorch" or "--samples" or "--sleep-ms" or "--peak-gflops";
}

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
