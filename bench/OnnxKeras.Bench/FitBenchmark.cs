using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace OnnxKeras.Bench;

/// <summary>
/// The training benchmark (issue 8): each <see cref="TrainCase"/> in Fit and in a hand-written TorchSharp loop, from the
/// same weights, on the same batches. Before timing, the first 20 losses of both must agree within 1e-4, so speed never
/// comes from computing something else. Epochs alternate between the two so drift on a shared machine hits both; the
/// ratio of medians is reported. Each case is also written to <c>OUT/&lt;case&gt;/</c> (initial weights in PyTorch's
/// layout, data, Fit's losses and times) for <c>bench/pytorch/train_reference.py</c>, which reruns it in PyTorch.
/// </summary>
internal static class FitBenchmark
{
    public const int CheckSteps = 20;
    public const double LossTolerance = 1e-4;

    /// <summary>Target length of one timed sample of one side: short, so that many samples alternate within the time
    /// that 7 samples of 100 ms or more took before, and a burst of host activity spoils few of them.</summary>
    public const double SampleMs = 40;

    /// <summary>A case is dispatch-bound when its FLOPs at the measured matrix-product peak would take less than this
    /// share of the hand-written loop's fastest step: a BLAS k times slower then adds at most (k - 1) x share.</summary>
    public const double DispatchBoundShare = 0.10;

    /// <summary>
    /// The table. Each case runs in a fresh child process (<c>fit-case</c>, <see cref="RunCaseInChild"/>) with glibc's
    /// malloc thresholds pinned (<see cref="PinnedMalloc"/>) unless <paramref name="inProcess"/>: with glibc's default
    /// dynamic thresholds a case's speed depended on the cases before it and, even in a fresh process, on the order in
    /// which large buffers happened to be freed (bench/NOTES.md, 2026-12-06: lstm_b64 25 or 50 ms/step, the CNN 17 or
    /// 28 ms/step, the MNIST MLP b128 loop 5.1 or 6.6 ms/step).
    /// </summary>
    public static void Run(int samples, string outDir, IReadOnlySet<string>? only, bool peakMemory, bool inProcess = false, string threads = "auto")
    {
        var (matmul, conv) = PeakGflops();
        double peak = Math.Max(matmul, conv);
        var ids = TrainCase.Ids(only);
        bool children = !inProcess;
        Report.Heading($"Fit vs hand-written TorchSharp loop ({Keras.Device.type}; per-step time over {samples} alternating samples " +
                       $"of about {SampleMs:0} ms each: medians, minima and process CPU time; " +
                       $"{(children ? "each case in a fresh process, malloc thresholds pinned" : "cases in one process")}; libtorch threads {threads} " +
                       $"(both sides); peak: 1024^3 matmul {matmul:0}, " +
                       $"3x3 convolution {conv:0} GFLOP/s)");
        Report.Line("| case | batch | steps/sample | Fit ms/step | loop ms/step | ratio of medians (goal) | ratio of minima | " +
                    $"CPU ms/step Fit / loop | CPU ratio | bound (BLAS share at {peak:0} GFLOP/s) | loss agreement, {CheckSteps} steps | spread Fit / loop |");
        Report.Line("|---|---|---|---|---|---|---|---|---|---|---|---|");
        var peaks = new List<string>();
        foreach (var id in ids)
        {
            Report.Line(children ? RunCaseInChild(id, samples, outDir, peak, threads) : RunCase(id, samples, outDir, peak));
            if (peakMemory) peaks.Add(PeakMemory.Compare(id));
        }
        Console.WriteLine($"Cases for the PyTorch reference written to {outDir} (python3 bench/pytorch/train_reference.py {outDir}).");
        if (peaks.Count == 0) return;
        Report.Heading("Peak memory (RSS high-water mark of a fresh process training 3 epochs; median of 3 alternating pairs)");
        Report.Line("| case | Fit MiB | loop MiB | ratio (goal <= 1.10) | ratio per pair, range |");
        Report.Line("|---|---|---|---|---|");
        foreach (var row in peaks) Report.Line(row);
    }

    /// <summary>Runs one case (loss check, sample plan, alternating samples), writes its reference files, returns its table row.</summary>
    internal static string RunCase(string id, int samples, string outDir, double peak)
    {
        using var c = TrainCase.All(new HashSet<string> { id }).Single()();
        var fitLosses = c.FitLosses(CheckSteps);
        var handLosses = c.HandLosses(CheckSteps);
        double diff = fitLosses.Zip(handLosses, (a, b) => Math.Abs(a - b)).Max();
        bool agrees = diff <= LossTolerance;
        string agreement = $"{diff:0.0e0} {(agrees ? "ok" : "DIFFERENT")}";
        if (!agrees)
        {
            // Where the curves part: a first-step difference means different math, a growing one amplified rounding.
            var at = new[] { 1, 2, 5, 10, CheckSteps }.Select(k => $"step {k}: {Math.Abs(fitLosses[k - 1] - handLosses[k - 1]):0.0e0}");
            Console.Error.WriteLine($"{c.Id}: Fit and loop losses differ; {string.Join(", ", at)}");
        }
        var plan = PlanSamples(c);
        var (fit, hand) = AlternateTimed(i => plan.Run(c, i, fit: true), i => plan.Run(c, i, fit: false), samples, plan.StepsPerSample);
        double ratio = Median(fit.Wall) / Median(hand.Wall);
        string goal = c.CpuGoal is double g ? $" ({(ratio <= g ? "<=" : ">")} {g:0.00})" : "";
        string bound = Bound(c.FlopsPerStep, peak, hand.Wall.Min());
        string timing = agrees
            ? $"{Median(fit.Wall):0.000} | {Median(hand.Wall):0.000} | {ratio:0.000}{goal} | {fit.Wall.Min() / hand.Wall.Min():0.000} | " +
              $"{Median(fit.Cpu):0.000} / {Median(hand.Cpu):0.000} | {Median(fit.Cpu) / Median(hand.Cpu):0.000}"
            : "-- | -- | not timed: losses differ | -- | -- | --";
        ReferenceCase.Write(Path.Combine(outDir, c.Id), c, fitLosses, fit, hand, samples, plan.StepsPerSample, peak, bound);
        return $"| {c.Name} | {c.Batch} | {plan.StepsPerSample} | {timing} | {bound} | {agreement} | {Spread(fit.Wall)} / {Spread(hand.Wall)} |";
    }

    /// <summary>
    /// glibc malloc settings for the <c>fit-case</c> children (unless GLIBC_TUNABLES is set already): a fixed mmap
    /// threshold of 32 MiB (glibc's largest; the default starts at 128 KiB and rises to the size of the largest mmapped
    /// block freed so far, so it depends on the order of frees) and a trim threshold of 1 GiB (the default is twice the
    /// mmap threshold), so buffers under 32 MiB are reused from the heap instead of being mapped and faulted in again each
    /// step, whatever happened before. Buffers over 32 MiB (the LSTM's oneDNN workspace) are mapped per call either way.
    /// </summary>
    internal const string PinnedMalloc = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";

    /// <summary>The device name the children take after <c>--device</c>.</summary>
    internal static string DeviceName => Keras.Device.type == TorchSharp.DeviceType.CUDA ? "cuda" : "cpu";

    /// <summary>
    /// A fresh process of this benchmark program with <paramref name="args"/> (stdout redirected), with
    /// <see cref="PinnedMalloc"/> unless the caller set <c>GLIBC_TUNABLES</c>: the fit-case and peak-memory children.
    /// </summary>
    internal static ProcessStartInfo ChildProcess(params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (!Environment.ProcessPath!.EndsWith("OnnxKeras.Bench", StringComparison.Ordinal)) psi.ArgumentList.Add(typeof(FitBenchmark).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null) psi.Environment["GLIBC_TUNABLES"] = PinnedMalloc;
        return psi;
    }

    /// <summary>The line a <c>fit-case</c> child prints its table row on.</summary>
    internal const string RowPrefix = "FIT_CASE_ROW ";

    /// <summary>
    /// <see cref="RunCase"/> in a fresh process (<c>fit-case ID --samples N --out DIR --peak-gflops G --threads T --device D</c>),
    /// so that the case starts from the same process state (C heap, libtorch and oneDNN caches, the GC) whatever ran before,
    /// with <see cref="PinnedMalloc"/>.
    /// </summary>
    private static string RunCaseInChild(string id, int samples, string outDir, double peak, string threads)
    {
        var psi = ChildProcess("fit-case", id, "--samples", samples.ToString(CultureInfo.InvariantCulture), "--out", outDir,
            "--peak-gflops", peak.ToString("R", CultureInfo.InvariantCulture), "--threads", threads, "--device", DeviceName);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var row = output.Split('\n').FirstOrDefault(l => l.StartsWith(RowPrefix, StringComparison.Ordinal));
        if (p.ExitCode != 0 || row is null)
            throw new InvalidOperationException($"fit-case {id} exited with status {p.ExitCode} and printed no row:\n{output}");
        return row[RowPrefix.Length..].TrimEnd();
    }

    /// <summary>
    /// "dispatch-bound" or "BLAS-bound", with the share: the case's FLOPs per step at <paramref name="peakGflops"/> (a
    /// large matrix product measured in this process) over the loop's fastest step. Below <see cref="DispatchBoundShare"/>
    /// the step is per-op overhead (dispatch, autograd, allocation), so a comparison with a PyTorch on any BLAS is fair;
    /// above it the BLAS's speed shows in the step, so compare only with a PyTorch on the same BLAS (MKL/oneDNN).
    /// </summary>
    internal static string Bound(double flopsPerStep, double peakGflops, double loopMsPerStep)
    {
        double share = flopsPerStep / (peakGflops * 1e9) / (loopMsPerStep / 1e3);
        return $"{(share < DispatchBoundShare ? "dispatch-bound" : "BLAS-bound")} ({share:0.00})";
    }

    /// <summary>
    /// The peak the BLAS share is taken against (at the current thread count), in GFLOP/s of the best of 10 runs (after one
    /// untimed) of two products: a 1024 x 1024 x 1024 float32 matmul (MKL in libtorch's CPU build) and a 3x3
    /// convolution 128 -> 128 channels on 4 x 32 x 32 with padding 1 (oneDNN, which also runs the LSTM). On this AMD
    /// host MKL stays on 256-bit code while oneDNN uses AVX-512: the matmul alone understated the peak about 2x
    /// (bench/NOTES.md, 2026-12-06), and oneDNN-bound cases read shares above 1.
    /// </summary>
    internal static (double Matmul, double Conv) PeakGflops()
    {
        var device = Keras.Device;
        using var a = rand(1024, 1024, device: device);
        using var b = rand(1024, 1024, device: device);
        using var x = rand(4, 128, 32, 32, device: device);
        using var w = rand(128, 128, 3, 3, device: device);
        double matmul = Best(() => a.matmul(b), 2.0 * 1024 * 1024 * 1024);
        double conv = Best(() => nn.functional.conv2d(x, w, padding: [1, 1]), 2.0 * 4 * 32 * 32 * 128 * 128 * 9);
        return (matmul, conv);

        static double Best(Func<Tensor> run, double flops)
        {
            double best = double.MaxValue;
            for (int i = 0; i <= 10; i++)
            {
                var sw = Stopwatch.StartNew();
                using (var p = run())
                    p.view(-1)[0].item<float>(); // waits for the device
                if (i > 0) best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return flops / best / 1e9;
        }
    }

    /// <summary>
    /// How a case is cut into timed samples of about <see cref="SampleMs"/>: whole epochs when an epoch is shorter, else
    /// chunks of <see cref="ChunkSteps"/> consecutive steps (cycling through the epoch's chunks, never across its end).
    /// </summary>
    internal sealed record SamplePlan(int Epochs, long ChunkSteps, long Chunks, long StepsPerSample)
    {
        public void Run(TrainCase c, int sample, bool fit)
        {
            if (ChunkSteps == 0)
            {
                for (int e = 0; e < Epochs; e++)
                    if (fit) c.FitEpoch(); else c.HandEpoch();
                return;
            }
            long first = sample % Chunks * ChunkSteps;
            if (fit) c.FitSteps(first, ChunkSteps); else c.HandSteps(first, ChunkSteps);
        }
    }

    private static SamplePlan PlanSamples(TrainCase c)
    {
        var sw = Stopwatch.StartNew();
        c.HandEpoch();
        double epochMs = Math.Max(1e-3, sw.Elapsed.TotalMilliseconds);
        if (epochMs <= SampleMs || c.StepsPerEpoch == 1)
        {
            int epochs = (int)Math.Ceiling(SampleMs / epochMs);
            return new SamplePlan(epochs, 0, 0, c.StepsPerEpoch * epochs);
        }
        long k = Math.Clamp((long)Math.Ceiling(SampleMs / (epochMs / c.StepsPerEpoch)), 1, c.StepsPerEpoch);
        return new SamplePlan(0, k, c.StepsPerEpoch / k, k);
    }

    /// <summary>
    /// The optimizations of issue 8 one at a time (for bench/NOTES.md): per case, Fit / loop with variables kept
    /// separate (the update of earlier versions), packed into flat buffers, and packed with the fused Adam kernel.
    /// </summary>
    public static void RunAblation(int repeats, IReadOnlySet<string>? only)
    {
        Report.Heading($"Optimizations one at a time (Fit / hand-written loop, median of {repeats} alternating samples)");
        Report.Line("| case | per-variable update | packed (flat buffers, 7-op Adam) | packed + fused Adam kernel |");
        Report.Line("|---|---|---|---|");
        var settings = new (bool Pack, bool Fused)[] { (false, false), (true, false), (true, true) };
        foreach (var make in TrainCase.All(only ?? new HashSet<string> { "quickstart_mlp_b32", "mnist_mlp_b128", "mnist_cnn_b128" }))
        {
            string name = "";
            var cells = new List<string>();
            foreach (var (pack, fused) in settings)
            {
                Optimizers.Optimizer.PackVariables = pack;
                Optimizers.Optimizer.UseFusedKernels = fused;
                using var c = make();
                name = c.Name;
                int perSample = SamplesFor(c);
                var (fitTimes, handTimes) = Alternate(c.FitEpoch, c.HandEpoch, repeats, c.StepsPerEpoch * perSample, perSample);
                double fit = Median(fitTimes), hand = Median(handTimes);
                cells.Add($"{fit / hand:0.000} ({fit:0.000} / {hand:0.000} ms)");
            }
            Report.Line($"| {name} | {string.Join(" | ", cells)} |");
        }
        Optimizers.Optimizer.PackVariables = true;
        Optimizers.Optimizer.UseFusedKernels = true;
    }

    /// <summary>Epochs per timed sample so that a sample is at least ~100 ms of work (timer and call overheads stay small).</summary>
    private static int SamplesFor(TrainCase c)
    {
        var sw = Stopwatch.StartNew();
        c.HandEpoch();
        return Math.Max(1, (int)Math.Ceiling(100 / Math.Max(1e-3, sw.Elapsed.TotalMilliseconds)));
    }

    /// <summary>What <see cref="Measure"/> found: medians and all samples in ms per step, and the steps of one epoch.</summary>
    internal sealed record Measurement(double Fit, double Loop, List<double> FitTimes, List<double> LoopTimes, long Steps);

    /// <summary>
    /// Fit against the hand-written loop for the MLP <paramref name="sizes"/> (input, hidden..., classes; relu and a
    /// softmax output) on all rows of <paramref name="x"/>: one epoch is one pass over them in batches of
    /// <paramref name="batch"/>, <paramref name="epochsPerSample"/> epochs make one timed sample, samples alternate.
    /// </summary>
    internal static Measurement Measure(int[] sizes, Tensor x, Tensor y, int batch, int repeats, int epochsPerSample)
    {
        using var c = TrainCase.Mlp("mlp", "MLP", sizes, x, y, batch, null, ownsData: false);
        var (fitTimes, handTimes) = Alternate(c.FitEpoch, c.HandEpoch, repeats, c.StepsPerEpoch * epochsPerSample, epochsPerSample);
        return new Measurement(Median(fitTimes), Median(handTimes), fitTimes, handTimes, c.StepsPerEpoch);
    }

    /// <summary>
    /// Warms both up once, then times <paramref name="repeats"/> alternating samples of <paramref name="perSample"/> runs
    /// each; returns milliseconds per step for each side.
    /// </summary>
    internal static (List<double> First, List<double> Second) Alternate(Action first, Action second, int repeats, long stepsPerSample, int perSample = 1)
    {
        var (a, b) = AlternateTimed(_ => { for (int e = 0; e < perSample; e++) first(); }, _ => { for (int e = 0; e < perSample; e++) second(); },
            repeats, stepsPerSample);
        return (a.Wall, b.Wall);
    }

    /// <summary>Per-sample milliseconds per step: wall-clock, and CPU time of the whole process (all threads).</summary>
    internal sealed class Timing
    {
        public List<double> Wall { get; } = [];
        public List<double> Cpu { get; } = [];
    }

    /// <summary>
    /// Warms both up (at least 1.5 s), then times <paramref name="samples"/> alternating samples (the argument is the
    /// sample's index); returns wall-clock and process CPU milliseconds per step for each side. CPU time counts only
    /// the time this process ran, so time the host gives to other work (steal, other processes) stays out of it; it
    /// includes libtorch's worker threads, spinning ones too.
    /// </summary>
    internal static (Timing First, Timing Second) AlternateTimed(Action<int> first, Action<int> second, int samples, long stepsPerSample)
    {
        // Warm-up of at least 1.5 s: .NET compiles hot methods again, optimized, after 30 calls and a 100 ms delay
        // (tiered compilation), and timing Fit's managed code before that would measure the quick first-tier code.
        var warm = Stopwatch.StartNew();
        int w = 0;
        do
        {
            first(w);
            second(w++);
        }
        while (warm.ElapsedMilliseconds < 1500);
        var a = new Timing();
        var b = new Timing();
        for (int r = 0; r < samples; r++)
        {
            Sample(first, r, a);
            Sample(second, r, b);
        }
        return (a, b);

        void Sample(Action<int> run, int index, Timing into)
        {
            double cpu = CpuClock.ProcessMilliseconds();
            var sw = Stopwatch.StartNew();
            run(index);
            into.Wall.Add(sw.Elapsed.TotalMilliseconds / stepsPerSample);
            into.Cpu.Add((CpuClock.ProcessMilliseconds() - cpu) / stepsPerSample);
        }
    }

    internal static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    internal static string Spread(List<double> xs) => $"{xs.Min():0.000}-{xs.Max():0.000}";
}
