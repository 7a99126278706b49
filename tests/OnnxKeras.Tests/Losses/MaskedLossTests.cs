using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Losses;

/// <summary>
/// <see cref="Loss.Compute"/> and <see cref="MeanMetricWrapper"/> on predictions that carry a mask, with Keras 3's rule
/// (keras/src/losses/loss.py <c>apply_mask</c>, keras/src/metrics/reduction_metrics.py <c>MeanMetricWrapper</c>): a loss
/// weights valid entries by total / (valid + epsilon) and masked ones by 0, which makes it
/// <c>sum(loss * weight over valid entries) / valid</c>; a metric multiplies the weights by the mask, which makes it
/// <c>sum(value * weight over valid) / sum(weight over valid)</c>. The numbers are those of Keras's loss_test.py
/// (test_mask, test_mask_and_sample_weight).
/// </summary>
public class MaskedLossTests
{
    // Squared errors of predictions 0.1, 0.2, 0.3, 0.4 against labels 1, 0, 1, 0: 0.81, 0.04, 0.49, 0.16.
    private static readonly Tensor Labels = tensor(new float[] { 1, 0, 1, 0 }, new long[] { 4, 1 });
    private static readonly Tensor Predictions = tensor(new float[] { 0.1f, 0.2f, 0.3f, 0.4f }, new long[] { 4, 1 });
    private static KTensor Masked(params bool[] keep) => ((KTensor)Predictions).WithMask(tensor(keep));

    [Fact]
    public void Compute_WithAMask_AveragesOverTheValidEntriesOnly()
    {
        var loss = new MeanSquaredError().Compute(Labels, Masked(true, false, true, true)).Value;
        Approx.Equal((0.81 + 0.49 + 0.16) / 3, loss.item<float>());
    }

    [Fact]
    public void Compute_WithAMaskAndSampleWeights_DividesTheWeightedSumByTheValidCount()
    {
        var w = tensor(new float[] { 0.4f, 0.3f, 0.2f, 0.1f });
        double expected = (0.4 * 0.81 + 0.2 * 0.49 + 0.1 * 0.16) / 3;
        Approx.Equal(expected, new MeanSquaredError().Compute(Labels, Masked(true, false, true, true), w).Value.item<float>());
        // A mask of shape [4, 1] (one more axis of size 1, Keras's squeeze_or_expand_to_same_rank) means the same.
        var upranked = ((KTensor)Predictions).WithMask(tensor(new[] { true, false, true, true }).reshape(4, 1));
        Approx.Equal(expected, new MeanSquaredError().Compute(Labels, upranked, w).Value.item<float>(), "mask [4, 1]");
    }

    [Fact]
    public void Compute_WithEverythingMasked_IsZeroNotNaN()
    {
        var loss = new MeanSquaredError().Compute(Labels, Masked(false, false, false, false)).Value.item<float>();
        Assert.Equal(0f, loss);
        var weighted = new MeanSquaredError().Compute(Labels, Masked(false, false, false, false), tensor(new float[] { 1, 2, 3, 4 })).Value.item<float>();
        Assert.Equal(0f, weighted);
    }

    [Fact]
    public void Compute_WithAnAllTrueMask_IsTheUnmaskedMean()
    {
        // total / (valid + 1e-7) = 4 / 4.0000001, which float32 rounds to 1.
        Approx.Equal((0.81 + 0.04 + 0.49 + 0.16) / 4, new MeanSquaredError().Compute(Labels, Masked(true, true, true, true)).Value.item<float>());
    }

    [Fact]
    public void Compute_OnSequencesWithPerSampleWeights_SpreadsEachWeightOverItsTimesteps()
    {
        // Loss values [[1, 4], [9, 16]] (predictions 1..4 against 0), mask [[T, F], [T, T]], weights [2, 0.5] per sample.
        var yPred = ((KTensor)tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2, 1 })).WithMask(tensor(new[] { true, false, true, true }).reshape(2, 2));
        var w = tensor(new float[] { 2f, 0.5f });
        Approx.Equal((2 * 1.0 + 0.5 * 9.0 + 0.5 * 16.0) / 3, new MeanSquaredError().Compute(zeros(2, 2, 1), yPred, w).Value.item<float>());
    }

    [Fact]
    public void Compute_WithAMaskThatDoesNotFitTheLossValues_SaysSo()
    {
        // Predictions [2, 3] give one loss value per sample, but the mask is per entry.
        var yPred = ((KTensor)ones(2, 3)).WithMask(tensor(new[] { true, false, true, true, true, false }).reshape(2, 3));
        var e = Assert.Throws<ArgumentException>(() => new MeanSquaredError().Compute(zeros(2, 3), yPred));
        Assert.Contains("mask", e.Message);
    }

    [Fact]
    public void MeanMetric_WithAMask_IgnoresMaskedEntries()
    {
        using var m = MetricRegistry.Get("mse");
        m.UpdateState(Labels, Masked(true, false, true, true));
        Approx.Equal((0.81 + 0.49 + 0.16) / 3, m.Result(), "unweighted");
        // Second batch, weighted: total += 0.4*0.81 + 0.2*0.49 + 0.1*0.16, count += 0.4 + 0.2 + 0.1 (the mask is not rescaled).
        m.UpdateState(Labels, Masked(true, false, true, true), tensor(new float[] { 0.4f, 0.3f, 0.2f, 0.1f }));
        Approx.Equal((0.81 + 0.49 + 0.16 + 0.4 * 0.81 + 0.2 * 0.49 + 0.1 * 0.16) / (3 + 0.7), m.Result(), "after a weighted batch");
    }

    [Fact]
    public void MeanMetric_WithEverythingMasked_IsZero()
    {
        using var m = MetricRegistry.Get("mae");
        m.UpdateState(Labels, Masked(false, false, false, false));
        Assert.Equal(0.0, m.Result());
    }
}
