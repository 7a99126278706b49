using System.Diagnostics;
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

    public static void Run(int repeats, string outDir, IReadOnlySet<string>? only, bool peakMemory)
    {
        Report.Heading($"Fit vs hand-written TorchSharp loop ({Keras.Device.type}; per-step time, median of {repeats} alternating samples)");
        Report.Line($"| case | batch | steps/epoch | Fit ms/step | loop ms/step | ratio (goal) | loss agreement, {CheckSteps} steps | spread Fit / loop |");
        Report.Line("|---|---|---|---|---|---|---|---|");
        var peaks = new List<string>();
        foreach (var make in TrainCase.All(only))
        {
            string id;
            using (var c = make())
            {
                id = c.Id;
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
                int perSample = SamplesFor(c);
                var (fitTimes, handTimes) = Alternate(c.FitEpoch, c.HandEpoch, repeats, c.StepsPerEpoch * perSample, perSample);
                double fit = Median(fitTimes), hand = Median(handTimes), ratio = fit / hand;
                string goal = c.CpuGoal is double g ? $" ({(ratio <= g ? "<=" : ">")} {g:0.00})" : "";
                string timing = agrees ? $"{fit:0.000} | {hand:0.000} | {ratio:0.000}{goal}" : "-- | -- | not timed: losses differ";
                Report.Line($"| {c.Name} | {c.Batch} | {c.StepsPerEpoch} | {timing} | {agreement} | {Spread(fitTimes)} / {Spread(handTimes)} |");
                ReferenceCase.Write(Path.Combine(outDir, c.Id), c, fitLosses, fit, hand, repeats, perSample);
            }
            if (peakMemory) peaks.Add(PeakMemory.Compare(id));
        }
        Console.WriteLine($"Cases for the PyTorch reference written to {outDir} (python3 bench/pytorch/train_reference.py {outDir}).");
        if (peaks.Count == 0) return;
        Report.Heading("Peak memory (RSS high-water mark of a fresh process training 3 epochs)");
        Report.Line("| case | Fit MiB | loop MiB | ratio (goal <= 1.10) |");
        Report.Line("|---|---|---|---|");
        foreach (var row in peaks) Report.Line(row);
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
        // Warm-up of at least 1.5 s: .NET compiles hot methods again, optimized, after 30 calls and a 100 ms delay
        // (tiered compilation), and timing Fit's managed code before that would measure the quick first-tier code.
        var warm = Stopwatch.StartNew();
        do
        {
            first();
            second();
        }
        while (warm.ElapsedMilliseconds < 1500);
        var a = new List<double>();
        var b = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int e = 0; e < perSample; e++) first();
            a.Add(sw.Elapsed.TotalMilliseconds / stepsPerSample);
            sw.Restart();
            for (int e = 0; e < perSample; e++) second();
            b.Add(sw.Elapsed.TotalMilliseconds / stepsPerSample);
        }
        return (a, b);
    }

    internal static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    internal static string Spread(List<double> xs) => $"{xs.Min():0.000}-{xs.Max():0.000}";
}
