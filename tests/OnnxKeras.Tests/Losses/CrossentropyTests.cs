using OnnxKeras.Losses;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Losses;

/// <summary>
/// Categorical, sparse categorical and binary cross-entropy against Keras's formulas
/// (keras/src/backend/torch/nn.py, keras/src/losses/losses.py), computed by hand in double arithmetic.
/// </summary>
public class CrossentropyTests
{
    private const double KerasEpsilon = 1e-7;

    private static float[] Values(KTensor t) => t.Value.data<float>().ToArray();

    // ------------------------------------------------------------------ categorical_crossentropy

    [Fact]
    public void Categorical_OnProbabilities_IsMinusLogOfTheTrueClassProbability()
    {
        var yTrue = tensor(new float[] { 0, 1, 0, 0, 0, 1 }, new long[] { 2, 3 });
        var yPred = tensor(new float[] { 0.05f, 0.95f, 0f, 0.1f, 0.8f, 0.1f }, new long[] { 2, 3 });
        // Rows sum to 1, so Keras's rescaling leaves them; -sum(t * log p) = -log p[true class].
        double s0 = -Math.Log(0.95);
        double s1 = -Math.Log(0.1);

        Approx.Equal([s0, s1], Values(new CategoricalCrossentropy().Call(yTrue, yPred)));
    }

    [Fact]
    public void Categorical_OnProbabilities_RescalesRowsThatDoNotSumToOne()
    {
        var yTrue = tensor(new float[] { 0, 1, 0, 1, 0, 0 }, new long[] { 2, 3 });
        var yPred = tensor(new float[] { 1f, 2f, 1f, 0.2f, 0.2f, 0.2f }, new long[] { 2, 3 });
        // Keras divides each row by its sum first: [1, 2, 1] / 4 and [0.2, 0.2, 0.2] / 0.6.
        double s0 = -Math.Log(2.0 / 4.0);
        double s1 = -Math.Log(0.2 / 0.6);

        Approx.Equal([s0, s1], Values(new CategoricalCrossentropy().Call(yTrue, yPred)));
    }

    [Fact]
    public void Categorical_OnProbabilities_ClipsZeroProbabilityToEpsilon()
    {
        var yTrue = tensor(new float[] { 0, 0, 1 }, new long[] { 1, 3 });
        var yPred = tensor(new float[] { 0.5f, 0.5f, 0f }, new long[] { 1, 3 });
        // p[true] = 0 is clipped to 1e-7: -log(1e-7) = 16.118..., finite instead of +inf.
        double s0 = -Math.Log(KerasEpsilon);

        Approx.Equal([s0], Values(new CategoricalCrossentropy().Call(yTrue, yPred)));
    }

    [Fact]
    public void Categorical_FromLogits_AppliesLogSoftmax()
    {
        var yTrue = tensor(new float[] { 0, 0, 1, 1, 0, 0 }, new long[] { 2, 3 });
        var logits = tensor(new float[] { 1f, 2f, 3f, 0f, 0f, 0f }, new long[] { 2, 3 });
        // -log softmax(z)[c] = log(sum_j e^z_j) - z_c
        double s0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 3.0;
        double s1 = Math.Log(Math.Exp(0) + Math.Exp(0) + Math.Exp(0)) - 0.0;

        Approx.Equal([s0, s1], Values(new CategoricalCrossentropy(fromLogits: true).Call(yTrue, logits)));
    }

    [Fact]
    public void Categorical_LabelSmoothing_MixesLabelsWithUniform()
    {
        var yTrue = tensor(new float[] { 0, 1, 0, 1, 0, 0 }, new long[] { 2, 3 });
        var yPred = tensor(new float[] { 0.2f, 0.7f, 0.1f, 0.6f, 0.4f, 0f }, new long[] { 2, 3 });
        // Keras: t = t * (1 - s) + s / num_classes with s = 0.1, 3 classes.
        double off = 0.1 / 3.0;
        double on = 0.9 + 0.1 / 3.0;
        double s0 = -(off * Math.Log(0.2) + on * Math.Log(0.7) + off * Math.Log(0.1));
        // The zero probability now carries label mass, so the 1e-7 clip shows in the loss.
        double s1 = -(on * Math.Log(0.6) + off * Math.Log(0.4) + off * Math.Log(KerasEpsilon));

        Approx.Equal([s0, s1], Values(new CategoricalCrossentropy(labelSmoothing: 0.1).Call(yTrue, yPred)));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    public void Categorical_LabelSmoothingOutsideZeroOne_Throws(double s)
    {
        var ex = Assert.Throws<ArgumentException>(() => new CategoricalCrossentropy(labelSmoothing: s));
        Assert.Contains("[0, 1]", ex.Message);
    }

    [Fact]
    public void Categorical_ShapeMismatch_ThrowsNamingBothShapes()
    {
        var yTrue = tensor(new float[] { 0, 1, 0, 1, 0, 0 }, new long[] { 2, 3 });
        var yPred = tensor(new float[] { 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f }, new long[] { 2, 4 });

        var ex = Assert.Throws<ArgumentException>(() => new CategoricalCrossentropy().Call(yTrue, yPred));
        Assert.Contains("categorical_crossentropy", ex.Message);
        Assert.Contains("(2, 3)", ex.Message);
        Assert.Contains("(2, 4)", ex.Message);
    }

    [Fact]
    public void Categorical_WithIntegerLabelColumn_ThrowsAndPointsToTheSparseLoss()
    {
        var yTrue = tensor(new float[] { 1, 2 }, new long[] { 2, 1 });
        var yPred = tensor(new float[] { 0.2f, 0.5f, 0.3f, 0.1f, 0.1f, 0.8f }, new long[] { 2, 3 });

        var ex = Assert.Throws<ArgumentException>(() => new CategoricalCrossentropy().Call(yTrue, yPred));
        Assert.Contains("sparse_categorical_crossentropy", ex.Message);
    }

    // ------------------------------------------------------------------ sparse_categorical_crossentropy

    public static TheoryData<string> SparseLabelLayouts => ["int64 [N]", "int64 [N,1]", "float32 [N,1]"];

    private static Tensor SparseLabels(string layout, long[] labels) => layout switch
    {
        "int64 [N]" => tensor(labels, new long[] { labels.Length }),
        "int64 [N,1]" => tensor(labels, new long[] { labels.Length, 1 }),
        "float32 [N,1]" => tensor(labels.Select(l => (float)l).ToArray(), new long[] { labels.Length, 1 }),
        _ => throw new ArgumentOutOfRangeException(nameof(layout)),
    };

    [Theory]
    [MemberData(nameof(SparseLabelLayouts))]
    public void Sparse_OnProbabilities_IsMinusLogOfTheLabelledProbability(string layout)
    {
        var yTrue = SparseLabels(layout, [1, 2, 1]);
        var yPred = tensor(new float[] { 0.05f, 0.95f, 0f, 0.1f, 0.8f, 0.1f, 1f, 2f, 1f }, new long[] { 3, 3 });
        double s0 = -Math.Log(0.95);
        double s1 = -Math.Log(0.1);
        double s2 = -Math.Log(2.0 / 4.0); // row [1, 2, 1] is rescaled by its sum 4

        Approx.Equal([s0, s1, s2], Values(new SparseCategoricalCrossentropy().Call(yTrue, yPred)));
    }

    [Theory]
    [MemberData(nameof(SparseLabelLayouts))]
    public void Sparse_FromLogits_AppliesLogSoftmax(string layout)
    {
        var yTrue = SparseLabels(layout, [2, 0]);
        var logits = tensor(new float[] { 1f, 2f, 3f, -1f, 0.5f, 2f }, new long[] { 2, 3 });
        double s0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 3.0;
        double s1 = Math.Log(Math.Exp(-1) + Math.Exp(0.5) + Math.Exp(2)) - (-1.0);

        Approx.Equal([s0, s1], Values(new SparseCategoricalCrossentropy(fromLogits: true).Call(yTrue, logits)));
    }

    [Theory]
    [InlineData(3L)]
    [InlineData(-1L)]
    public void Sparse_LabelOutOfRange_ThrowsNamingTheValidRange(long bad)
    {
        var yTrue = tensor(new long[] { 0, bad }, new long[] { 2 });
        var yPred = tensor(new float[] { 0.2f, 0.5f, 0.3f, 0.1f, 0.1f, 0.8f }, new long[] { 2, 3 });

        var ex = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy().Call(yTrue, yPred));
        Assert.Contains("[0, 2]", ex.Message);
        Assert.Contains("3 classes", ex.Message);
        Assert.Contains(bad.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
    }

    [Fact]
    public void Sparse_WithOneHotLabels_ThrowsAndPointsToTheCategoricalLoss()
    {
        var yTrue = tensor(new float[] { 0, 1, 0, 0, 0, 1 }, new long[] { 2, 3 });
        var yPred = tensor(new float[] { 0.2f, 0.5f, 0.3f, 0.1f, 0.1f, 0.8f }, new long[] { 2, 3 });

        var ex = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy().Call(yTrue, yPred));
        Assert.Contains("categorical_crossentropy", ex.Message);
        Assert.Contains("(2, 3)", ex.Message);
    }

    // ------------------------------------------------------------------ binary_crossentropy

    [Fact]
    public void Binary_OnProbabilities_AveragesOverTheLastAxis()
    {
        // The example from Keras's binary_crossentropy docstring.
        var yTrue = tensor(new float[] { 0, 1, 0, 0 }, new long[] { 2, 2 });
        var yPred = tensor(new float[] { 0.6f, 0.4f, 0.4f, 0.6f }, new long[] { 2, 2 });
        // -[t log p + (1 - t) log(1 - p)] per element, then the mean of each row.
        double s0 = (-Math.Log(1 - 0.6) + -Math.Log(0.4)) / 2;
        double s1 = (-Math.Log(1 - 0.4) + -Math.Log(1 - 0.6)) / 2;

        Approx.Equal([s0, s1], Values(new BinaryCrossentropy().Call(yTrue, yPred)));
    }

    [Fact]
    public void Binary_OnProbabilities_ClipsToEpsilonAndOneMinusEpsilon()
    {
        var yTrue = tensor(new float[] { 1, 0 }, new long[] { 1, 2 });
        var yPred = tensor(new float[] { 0f, 1f }, new long[] { 1, 2 });
        // p = 0 with t = 1: clipped to 1e-7, loss -log(1e-7) (libtorch alone would clamp the log to -100).
        double e0 = -Math.Log(KerasEpsilon);
        // p = 1 with t = 0: clipped to 1 - 1e-7, which in float32 (Keras clips in the tensor's dtype) is the
        // nearest float to 0.9999999: 1 - 2^-23 (float32 spacing below 1 is 2^-24 and 1e-7 / 2^-24 = 1.68 rounds
        // to 2). So 1 - p = 2^-23 exactly and the loss is -log(2^-23) = 23 ln 2.
        double e1 = 23 * Math.Log(2);
        double s0 = (e0 + e1) / 2;

        Approx.Equal([s0], Values(new BinaryCrossentropy().Call(yTrue, yPred)));
    }

    [Fact]
    public void Binary_FromLogits_UsesTheSigmoidForm()
    {
        var yTrue = tensor(new float[] { 1, 0, 1, 1 }, new long[] { 2, 2 });
        var logits = tensor(new float[] { 2f, -1f, -3f, 0.5f }, new long[] { 2, 2 });
        // -log sigmoid(x) = log(1 + e^-x) for t = 1; -log(1 - sigmoid(x)) = log(1 + e^x) for t = 0.
        double s0 = (Math.Log(1 + Math.Exp(-2)) + Math.Log(1 + Math.Exp(-1))) / 2;
        double s1 = (Math.Log(1 + Math.Exp(3)) + Math.Log(1 + Math.Exp(-0.5))) / 2;

        Approx.Equal([s0, s1], Values(new BinaryCrossentropy(fromLogits: true).Call(yTrue, logits)));
    }

    [Fact]
    public void Binary_LabelSmoothing_PullsLabelsTowardsOneHalf()
    {
        var yTrue = tensor(new float[] { 1, 0 }, new long[] { 1, 2 });
        var yPred = tensor(new float[] { 0.7f, 0.2f }, new long[] { 1, 2 });
        // Keras: t = t * (1 - s) + 0.5 s with s = 0.2: labels become 0.9 and 0.1.
        double e0 = -(0.9 * Math.Log(0.7) + 0.1 * Math.Log(1 - 0.7));
        double e1 = -(0.1 * Math.Log(0.2) + 0.9 * Math.Log(1 - 0.2));

        Approx.Equal([(e0 + e1) / 2], Values(new BinaryCrossentropy(labelSmoothing: 0.2).Call(yTrue, yPred)));
    }

    [Fact]
    public void Binary_LabelsOfRankOneMatchPredictionsOfShapeNBy1()
    {
        var yTrue = tensor(new float[] { 1, 0, 1 }, new long[] { 3 });
        var yPred = tensor(new float[] { 0.8f, 0.3f, 0.6f }, new long[] { 3, 1 });
        double s0 = -Math.Log(0.8);
        double s1 = -Math.Log(1 - 0.3);
        double s2 = -Math.Log(0.6);

        Approx.Equal([s0, s1, s2], Values(new BinaryCrossentropy().Call(yTrue, yPred)));
    }

    // ------------------------------------------------------------------ bit-exact against Keras's torch formula

    /// <summary>
    /// Keras 3's categorical_crossentropy on probabilities exactly as keras/src/backend/torch/nn.py writes it:
    /// <c>output / sum(output, -1, keepdim); clip(1e-7, 1 - 1e-7); -sum(target * log(output), -1)</c>.
    /// </summary>
    private static Tensor KerasTorchFormula(Tensor target, Tensor output)
    {
        var p = (output / output.sum(-1, true)).clamp(KerasEpsilon, 1 - KerasEpsilon);
        return -(target * p.log()).sum(-1);
    }

    private static int[] Bits(Tensor t) => t.detach().contiguous().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public void Categorical_OnProbabilities_GradientsAreBitForBitKerasFormula_ValuesWithinTwoUlps(double labelSmoothing)
    {
        // The loss computes sum(xlogy(-t, p)) rather than -sum(t * log p) (two backward nodes fewer). Negation is exact and
        // commutes with rounding, and xlogy's gradient is (grad * -t) / p, the same operations in the same order as the
        // product's and the log's backward, so the gradient, which is all training uses, must match bit for bit. The
        // values differ only in the log: xlogy takes the C library's logf per element, log the vectorized one; each is
        // within 1 ulp of the exact logarithm, so a sample's value and the mean may differ by at most 2 ulps.
        // Rows include an all-zero label row and a probability row with a zero entry (clipped).
        using var scope = NewDisposeScope();
        var gen = new TorchSharp.torch.Generator(1234);
        var logits = randn([33, 10], generator: gen);
        logits[5, 3] = tensor(-200f); // softmax underflows to 0 there
        var labels = nn.functional.one_hot(randint(0, 10, [33], generator: gen), 10).to_type(ScalarType.Float32);
        labels[7] = zeros(10);
        var target = labelSmoothing > 0 ? labels * (1 - labelSmoothing) + labelSmoothing / 10 : labels;

        var z1 = logits.clone().requires_grad_(true);
        var ours = new CategoricalCrossentropy(labelSmoothing: labelSmoothing).Call(labels, nn.functional.softmax(z1, -1)).Value;
        ours.mean().backward();
        var z2 = logits.clone().requires_grad_(true);
        var keras = KerasTorchFormula(target, nn.functional.softmax(z2, -1));
        keras.mean().backward();

        Assert.Equal(Bits(z2.grad!), Bits(z1.grad!));
        // Per-sample values: within 2 ulps (the same sign, so the bit patterns' distance counts ulps), except the sign of the
        // exact zero of the all-zero label row (row 7, unsmoothed): Keras's -sum(0 * log p) gives -0.0, ours +0.0.
        var expected = Bits(keras);
        var actual = Bits(ours);
        if (labelSmoothing == 0)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(-0f), expected[7]);
            Assert.Equal(0, actual[7]);
            expected[7] = actual[7] = 0;
        }
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2, $"sample {i}: {BitConverter.Int32BitsToSingle(actual[i])} against Keras's {BitConverter.Int32BitsToSingle(expected[i])}");
        int meanUlps = Math.Abs(Bits(keras.mean())[0] - Bits(ours.mean())[0]);
        Assert.True(meanUlps <= 2, $"the means differ by {meanUlps} ulps");
    }
}
