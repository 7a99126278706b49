using OnnxKeras.Losses;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Losses;

/// <summary>
/// The elementwise losses (mse, mae, mape, msle, huber, log_cosh, kl_divergence, poisson, hinge,
/// squared_hinge, cosine_similarity) against Keras's formulas in keras/src/losses/losses.py, by hand.
/// </summary>
public class RegressionAndMarginLossTests
{
    private const double KerasEpsilon = 1e-7;

    private static float[] Values(KTensor t) => t.Value.data<float>().ToArray();

    private static Tensor T(float[] values, params long[] shape) => tensor(values, shape);

    [Fact]
    public void MeanSquaredError_IsTheRowMeanOfSquaredDifferences()
    {
        var yTrue = T([1f, 2f, 3f, 0f, -1f, 0.5f], 2, 3);
        var yPred = T([1.5f, 1f, 3.25f, 0.1f, -2f, 2f], 2, 3);
        double s0 = (0.5 * 0.5 + 1.0 * 1.0 + 0.25 * 0.25) / 3;
        double s1 = (0.1 * 0.1 + 1.0 * 1.0 + 1.5 * 1.5) / 3;

        Approx.Equal([s0, s1], Values(new MeanSquaredError().Call(yTrue, yPred)));
    }

    [Fact]
    public void MeanAbsoluteError_IsTheRowMeanOfAbsoluteDifferences()
    {
        var yTrue = T([1f, 2f, 3f, 0f, -1f, 0.5f], 2, 3);
        var yPred = T([1.5f, 1f, 3.25f, 0.1f, -2f, 2f], 2, 3);
        double s0 = (0.5 + 1.0 + 0.25) / 3;
        double s1 = (0.1 + 1.0 + 1.5) / 3;

        Approx.Equal([s0, s1], Values(new MeanAbsoluteError().Call(yTrue, yPred)));
    }

    [Fact]
    public void MeanAbsolutePercentageError_DividesByMaxOfAbsLabelAndEpsilon()
    {
        var yTrue = T([1f, 2f, 4f, 0f, -2f, 0.5f], 2, 3);
        var yPred = T([1.5f, 1f, 3f, 0.1f, -1f, 1f], 2, 3);
        // 100 * mean(|(t - p) / max(|t|, 1e-7)|)
        double s0 = 100 * (0.5 / 1 + 1.0 / 2 + 1.0 / 4) / 3;
        double s1 = 100 * (0.1 / KerasEpsilon + 1.0 / 2 + 0.5 / 0.5) / 3; // t = 0 divides by 1e-7

        Approx.Equal([s0, s1], Values(new MeanAbsolutePercentageError().Call(yTrue, yPred)));
    }

    [Fact]
    public void MeanSquaredLogarithmicError_ClampsBothSidesAtEpsilonBeforeLog1p()
    {
        var yTrue = T([1f, 3f, 0.5f, 2f], 2, 2);
        var yPred = T([2f, 0f, -1f, 2f], 2, 2);
        // mean((log(max(p, 1e-7) + 1) - log(max(t, 1e-7) + 1))^2)
        double d00 = Math.Log(2 + 1.0) - Math.Log(1 + 1.0);
        double d01 = Math.Log(KerasEpsilon + 1.0) - Math.Log(3 + 1.0);
        double d10 = Math.Log(KerasEpsilon + 1.0) - Math.Log(0.5 + 1.0); // p = -1 is clamped, not log(0)
        double d11 = 0.0;
        double s0 = (d00 * d00 + d01 * d01) / 2;
        double s1 = (d10 * d10 + d11 * d11) / 2;

        Approx.Equal([s0, s1], Values(new MeanSquaredLogarithmicError().Call(yTrue, yPred)));
    }

    [Fact]
    public void Huber_UsesTheQuadraticBranchUpToDeltaAndTheLinearBranchBeyond()
    {
        var yTrue = T([0f, 1f, 2f, -1f], 2, 2);
        var yPred = T([0.5f, -1f, 3.5f, -1.25f], 2, 2);
        // errors p - t: [0.5, -2] and [1.5, -0.25]
        // delta = 1: |e| <= 1 -> 0.5 e^2, else 1 * |e| - 0.5 * 1^2
        double s0 = (0.5 * 0.25 + (2.0 - 0.5)) / 2;
        double s1 = ((1.5 - 0.5) + 0.5 * 0.0625) / 2;
        Approx.Equal([s0, s1], Values(new Huber().Call(yTrue, yPred)), "delta 1");

        // delta = 2: |e| = 2 and 1.5 are now quadratic (|e| <= delta is inclusive).
        double t0 = (0.5 * 0.25 + 0.5 * 4.0) / 2;
        double t1 = (0.5 * 2.25 + 0.5 * 0.0625) / 2;
        Approx.Equal([t0, t1], Values(new Huber(delta: 2.0).Call(yTrue, yPred)), "delta 2");

        // delta = 0.5: linear branch 0.5 |e| - 0.5 * 0.25 for |e| > 0.5
        double u0 = (0.5 * 0.25 + (0.5 * 2.0 - 0.125)) / 2;
        double u1 = ((0.5 * 1.5 - 0.125) + 0.5 * 0.0625) / 2;
        Approx.Equal([u0, u1], Values(new Huber(delta: 0.5).Call(yTrue, yPred)), "delta 0.5");
    }

    [Fact]
    public void Huber_NonPositiveDelta_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Huber(delta: 0));
    }

    [Fact]
    public void LogCosh_MatchesLogOfCoshIncludingLargeErrors()
    {
        var yTrue = T([0f, 1f, 0f, 0f], 2, 2);
        var yPred = T([0.5f, -1f, 100f, -3f], 2, 2);
        // errors [0.5, -2] and [100, -3]; cosh(100) ~ 1.3e43 overflows float32 but not double.
        double s0 = (Math.Log(Math.Cosh(0.5)) + Math.Log(Math.Cosh(-2))) / 2;
        double s1 = (Math.Log(Math.Cosh(100)) + Math.Log(Math.Cosh(-3))) / 2;

        Approx.Equal([s0, s1], Values(new LogCosh().Call(yTrue, yPred)));
    }

    [Fact]
    public void KLDivergence_ClipsBothDistributionsToEpsilonOne()
    {
        var yTrue = T([0.2f, 0.8f, 0f, 1f, 1f, 0f], 3, 2);
        var yPred = T([0.4f, 0.6f, 0.5f, 0.5f, 0f, 1f], 3, 2);
        // sum(t log(t / p)) with t, p clipped to [1e-7, 1]
        double s0 = 0.2 * Math.Log(0.2 / 0.4) + 0.8 * Math.Log(0.8 / 0.6);
        double s1 = KerasEpsilon * Math.Log(KerasEpsilon / 0.5) + 1.0 * Math.Log(1.0 / 0.5);
        double s2 = 1.0 * Math.Log(1.0 / KerasEpsilon) + KerasEpsilon * Math.Log(KerasEpsilon / 1.0);

        Approx.Equal([s0, s1, s2], Values(new KLDivergence().Call(yTrue, yPred)));
    }

    [Fact]
    public void Poisson_IsTheRowMeanOfPredictionMinusLabelTimesLogPrediction()
    {
        var yTrue = T([1f, 2f, 0f, 3f], 2, 2);
        var yPred = T([0.5f, 2f, 1f, 0f], 2, 2);
        // mean(p - t log(p + 1e-7))
        double s0 = ((0.5 - 1 * Math.Log(0.5 + KerasEpsilon)) + (2 - 2 * Math.Log(2 + KerasEpsilon))) / 2;
        double s1 = ((1 - 0 * Math.Log(1 + KerasEpsilon)) + (0 - 3 * Math.Log(0 + KerasEpsilon))) / 2;

        Approx.Equal([s0, s1], Values(new Poisson().Call(yTrue, yPred)));
    }

    // Predictions shared by the hinge tests; labels are given as 0/1 or as -1/1.
    private static readonly float[] HingePred = [-1.5f, 0.8f, -0.5f, 2f];

    // With signed labels [[-1, 1], [1, -1]]: margins 1 - t p per element.
    private static readonly double[] HingeMargins =
    [
        Math.Max(1 - (-1) * (-1.5), 0), // -0.5 -> 0
        Math.Max(1 - (1) * 0.8, 0),     // 0.2
        Math.Max(1 - (1) * (-0.5), 0),  // 1.5
        Math.Max(1 - (-1) * 2.0, 0),    // 3
    ];

    [Theory]
    [InlineData(new float[] { 0, 1, 1, 0 })]
    [InlineData(new float[] { -1, 1, 1, -1 })]
    public void Hinge_ConvertsZeroOneLabelsToSignsAndKeepsSignedLabels(float[] labels)
    {
        var yTrue = T(labels, 2, 2);
        var yPred = T(HingePred, 2, 2);
        double s0 = (HingeMargins[0] + HingeMargins[1]) / 2;
        double s1 = (HingeMargins[2] + HingeMargins[3]) / 2;

        Approx.Equal([s0, s1], Values(new Hinge().Call(yTrue, yPred)));
    }

    [Theory]
    [InlineData(new float[] { 0, 1, 1, 0 })]
    [InlineData(new float[] { -1, 1, 1, -1 })]
    public void SquaredHinge_SquaresTheMargins(float[] labels)
    {
        var yTrue = T(labels, 2, 2);
        var yPred = T(HingePred, 2, 2);
        double s0 = (HingeMargins[0] * HingeMargins[0] + HingeMargins[1] * HingeMargins[1]) / 2;
        double s1 = (HingeMargins[2] * HingeMargins[2] + HingeMargins[3] * HingeMargins[3]) / 2;

        Approx.Equal([s0, s1], Values(new SquaredHinge().Call(yTrue, yPred)));
    }

    [Fact]
    public void CosineSimilarity_IsMinusTheCosineOfTheAngle()
    {
        var yTrue = T([0f, 1f, 1f, 1f, 1f, 1f, 3f, 4f], 4, 2);
        var yPred = T([1f, 0f, 1f, 1f, -1f, -1f, 4f, 3f], 4, 2);
        // -(t . p) / (|t| |p|)
        double s0 = -(0 * 1 + 1 * 0) / (1.0 * 1.0);
        double s1 = -(1 * 1 + 1 * 1) / (Math.Sqrt(2) * Math.Sqrt(2));
        double s2 = -(1 * -1 + 1 * -1) / (Math.Sqrt(2) * Math.Sqrt(2));
        double s3 = -(3 * 4 + 4 * 3) / (5.0 * 5.0);

        Approx.Equal([s0, s1, s2, s3], Values(new CosineSimilarity().Call(yTrue, yPred)));
    }

    [Fact]
    public void CosineSimilarity_NormalizesSmallVectorsDownToKerasNormFloorOfEpsilon()
    {
        // Keras's l2 normalize is x * min(rsqrt(sum x^2), 1 / 1e-7): a vector of norm 5e-7 (> 1e-7) is
        // normalized exactly, so the cosine with [4, 3] is (3*4 + 4*3) / (5 * 5) = 0.96.
        var yTrue = T([3e-7f, 4e-7f], 1, 2);
        var yPred = T([4f, 3f], 1, 2);
        double s0 = -(3.0 * 4 + 4.0 * 3) / (5.0 * 5.0);

        Approx.Equal([s0], Values(new CosineSimilarity().Call(yTrue, yPred)));
    }

    [Fact]
    public void CosineSimilarity_OfAZeroVectorIsZero()
    {
        var yTrue = T([0f, 0f], 1, 2);
        var yPred = T([4f, 3f], 1, 2);

        var v = Values(new CosineSimilarity().Call(yTrue, yPred));
        Assert.Equal(0.0, v[0], 7);
        Assert.False(float.IsNaN(v[0]));
    }

    [Fact]
    public void CosineSimilarity_GradientAtAZeroPredictionIsFinite()
    {
        // With the norm floored at 1e-7, p / max(|p|, 1e-7) = p * 1e7 near p = 0, so the loss -(t/|t|) . p * 1e7
        // has gradient -(t/|t|) * 1e7 = -[0.8, 0.6] * 1e7 for t = [4, 3] (one sample, so the mean divides by 1).
        var yTrue = T([4f, 3f], 1, 2);
        var yPred = zeros(1, 2).requires_grad_();
        var loss = new CosineSimilarity().Compute(yTrue, yPred).Value;
        loss.backward();

        Approx.Equal(0.0, loss.item<float>(), "loss");
        Approx.Equal([-0.8e7, -0.6e7], yPred.grad!.data<float>().ToArray(), "gradient");
    }

    [Fact]
    public void ElementwiseLosses_ShapeMismatch_ThrowsNamingBothShapes()
    {
        var yTrue = T([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var yPred = T([1f, 2f, 3f, 4f], 2, 2);

        var ex = Assert.Throws<ArgumentException>(() => new MeanSquaredError().Call(yTrue, yPred));
        Assert.Contains("mean_squared_error", ex.Message);
        Assert.Contains("(2, 3)", ex.Message);
        Assert.Contains("(2, 2)", ex.Message);
    }
}
