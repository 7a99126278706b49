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
        using Scalar weight = batchSize; // disposed now, not at the next collection (Scalars)
        using (no_grad()) sum.add_(batchLoss, alpha: weight);
        count += batchSize;
    }

    /// <summary>The logs the latest overridden step returned (they replace the loss and compiled metrics in Fit's logs).</summary>
    public Dictionary<string, double>? StepLogs { get; set; }

    public double Result() => sum is null || count == 0 ? 0.0 : sum.item<double>() / count;

    public void Reset()
    {
        sum?.Dispose();
        sum = null;
        count = 0;
        StepLogs = null;
    }

    public void Dispose() => Reset();
}
