using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Metrics;

/// <summary>
/// The weighted mean of the values given to <see cref="UpdateState(KTensor, KTensor?)"/> (Keras's
/// <c>keras.metrics.Mean</c>), e.g. a loss tracker in a custom training step: <c>lossTracker.UpdateState(loss)</c>
/// per batch, <see cref="WeightedMeanMetric.Result"/> for the mean so far. As in Keras 3, values of rank above 1 are first averaged per
/// sample; each sample counts once, or with its weight: <c>total += sum(values * w)</c>, <c>count += sum(w)</c> (a
/// scalar counts as one sample, so <c>UpdateState(loss, batchSize)</c> weighs a batch's mean loss by its size, as
/// Keras's loss tracker does). State stays on the device until <see cref="WeightedMeanMetric.Result"/>. List it in the model's
/// <see cref="Models.Model.Metrics"/> so that Fit and Evaluate reset it at the start of each epoch and evaluation.
/// </summary>
/// <example><code>
/// var lossTracker = new Mean("loss");
/// lossTracker.UpdateState(loss);
/// double meanLoss = lossTracker.Result();
/// </code></example>
public sealed class Mean(string name = "mean") : WeightedMeanMetric(name)
{
    /// <summary>Adds <paramref name="values"/> (any shape; a scalar is one sample), weighted by <paramref name="sampleWeight"/>.</summary>
    /// <param name="values">The values to average; must be floating point or integer.</param>
    /// <param name="sampleWeight">Weights broadcastable to the values (one per sample, or a scalar); null weighs each sample 1.</param>
    public void UpdateState(KTensor values, KTensor? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var v = values.Value.detach().to_type(ScalarType.Float64);
        Tensor n;
        if (sampleWeight is null)
        {
            if (v.dim() > 1) v = v.mean(Enumerable.Range(1, (int)v.dim() - 1).Select(d => (long)d).ToArray());
            n = tensor(v.dim() == 0 ? 1.0 : v.size(0), ScalarType.Float64, v.device);
        }
        else
        {
            var w = sampleWeight.Value.detach().to_type(ScalarType.Float64).to(v.device);
            // Keras's squeeze_or_expand_to_same_rank, then values reduced to the weights' rank.
            if (w.dim() == v.dim() + 1 && w.size(-1) == 1) w = w.squeeze(-1);
            else if (v.dim() == w.dim() + 1 && v.size(-1) == 1) v = v.squeeze(-1);
            if (v.dim() > w.dim()) v = v.mean(Enumerable.Range((int)w.dim(), (int)(v.dim() - w.dim())).Select(d => (long)d).ToArray());
            try
            {
                w = w.broadcast_to(v.Sizes());
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ArgumentException($"Mean '{Name}': sampleWeight of shape {Shape.Of(sampleWeight.Value.shape)} does not broadcast to the " +
                    $"values' shape {Shape.Of(values.Value.shape)}.", nameof(sampleWeight));
            }
            v = v * w;
            if (w.dim() > 1) w = w.mean(Enumerable.Range(1, (int)w.dim() - 1).Select(d => (long)d).ToArray());
            if (v.dim() > 1) v = v.mean(Enumerable.Range(1, (int)v.dim() - 1).Select(d => (long)d).ToArray());
            n = w.sum();
        }
        Accumulate(v.sum(), n);
    }

    /// <summary>
    /// Adds <paramref name="values"/> with one weight for all (<c>UpdateState(loss, batchSize)</c>: a batch's mean loss
    /// counted batchSize times).
    /// </summary>
    /// <param name="values">The values to average.</param>
    /// <param name="sampleWeight">The weight of each sample of <paramref name="values"/> (for a scalar, of that one value).</param>
    public void UpdateState(KTensor values, double sampleWeight)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var w = tensor(sampleWeight, ScalarType.Float64, values.Value.device);
        UpdateState(values, (KTensor)w);
    }

    /// <summary>
    /// Not the protocol of a mean of values: Keras's <c>Mean</c> takes the values alone. Throws
    /// <see cref="NotSupportedException"/>; call <see cref="UpdateState(KTensor, KTensor?)"/>.
    /// </summary>
    public override void UpdateState(KTensor yTrue, KTensor yPred, KTensor? sampleWeight = null) =>
        throw new NotSupportedException($"Mean '{Name}' averages values: call UpdateState(values, sampleWeight), not UpdateState(yTrue, yPred).");
}
