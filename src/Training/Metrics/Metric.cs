using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Metrics;

/// <summary>
/// A stateful metric with Keras's protocol: <see cref="UpdateState"/> per batch, <see cref="Result"/> for
/// the value so far, <see cref="ResetState"/> at the start of each epoch. State stays on the device, so
/// updating never waits for the device; only <see cref="Result"/> reads it.
/// </summary>
public abstract class Metric : IDisposable
{
    /// <summary>Creates a metric reported under <paramref name="name"/>.</summary>
    protected Metric(string name) => Name = name;

    /// <summary>The name in logs and History (e.g. <c>accuracy</c>, <c>val_accuracy</c> for validation).</summary>
    public string Name { get; internal set; }

    /// <summary>Accumulates one batch.</summary>
    public abstract void UpdateState(KTensor yTrue, KTensor yPred, KTensor? sampleWeight = null);

    /// <summary>The value over everything accumulated since the last reset.</summary>
    public abstract double Result();

    /// <summary>Clears the state.</summary>
    public abstract void ResetState();

    /// <summary>Looks up a metric by Keras name (<c>accuracy</c> is resolved by the model from the shapes of labels and predictions).</summary>
    public static implicit operator Metric(string name) => MetricRegistry.Get(name);

    /// <inheritdoc />
    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>
/// A metric that averages a per-sample function, weighted by sample weights (Keras's <c>MeanMetricWrapper</c>). When
/// the prediction carries a mask (<see cref="KTensor.Mask"/>), masked entries get weight 0, as in Keras 3
/// (<c>keras/src/metrics/reduction_metrics.py</c>: the mask is multiplied into the sample weights unscaled), so the
/// mean is over the valid entries only.
/// </summary>
public class MeanMetricWrapper : WeightedMeanMetric
{
    private readonly Func<KTensor, KTensor, KTensor> fn;

    /// <summary>Wraps <paramref name="fn"/>, which returns per-sample values.</summary>
    public MeanMetricWrapper(string name, Func<KTensor, KTensor, KTensor> fn) : base(name) => this.fn = fn;

    /// <inheritdoc />
    public override void UpdateState(KTensor yTrue, KTensor yPred, KTensor? sampleWeight = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var values = fn(yTrue, yPred.Value.detach()).Value.to_type(ScalarType.Float64);
        var weight = sampleWeight?.Value;
        if (yPred.Mask is { } mask) weight = Losses.Loss.ApplyMask(weight, mask.Value, ScalarType.Float64, scaleForMean: false);
        Tensor sum, n;
        if (weight is null)
        {
            sum = values.sum();
            n = tensor((double)values.numel(), ScalarType.Float64, values.device);
        }
        else
        {
            var w = weight.to_type(ScalarType.Float64);
            while (w.dim() > values.dim() && w.size(-1) == 1) w = w.squeeze(-1);
            while (w.dim() < values.dim()) w = w.unsqueeze(-1);
            w = w.expand_as(values);
            sum = (values * w).sum();
            n = w.sum();
        }
        Accumulate(sum, n);
    }
}
