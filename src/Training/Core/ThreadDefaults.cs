using OnnxKeras.Layers;
using TorchSharp;

namespace OnnxKeras;

/// <summary>
/// The automatic libtorch thread count (docs/training.md, "Devices and threads"): one intra-op thread per
/// <see cref="MacsPerThread"/> multiply-adds of the model's largest product at the batch size, at least 1 and at most the
/// CPUs the process may use (<see cref="Environment.ProcessorCount"/>, which .NET on Linux already caps by the affinity
/// mask and the cgroup CPU quota). Tiny models get one thread: waking workers costs more than the product they share.
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
    /// (<see cref="Keras.SetThreads"/>, or <c>OMP_NUM_THREADS</c> in the environment) or training runs on a GPU.
    /// </summary>
    internal static void Apply(Layer model, long batch, ref (long Batch, int Threads) cache)
    {
        if (Keras.ExplicitThreads > 0 || UserSetOmpThreads || Keras.Device.type != DeviceType.CPU) return;
        if (cache.Batch != batch) cache = (batch, Choose(Environment.ProcessorCount, LargestMacsPerOp(model, batch)));
        if (cache.Threads != applied)
        {
            torch.set_num_threads(cache.Threads);
            applied = cache.Threads;
        }
    }

    /// <summary>Forgets the applied count (after <see cref="Keras.SetThreads"/>, which set its own).</summary>
    internal static void Forget() => applied = 0;

    private static readonly bool UserSetOmpThreads = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"));
}
