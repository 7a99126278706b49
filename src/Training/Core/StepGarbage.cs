using System.Diagnostics;
using System.Runtime;

namespace OnnxKeras;

/// <summary>
/// Collects the youngest generation of managed garbage between the steps of Fit, Evaluate and Predict and after
/// TrainOnBatch, at most a fixed share of the time, so that native memory held by unreachable TorchSharp objects is
/// freed while a loop runs.
/// </summary>
/// <remarks>
/// TorchSharp 0.107.0 makes a <c>Scalar</c> for every number an op takes, including the implicit alpha of 1 in
/// <c>a + b</c>, and no dispose scope tracks it: its small native block is freed only when a collection finalizes it. A
/// training step allocates little managed memory, so collections are rare, and those blocks, placed between the step's
/// large tensors, split the heap's free space so that each step's tensors need fresh pages: Fit's peak memory on the
/// MNIST MLP at batch 1024 grew by about 5 MiB a step and ended 1.3x the hand-written loop's (bench/NOTES.md). The
/// library's own hot paths reuse or dispose their scalars (<see cref="Scalars"/>); this catches the rest, from custom
/// layers and from TorchSharp itself. A collection of generation 0 is forced when the time since the previous one is at
/// least <see cref="CostFactor"/> times what the previous one took, so the collections themselves take about 0.3 % of
/// the time; it does not wait for finalizers, which run on their own thread. The schedule is the process's, not one
/// loop's, so many short Fit calls do not each start with a collection.
/// </remarks>
internal static class StepGarbage
{
    /// <summary>Time between collections, as a multiple of the last collection's duration.</summary>
    public const double CostFactor = 300;

    private static long lastEnd = Stopwatch.GetTimestamp();
    private static long lastCost;
    private static long collections;

    /// <summary>Collections forced so far in this process (read by tests).</summary>
    internal static long Collections => Interlocked.Read(ref collections);

    /// <summary>Makes the next step collect, as at the start of the process (for tests).</summary>
    internal static void Restart() => Interlocked.Exchange(ref lastCost, 0);

    /// <summary>Whether a collection is due: <paramref name="sinceLast"/> is at least <see cref="CostFactor"/> times <paramref name="lastCost"/>.</summary>
    public static bool Due(long sinceLast, long lastCost) => sinceLast >= CostFactor * lastCost;

    /// <summary>
    /// Called after each step: collects generation 0 when <see cref="Due"/> says so and <see cref="Keras.CollectStepGarbage"/>
    /// is on, never inside the application's no-GC region (a collection would end it).
    /// </summary>
    public static void AfterStep()
    {
        if (!Keras.CollectStepGarbage || GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) return;
        long start = Stopwatch.GetTimestamp();
        if (!Due(start - Interlocked.Read(ref lastEnd), Interlocked.Read(ref lastCost))) return;
        GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: false);
        long end = Stopwatch.GetTimestamp();
        // Loops on several threads share the schedule; a race costs at most one extra collection.
        Interlocked.Exchange(ref lastCost, end - start);
        Interlocked.Exchange(ref lastEnd, end);
        Interlocked.Increment(ref collections);
    }
}
