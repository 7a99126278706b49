using OnnxKeras.Metrics;
using OnnxKeras.Tests.Losses;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Metrics;

/// <summary>
/// categorical, sparse categorical, binary and top-k accuracy (keras/src/metrics/accuracy_metrics.py).
/// The first examples are the ones in Keras's docstrings, whose values follow by counting.
/// </summary>
public class AccuracyMetricTests
{
    private static Tensor T(float[] values, params long[] shape) => tensor(values, shape);

    [Fact]
    public void CategoricalAccuracy_ComparesArgmaxOfLabelsAndPredictions()
    {
        var yTrue = T([0, 0, 1, 0, 1, 0], 2, 3);
        var yPred = T([0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0f], 2, 3);
        // argmax labels [2, 1], argmax predictions [1, 1]: matches [0, 1].
        Assert.Equal([0f, 1f], MetricFunctions.CategoricalAccuracy(yTrue, yPred).Value.data<float>().ToArray());

        using var m = MetricRegistry.Get("categorical_accuracy");
        m.UpdateState(yTrue, yPred);
        Approx.Equal(1.0 / 2, m.Result());

        m.ResetState();
        m.UpdateState(yTrue, yPred, tensor(new float[] { 0.7f, 0.3f }));
        Approx.Equal((0.7 * 0 + 0.3 * 1) / (0.7 + 0.3), m.Result(), "weighted");
    }

    [Theory]
    [InlineData(new long[] { 2, 1 })]
    [InlineData(new long[] { 2 })]
    public void SparseCategoricalAccuracy_ComparesIntegerLabelsWithArgmax(long[] labelShape)
    {
        var yTrue = tensor(new long[] { 2, 1 }, labelShape);
        var yPred = T([0.1f, 0.6f, 0.3f, 0.05f, 0.95f, 0f], 2, 3);
        // argmax predictions [1, 1] against labels [2, 1]: matches [0, 1].
        using var m = MetricRegistry.Get("sparse_categorical_accuracy");
        m.UpdateState(yTrue, yPred);
        Approx.Equal(1.0 / 2, m.Result());

        m.ResetState();
        m.UpdateState(yTrue, yPred, tensor(new float[] { 0.7f, 0.3f }));
        Approx.Equal((0.7 * 0 + 0.3 * 1) / (0.7 + 0.3), m.Result(), "weighted");
    }

    [Fact]
    public void SparseCategoricalAccuracy_AcceptsFloatLabels()
    {
        var yTrue = T([2f, 1f, 0f], 3, 1);
        var yPred = T([0.1f, 0.6f, 0.3f, 0.05f, 0.95f, 0f, 0.5f, 0.2f, 0.3f], 3, 3);
        // argmax [1, 1, 0] against [2, 1, 0]: 2 of 3.
        using var m = MetricRegistry.Get("sparse_categorical_accuracy");
        m.UpdateState(yTrue, yPred);
        Approx.Equal(2.0 / 3, m.Result());
    }

    [Fact]
    public void BinaryAccuracy_ThresholdsPredictionsStrictlyAboveOneHalf()
    {
        var yTrue = T([1, 1, 0, 0], 4, 1);
        var yPred = T([0.98f, 1f, 0f, 0.6f], 4, 1);
        // predicted classes [1, 1, 0, 1]: matches [1, 1, 1, 0]
        using var m = MetricRegistry.Get("binary_accuracy");
        m.UpdateState(yTrue, yPred);
        Approx.Equal(3.0 / 4, m.Result());

        m.ResetState();
        m.UpdateState(yTrue, yPred, tensor(new float[] { 1f, 0f, 0f, 1f }));
        Approx.Equal((1.0 * 1 + 0 * 1 + 0 * 1 + 1.0 * 0) / 2, m.Result(), "weighted");

        // 0.5 itself is not above the threshold, so it predicts 0.
        m.ResetState();
        m.UpdateState(T([0, 1], 2, 1), T([0.5f, 0.5f], 2, 1));
        Approx.Equal(1.0 / 2, m.Result(), "at the threshold");
    }

    [Fact]
    public void BinaryAccuracy_AveragesOverEveryOutputOfASample()
    {
        var yTrue = T([1, 0, 1, 0, 0, 0], 2, 3);
        var yPred = T([0.7f, 0.2f, 0.4f, 0.1f, 0.9f, 0.3f], 2, 3);
        // row 0: predicted [1, 0, 0] vs [1, 0, 1] -> 2/3; row 1: [0, 1, 0] vs [0, 0, 0] -> 2/3
        Approx.Equal([2.0 / 3, 2.0 / 3], MetricFunctions.BinaryAccuracy(yTrue, yPred).Value.data<float>().ToArray());

        using var m = MetricRegistry.Get("binary_accuracy");
        m.UpdateState(yTrue, yPred, tensor(new float[] { 1f, 3f }));
        Approx.Equal((1 * (2.0 / 3) + 3 * (2.0 / 3)) / 4, m.Result());
    }

    // Four samples over four classes; true classes 2, 2, 0, 0.
    private static readonly float[] TopKPred =
    [
        0.1f, 0.4f, 0.3f, 0.2f,   // top-2 {1, 2}: class 2 in
        0.5f, 0.1f, 0.15f, 0.25f, // top-2 {0, 3}: class 2 out
        0.05f, 0.05f, 0.1f, 0.8f, // top-2 {3, 2}: class 0 out
        0.3f, 0.2f, 0.25f, 0.25f, // top-2 {0, 2 or 3}: class 0 in
    ];

    [Fact]
    public void TopKCategoricalAccuracy_WithK2_CountsTrueClassesAmongTheTwoLargest()
    {
        var yTrue = T([0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0], 4, 4);
        using var m = new MeanMetricWrapper("top2", (t, p) => MetricFunctions.TopKCategoricalAccuracy(t, p, k: 2));
        m.UpdateState(yTrue, T(TopKPred, 4, 4));
        Approx.Equal(2.0 / 4, m.Result());

        // k = 1 is categorical accuracy: argmax [1, 0, 3, 0] vs [2, 2, 0, 0] -> 1 of 4.
        var top1 = MetricFunctions.TopKCategoricalAccuracy(yTrue, T(TopKPred, 4, 4), k: 1).Value.data<float>().ToArray();
        Assert.Equal([0f, 0f, 0f, 1f], top1);
    }

    [Fact]
    public void SparseTopKCategoricalAccuracy_WithK2_MatchesTheOneHotVersion()
    {
        var yTrue = tensor(new long[] { 2, 2, 0, 0 }, new long[] { 4 });
        var values = MetricFunctions.SparseTopKCategoricalAccuracy(yTrue, T(TopKPred, 4, 4), k: 2).Value.data<float>().ToArray();

        Assert.Equal([1f, 0f, 0f, 1f], values);
    }

    [Fact]
    public void TopKCategoricalAccuracy_CountsTiesWithTheKthValueAsIn()
    {
        // Keras's in_top_k: the target is in when its prediction is >= the k-th largest value, so a tie
        // at the boundary counts whichever index the top-k picks.
        var pred = T([0.4f, 0.3f, 0.3f, 0f], 1, 4);
        var oneHot = T([0, 0, 1, 0], 1, 4);
        var sparse = tensor(new long[] { 2 }, new long[] { 1 });

        Assert.Equal([1f], MetricFunctions.TopKCategoricalAccuracy(oneHot, pred, k: 2).Value.data<float>().ToArray());
        Assert.Equal([1f], MetricFunctions.SparseTopKCategoricalAccuracy(sparse, pred, k: 2).Value.data<float>().ToArray());
        // Class 3 (0.0) is below the second largest value 0.3.
        Assert.Equal([0f], MetricFunctions.SparseTopKCategoricalAccuracy(tensor(new long[] { 3 }, new long[] { 1 }), pred, k: 2).Value.data<float>().ToArray());
    }
}
