using OnnxKeras.Metrics;
using OnnxKeras.Tests.Losses;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Metrics;

/// <summary>
/// <see cref="MeanMetricWrapper"/> (Keras's reduction_metrics.MeanMetricWrapper / Mean): state accumulated
/// across batches, reset, and sample weights (total = sum(w * value), count = sum(w)).
/// </summary>
public class MeanMetricWrapperTests
{
    private static Tensor T(float[] values, params long[] shape) => tensor(values, shape);

    // Batch 1: squared errors [1, 1] and [0, 4] -> per-sample mse [1, 2]; absolute errors -> mae [1, 1].
    private static readonly Tensor True1 = T([0, 0, 1, 1], 2, 2);
    private static readonly Tensor Pred1 = T([1, 1, 1, 3], 2, 2);
    // Batch 2: errors [3, 0] -> mse [4.5], mae [1.5].
    private static readonly Tensor True2 = T([0, 0], 1, 2);
    private static readonly Tensor Pred2 = T([3, 0], 1, 2);

    [Fact]
    public void Result_BeforeAnyUpdate_IsZero()
    {
        using var m = MetricRegistry.Get("mse");
        Assert.Equal(0.0, m.Result());
    }

    [Fact]
    public void MseMetric_AccumulatesAcrossUpdatesUntilReset()
    {
        using var m = MetricRegistry.Get("mse");
        m.UpdateState(True1, Pred1);
        Approx.Equal((1.0 + 2.0) / 2, m.Result(), "after batch 1");

        m.UpdateState(True2, Pred2);
        Approx.Equal((1.0 + 2.0 + 4.5) / 3, m.Result(), "after batch 2");

        m.ResetState();
        Assert.Equal(0.0, m.Result());
        m.UpdateState(True2, Pred2);
        Approx.Equal(4.5, m.Result(), "after reset and batch 2");
    }

    [Fact]
    public void MaeMetric_AccumulatesAcrossUpdates()
    {
        using var m = MetricRegistry.Get("mean_absolute_error");
        m.UpdateState(True1, Pred1);
        m.UpdateState(True2, Pred2);

        Approx.Equal((1.0 + 1.0 + 1.5) / 3, m.Result());
    }

    [Fact]
    public void SampleWeights_WeightTheMeanAcrossBatches()
    {
        using var m = MetricRegistry.Get("mean_squared_error");
        m.UpdateState(True1, Pred1, T([1f, 3f], 2));
        Approx.Equal((1 * 1.0 + 3 * 2.0) / (1 + 3), m.Result(), "after batch 1");

        m.UpdateState(True2, Pred2, T([0.5f], 1, 1));
        Approx.Equal((1 * 1.0 + 3 * 2.0 + 0.5 * 4.5) / (1 + 3 + 0.5), m.Result(), "after batch 2");
    }

    [Fact]
    public void SampleWeights_AllZero_GiveZeroNotNaN()
    {
        using var m = MetricRegistry.Get("mse");
        m.UpdateState(True1, Pred1, T([0f, 0f], 2));

        Assert.Equal(0.0, m.Result());
    }

    [Fact]
    public void SampleWeights_OnSequenceValues_WeightEachSamplesMean()
    {
        // mse over the last axis of [2, 2, 1] predictions gives values [[1, 4], [9, 16]];
        // Keras reduces each sample to its mean (2.5 and 12.5) and weights those.
        using var m = MetricRegistry.Get("mse");
        m.UpdateState(zeros(2, 2, 1), T([1f, 2f, 3f, 4f], 2, 2, 1), T([2f, 0.5f], 2));

        Approx.Equal((2 * 2.5 + 0.5 * 12.5) / (2 + 0.5), m.Result());
    }

    [Fact]
    public void CustomFunction_IsAveragedPerValue()
    {
        using var m = new MeanMetricWrapper("first_column", (t, p) => p.Value[.., 0]);
        m.UpdateState(True1, Pred1);
        m.UpdateState(True2, Pred2);

        Assert.Equal("first_column", m.Name);
        Approx.Equal((1.0 + 1.0 + 3.0) / 3, m.Result());
    }
}
