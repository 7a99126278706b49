using OnnxKeras.Layers;
using TorchSharp;

namespace OnnxKeras;

/// <summary>
/// The automatic libtorch thread count (docs/training.md, "Devices and threads"): one intra-op thread per
/// <see cref="MacsPerThread"/> multiply-adds of the model's largest product at the batch size, at least 1 and at most the
/// CPUs the process may use (<see cref="Environment.ProcessorCount"/>, which .NET on Linux already caps by the affinity
/// mask and the cgroup CPU quota), and on Linux at most the CPUs other processes leave free (<see cref="CpuLoad"/>).
/// Tiny models get one thread: waking workers costs more than the product they share.
/// </summary>
internal static class ThreadDefaults
{
    /// <summary>Multiply-adds per thread below which another thread does not pay for itself.</summary>
    internal const long MacsPerThread = 8_000_000;

    /// <summary>The intra-op thread count for a largest product of <paramref name="macsPerOp"/> on <paramref name="availableCpus"/> CPUs.</summary>
    internal static int Choose(int availableCpus, double macsPerOp)
    {
        if (availableCpus <= 1 || !(macsPerOp >= MacsPerThread)) return 1;
        return (int)Math.Min(availableCpus, Math.Floor(macsPerOp / MacsPerThread));
    }

    /// <summary>
    /// Multiply-adds of the largest matrix product or convolution of one call on <paramref name="batch"/> samples: for each
    /// built layer's weight named <c>*kernel</c> (Dense, Conv, recurrent kernels; embeddings are lookups and left out),
    /// the kernel's size times the positions it is applied at (the layer's input elements per sample over the kernel's
    /// input dimension, its next-to-last: 1 for Dense on vectors, the timesteps of a sequence, the pixels of an image),
    /// times the batch. A recurrent layer's input projection over the whole sequence is one product in libtorch's kernel.
    /// </summary>
    internal static double LargestMacsPerOp(Layer model, long batch)
    {
        double largest = 0;
        foreach (var layer in AllLayers(model))
        {
            if (!layer.Built || (layer.BuildInputShapes?[0] ?? layer.BuildInputShape) is not { } input) continue;
            double inputs = 1;
            for (int i = 1; i < input.Rank; i++) inputs *= input[i] ?? 1;
            foreach (var w in layer.Weights)
            {
                if (!w.Name.EndsWith("kernel", StringComparison.Ordinal)) continue;
                var shape = w.Shape;
                if (shape.Rank < 2 || shape[^2] is not > 0) continue;
                double positions = Math.Max(1, inputs / shape[^2]!.Value);
                largest = Math.Max(largest, batch * positions * w.Size);
            }
        }
        return largest;
    }

    private static List<Layer> AllLayers(Layer root)
    {
        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Layer>([root]);
        while (stack.Count > 0)
        {
            var l = stack.Pop();
            if (!seen.Add(l)) continue;
            foreach (var s in l.Sublayers) stack.Push(s);
        }
        return [.. seen];
    }

    // The last automatic count applied (0: none yet), so a step only calls into libtorch when the count changes.
    private static int applied;

    /// <summary>
    /// Sets the automatic count for <paramref name="model"/> at <paramref name="batch"/> unless the application chose one
    /// (<see cref="Keras.SetThreads"/>, or <c>OMP_NUM_THREADS</c> in the environment) or training runs on a GPU: the
    /// work-based count, capped by the CPUs other processes leave free (<see cref="CpuLoad"/>, sampled at most every
    /// <see cref="CpuLoadMonitor.Interval"/>; no cap off Linux or when <c>/proc</c> cannot be read).
    /// </summary>
    internal static void Apply(Layer model, long batch, ref (long Batch, int Threads) cache)
    {
        if (!Automatic(Keras.ExplicitThreads, UserSetOmpThreads, Keras.Device.type)) return;
        if (cache.Batch != batch) cache = (batch, Choose(Environment.ProcessorCount, LargestMacsPerOp(model, batch)));
        int threads = Capped(cache.Threads, Monitor?.Update(Environment.ProcessorCount) ?? 0);
        if (threads != applied)
        {
            torch.set_num_threads(threads);
            applied = threads;
        }
    }

    /// <summary>The load monitor the automatic count consults (null: no load cap); tests put a fake one here.</summary>
    internal static CpuLoadMonitor? Monitor { get; set; } = CpuLoadMonitor.ForThisProcess();

    /// <summary>Whether the automatic count applies: no count from <see cref="Keras.SetThreads"/> or <c>OMP_NUM_THREADS</c>, on the CPU.</summary>
    internal static bool Automatic(int explicitThreads, bool ompThreadsSet, DeviceType device) =>
        explicitThreads <= 0 && !ompThreadsSet && device == DeviceType.CPU;

    /// <summary>The work-based count <paramref name="workThreads"/> capped by the load cap <paramref name="loadCap"/> (0: none).</summary>
    internal static int Capped(int workThreads, int loadCap) => loadCap > 0 ? Math.Max(1, Math.Min(workThreads, loadCap)) : workThreads;

    /// <summary>Forgets the applied count (after <see cref="Keras.SetThreads"/>, which set its own).</summary>
    internal static void Forget() => applied = 0;

    private static readonly bool UserSetOmpThreads = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"));
}
