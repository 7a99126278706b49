using OnnxKeras.Losses;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Losses;

/// <summary>
/// <see cref="Loss.Compute"/>: Keras's default reduction sum_over_batch_size,
/// <c>sum(loss * sample_weight) / number of loss values</c> (keras/src/losses/loss.py, reduce_values),
/// which divides by the count of values, not by the sum of the weights.
/// </summary>
public class LossReductionTests
{
    // Mean squared error of predictions 1, 2, 3 against labels 0: per-sample losses 1, 4, 9.
    private static readonly Tensor Labels = zeros(3, 1);
    private static readonly Tensor Predictions = tensor(new float[] { 1f, 2f, 3f }, new long[] { 3, 1 });

    [Fact]
    public void Compute_WithoutWeights_IsTheMeanOfPerSampleLosses()
    {
        var loss = new MeanSquaredError().Compute(Labels, Predictions).Value;

        Assert.Equal(0, loss.dim());
        Approx.Equal((1.0 + 4.0 + 9.0) / 3, loss.item<float>());
    }

    [Fact]
    public void Compute_WithWeightsOfShapeN_DividesTheWeightedSumByTheNumberOfValues()
    {
        var w = tensor(new float[] { 1f, 0f, 0.5f }, new long[] { 3 });
        // (1*1 + 4*0 + 9*0.5) / 3 = 5.5 / 3 (dividing by sum(w) = 1.5 instead would give 3.667)
        double expected = (1.0 * 1 + 4.0 * 0 + 9.0 * 0.5) / 3;

        Approx.Equal(expected, new MeanSquaredError().Compute(Labels, Predictions, w).Value.item<float>());
    }

    [Fact]
    public void Compute_WithWeightsOfShapeNBy1_IsTheSameAsShapeN()
    {
        var w = tensor(new float[] { 1f, 0f, 0.5f }, new long[] { 3, 1 });
        double expected = (1.0 * 1 + 4.0 * 0 + 9.0 * 0.5) / 3;

        Approx.Equal(expected, new MeanSquaredError().Compute(Labels, Predictions, w).Value.item<float>());
    }

    [Fact]
    public void Compute_OnSequenceLosses_BroadcastsPerSampleWeightsAndCountsEveryValue()
    {
        // Predictions of shape [2, 2, 1] give loss values of shape [2, 2]: [[1, 4], [9, 16]].
        var yTrue = zeros(2, 2, 1);
        var yPred = tensor(new float[] { 1f, 2f, 3f, 4f }, new long[] { 2, 2, 1 });
        var w = tensor(new float[] { 2f, 0.5f }, new long[] { 2 });
        // Weights expand to [2, 1]; sum over all 4 values divided by 4.
        double expected = (2 * 1.0 + 2 * 4.0 + 0.5 * 9.0 + 0.5 * 16.0) / 4;

        Approx.Equal(expected, new MeanSquaredError().Compute(yTrue, yPred, w).Value.item<float>());
        Approx.Equal((1.0 + 4.0 + 9.0 + 16.0) / 4, new MeanSquaredError().Compute(yTrue, yPred).Value.item<float>(), "unweighted");
    }

    [Fact]
    public void Compute_WithCrossentropy_WeightsEachSample()
    {
        var yTrue = tensor(new long[] { 1, 2 }, new long[] { 2 });
        var yPred = tensor(new float[] { 0.05f, 0.95f, 0f, 0.1f, 0.8f, 0.1f }, new long[] { 2, 3 });
        var w = tensor(new float[] { 0.7f, 0.3f }, new long[] { 2 });
        double expected = (0.7 * -Math.Log(0.95) + 0.3 * -Math.Log(0.1)) / 2;

        Approx.Equal(expected, new SparseCategoricalCrossentropy().Compute(yTrue, yPred, w).Value.item<float>());
    }
}
