using System.Diagnostics;
using static TorchSharp.torch;

namespace OnnxKeras.Bench;

/// <summary>
/// The compiled training step (issue 17, <c>Compile(jitCompile: true)</c>) against the eager step and the hand-written
/// loop, in one process: per case two copies of the model from the same seed, one compiled eagerly (<c>jitCompile:
/// false</c>) and one compiled (<c>true</c>); their first 20 losses must agree within 1e-6 before timing. Samples of the
/// three sides alternate (eager Fit, compiled Fit, loop), each about <see cref="FitBenchmark.SampleMs"/> long.
/// </summary>
internal static class JitBenchmark
{
    public const double LossTolerance = 1e-6;

    public static void Run(int samples, IReadOnlySet<string>? only)
    {
        Report.Heading($"Compiled training step vs eager Fit vs hand-written loop ({Keras.Device.type}; ms per step over {samples} " +
                       "alternating samples: median, minimum)");
        Report.Line("| case | batch | eager Fit ms/step (median, min) | compiled Fit ms/step (median, min) | loop ms/step (median, min) | " +
                    "compiled / eager (median, min) | compiled / loop (median, min) | eager / loop (median, min) | loss agreement, 20 steps |");
        Report.Line("|---|---|---|---|---|---|---|---|---|");
        foreach (var make in TrainCase.All(only))
        {
            using var eager = make();
            using var compiled = make();
            eager.Compile(jitCompile: false);
            compiled.Compile(jitCompile: true);
            double[] compiledLosses;
            try
            {
                compiledLosses = compiled.FitLosses(FitBenchmark.CheckSteps);
            }
            catch (NotSupportedException refused)
            {
                Report.Line($"| {eager.Name} | {eager.Batch} | -- | not compiled: {refused.Message.Split(": ", 2)[^1].TrimEnd('.')} | -- | -- | -- | -- | -- |");
                continue;
            }
            var eagerLosses = eager.FitLosses(FitBenchmark.CheckSteps);
            double diff = eagerLosses.Zip(compiledLosses, (a, b) => Math.Abs(a - b)).Max();
            string agreement = $"{diff:0.0e0} {(diff <= LossTolerance ? "ok" : "DIFFERENT")}";
            if (diff > LossTolerance)
            {
                Report.Line($"| {eager.Name} | {eager.Batch} | -- | not timed: losses differ | -- | -- | -- | -- | {agreement} |");
                continue;
            }
            var plan = PlanSteps(eager);
            var (e, c, l) = Alternate3(i => plan.Invoke(eager, i, true), i => plan.Invoke(compiled, i, true), i => plan.Invoke(eager, i, false),
                samples, plan.Steps);
            static string Pair(List<double> t) => $"{FitBenchmark.Median(t):0.000}, {t.Min():0.000}";
            static string Ratio(List<double> a, List<double> b) => $"{FitBenchmark.Median(a) / FitBenchmark.Median(b):0.000}, {a.Min() / b.Min():0.000}";
            Report.Line($"| {eager.Name} | {eager.Batch} | {Pair(e)} | {Pair(c)} | {Pair(l)} | {Ratio(c, e)} | {Ratio(c, l)} | {Ratio(e, l)} | {agreement} |");
        }
    }

    /// <summary>
    /// Inference: the eager forward pass (what Predict runs per batch, under no_grad) against the same forward pass compiled
    /// into one TorchScript function, and Predict itself, at batch 32 and 1, for the bench cases' models (not trained).
    /// </summary>
    public static void RunPredict(int samples, IReadOnlySet<string>? only)
    {
        Report.Heading($"Compiled forward pass vs eager forward pass for inference ({Keras.Device.type}; us per batch over {samples} alternating " +
                       "samples: median, minimum)");
        Report.Line("| case | batch | Predict us (median, min) | eager forward us (median, min) | compiled forward us (median, min) | " +
                    "compiled / eager forward (median, min) |");
        Report.Line("|---|---|---|---|---|---|");
        foreach (var make in TrainCase.All(only))
        {
            using var c = make();
            foreach (int batch in new[] { 32, 1 })
            {
                using var scope = NewDisposeScope();
                var x = c.FitX.narrow(0, 0, batch);
                Models.Jit.CompiledForward compiled;
                try
                {
                    compiled = Models.Jit.CompiledForward.Build(c.Model, [x]);
                }
                catch (Models.Jit.NotCompilableException e)
                {
                    Report.Line($"| {c.Name} | {batch} | -- | -- | not compiled: {e.Message} | -- |");
                    continue;
                }
                using (compiled)
                using (no_grad())
                {
                    long reps = Math.Max(1, (long)(2000 / Math.Max(1.0, batch)));
                    void Many(Action run)
                    {
                        for (long i = 0; i < reps; i++)
                        {
                            using var s = NewDisposeScope();
                            run();
                        }
                    }
                    var (p, e, j) = Alternate3(_ => Many(() => c.Model.Predict(x, batchSize: batch)),
                        _ => Many(() => c.Model.Forward([x], training: false)), _ => Many(() => compiled.Invoke([x])), samples, reps);
                    static string Us(List<double> t) => $"{FitBenchmark.Median(t) * 1000:0.0}, {t.Min() * 1000:0.0}";
                    Report.Line($"| {c.Name} | {batch} | {Us(p)} | {Us(e)} | {Us(j)} | {FitBenchmark.Median(j) / FitBenchmark.Median(e):0.000}, " +
                                $"{j.Min() / e.Min():0.000} |");
                }
            }
        }
    }

    /// <summary>A sample: a chunk of consecutive steps of about <see cref="FitBenchmark.SampleMs"/> (Fit or the loop).</summary>
    private sealed class StepPlan(long chunk, long chunks)
    {
        public long Steps => chunk;

        public void Invoke(TrainCase c, int sample, bool fit)
        {
            long first = sample % chunks * chunk;
            if (fit) c.FitSteps(first, chunk); else c.HandSteps(first, chunk);
        }
    }

    private static StepPlan PlanSteps(TrainCase c)
    {
        var sw = Stopwatch.StartNew();
        c.HandEpoch();
        double perStep = Math.Max(1e-3, sw.Elapsed.TotalMilliseconds) / c.StepsPerEpoch;
        // Whole batches only (the last, partial batch stays out, so each side times the same full-batch steps).
        long full = c.Rows / c.Batch;
        long k = Math.Clamp((long)Math.Ceiling(FitBenchmark.SampleMs / perStep), 1, Math.Max(1, full));
        return new StepPlan(k, Math.Max(1, full / k));
    }

    /// <summary>Warms the three up for at least 1.5 s (tiered compilation), then times alternating samples; ms per step.</summary>
    private static (List<double>, List<double>, List<double>) Alternate3(Action<int> a, Action<int> b, Action<int> c, int samples, long steps)
    {
        var warm = Stopwatch.StartNew();
        int w = 0;
        do
        {
            a(w);
            b(w);
            c(w++);
        }
        while (warm.ElapsedMilliseconds < 1500);
        List<double> ta = [], tb = [], tc = [];
        for (int r = 0; r < samples; r++)
        {
            Time(a, r, ta);
            Time(b, r, tb);
            Time(c, r, tc);
        }
        return (ta, tb, tc);

        void Time(Action<int> run, int index, List<double> into)
        {
            var sw = Stopwatch.StartNew();
            run(index);
            into.Add(sw.Elapsed.TotalMilliseconds / steps);
        }
    }
}
