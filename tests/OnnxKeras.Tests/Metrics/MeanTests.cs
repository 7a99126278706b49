using OnnxKeras.Metrics;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Metrics;

/// <summary>keras.metrics.Mean: per-sample means of the values, weighted (Keras 3's reduce_to_samplewise_values).</summary>
public class MeanTests
{
    [Fact]
    public void AveragesPerSampleWithWeightsAsKerasDoes()
    {
        using var scope = NewDisposeScope();
        using var mean = new Mean("m");
        var values = tensor(new float[] { 1, 3, 2, 6 }, [2, 2]);
        // Per-sample means [2, 4]: (2 + 4) / 2.
        mean.UpdateState(values);
        Assert.Equal(3.0, mean.Result(), 12);
        mean.ResetState();
        // Weights [1, 3]: (2 * 1 + 4 * 3) / (1 + 3).
        mean.UpdateState(values, tensor(new float[] { 1, 3 }));
        Assert.Equal(3.5, mean.Result(), 12);
        mean.ResetState();
        // Scalars weighted by a batch size: (5 * 4 + 1 * 2) / (4 + 2).
        mean.UpdateState(tensor(5f), 4);
        mean.UpdateState(tensor(1f), 2);
        Assert.Equal(22.0 / 6, mean.Result(), 12);
        // An unweighted scalar counts once: (22 + 8) / 7.
        mean.UpdateState(tensor(8f));
        Assert.Equal(30.0 / 7, mean.Result(), 12);
        mean.ResetState();
        Assert.Equal(0.0, mean.Result());
    }

    [Fact]
    public void RefusesTheLabelsAndPredictionsProtocolAndUnbroadcastableWeights()
    {
        using var scope = NewDisposeScope();
        using var mean = new Mean("loss");
        var e = Assert.Throws<NotSupportedException>(() => mean.UpdateState(tensor(1f), tensor(2f), null));
        Assert.Contains("UpdateState(values", e.Message);
        Assert.Throws<ArgumentException>(() => mean.UpdateState(tensor(new float[] { 1, 2, 3 }), tensor(new float[] { 1, 2 })));
    }
}
