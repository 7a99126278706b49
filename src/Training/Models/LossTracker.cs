using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

/// <summary>Running mean of batch losses weighted by batch size (Keras's loss tracker), kept on the device.</summary>
internal sealed class LossTracker : IDisposable
{
    private Tensor? sum;
    private long count;

    public void Add(Tensor batchLoss, long batchSize)
    {
        sum ??= zeros([], ScalarType.Float64, batchLoss.device).DetachFromDisposeScope();
        // One in-place op per step: sum += loss * batchSize, accumulated in float64 (no host synchronisation).
        using (no_grad()) sum.add_(batchLoss, alpha: batchSize);
        count += batchSize;
    }

    public double Result() => sum is null || count == 0 ? 0.0 : sum.item<double>() / count;

    public void Reset()
    {
        sum?.Dispose();
        sum = null;
        count = 0;
    }

    public void Dispose() => Reset();
}
