using static TorchSharp.torch;

namespace OnnxKeras.Metrics;

/// <summary>
/// Base of the metrics that report a weighted mean, <c>total / count</c> (Keras's <c>reduction_metrics.Mean</c> state):
/// <see cref="Mean"/> and <see cref="MeanMetricWrapper"/>. Both sums stay on the device as float64 scalars; only
/// <see cref="Result"/> reads them, and it is 0 before any update or while the count is 0.
/// </summary>
public abstract class WeightedMeanMetric : Metric
{
    private Tensor? total;
    private Tensor? count;

    /// <summary>Creates a metric reported under <paramref name="name"/>.</summary>
    private protected WeightedMeanMetric(string name) : base(name)
    {
    }

    /// <summary>
    /// Adds one batch's weighted sum and weight total (float64 scalars made in the caller's dispose scope; the first pair
    /// is detached from it and kept as the state).
    /// </summary>
    private protected void Accumulate(Tensor sum, Tensor n)
    {
        if (total is null || count is null)
        {
            total = sum.DetachFromDisposeScope();
            count = n.DetachFromDisposeScope();
        }
        else
        {
            total.add_(sum, Scalars.One); // not add_(sum): TorchSharp would make a Scalar 1 a collection frees
            count.add_(n, Scalars.One);
        }
    }

    /// <inheritdoc />
    public override double Result()
    {
        if (total is null || count is null) return 0.0;
        double c = count.item<double>();
        return c == 0 ? 0.0 : total.item<double>() / c;
    }

    /// <inheritdoc />
    public override void ResetState()
    {
        total?.Dispose();
        count?.Dispose();
        total = count = null;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        ResetState();
        base.Dispose();
    }
}
