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
        using var weighted = batchLoss.detach().to_type(ScalarType.Float64) * (double)batchSize;
        if (sum is null) sum = weighted.clone().DetachFromDisposeScope();
        else sum.add_(weighted);
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
