using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Tests.Losses;
using Xunit;

namespace OnnxKeras.Tests.Models;

/// <summary>
/// Fit, Evaluate and TrainOnBatch on a model whose per-step output carries a mask (Embedding(maskZero) -> LSTM
/// (returnSequences) -> Dense softmax): as in Keras 3, the loss and the metrics count only the unmasked timesteps
/// (keras/src/losses/loss.py <c>apply_mask</c>, keras/src/metrics/reduction_metrics.py <c>MeanMetricWrapper</c>). The
/// expectations take Predict's probabilities and work out the per-step crossentropy -log p[label] and the masked
/// averages here, by Keras's formulas: loss = sum(w * l over valid steps) / valid (per batch, then the batches averaged
/// weighted by their sizes); accuracy = sum(w * correct over valid) / sum(w over valid).
/// </summary>
public class MaskedTrainingTests
{
    private const int Classes = 3;

    // Three sequences of 4 token ids, zero-padded: 3, 2 and 1 valid steps (6 of 12).
    private static readonly float[,] X = { { 1, 2, 3, 0 }, { 4, 5, 0, 0 }, { 2, 0, 0, 0 } };
    private static readonly bool[,] Valid = { { true, true, true, false }, { true, true, false, false }, { true, false, false, false } };

    private static Sequential MaskedModel(bool maskZero = true, int seed = 11)
    {
        Keras.SetRandomSeed(seed);
        // Wide initial weights, so the predictions are far from uniform and masked steps change the averages clearly.
        return new Sequential(new InputLayer([4]), new Embedding(6, 3, new RandomUniform(-2, 2), maskZero: maskZero),
            new LSTM(4, returnSequences: true), new Dense(Classes, activation: "softmax", kernelInitializer: new RandomNormal(stddev: 4)));
    }

    /// <summary>Predict's probabilities as [batch, time, class].</summary>
    private static float[,,] Probabilities(Model model, float[,] x)
    {
        var p = model.Predict(x);
        Assert.Equal(new long[] { x.GetLength(0), 4, Classes }, p.Shape);
        var r = new float[x.GetLength(0), 4, Classes];
        for (int b = 0; b < r.GetLength(0); b++)
            for (int t = 0; t < 4; t++)
                for (int c = 0; c < Classes; c++) r[b, t, c] = p[b, t, c];
        return r;
    }

    private static int ArgMax(float[,,] p, int b, int t)
    {
        int best = 0;
        for (int c = 1; c < Classes; c++) if (p[b, t, c] > p[b, t, best]) best = c;
        return best;
    }

    /// <summary>
    /// Labels that the model gets right at every masked step and at the first valid step of each sequence, wrong at the
    /// other valid steps: valid accuracy 3/6, while counting the 6 masked steps would give 9/12.
    /// </summary>
    private static int[,] Labels(float[,,] p)
    {
        var y = new int[3, 4];
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 4; t++) y[b, t] = !Valid[b, t] || t == 0 ? ArgMax(p, b, t) : (ArgMax(p, b, t) + 1) % Classes;
        return y;
    }

    /// <summary>Keras's masked sum_over_batch_size for the samples [from, to): sum(w * -log p[y]) over valid steps / valid steps.</summary>
    private static double MaskedLoss(float[,,] p, int[,] y, Func<int, int, double> w, int from, int to)
    {
        double sum = 0;
        int valid = 0;
        for (int b = from; b < to; b++)
            for (int t = 0; t < 4; t++)
            {
                if (!Valid[b, t]) continue;
                sum += w(b, t) * -Math.Log(p[b, t, y[b, t]]);
                valid++;
            }
        return valid == 0 ? 0 : sum / valid;
    }

    private static readonly Func<int, int, double> One = (_, _) => 1.0;

    [Fact]
    public void EvaluateAndFit_ReportTheCrossentropyAveragedOverUnmaskedSteps()
    {
        using var model = MaskedModel();
        model.Compile(new SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"]);
        var p = Probabilities(model, X);
        var y = Labels(p);
        double expected = MaskedLoss(p, y, One, 0, 3);
        // Over all 12 steps instead (what ignoring the mask gives): must differ, or the test would prove nothing.
        double unmasked = 0;
        for (int b = 0; b < 3; b++) for (int t = 0; t < 4; t++) unmasked += -Math.Log(p[b, t, y[b, t]]) / 12;
        Assert.True(Math.Abs(expected - unmasked) > 0.05, $"masked {expected} vs unmasked {unmasked}");

        var logs = model.Evaluate(X, y, batchSize: 3);
        Approx.Equal(expected, logs["loss"], "Evaluate loss");
        Approx.Equal(3.0 / 6, logs["accuracy"], "Evaluate accuracy");

        // Two batches: samples {0, 1} (5 valid steps) and {2} (1 valid step); Keras averages the batch losses by batch size.
        var batched = model.Evaluate(X, y, batchSize: 2);
        Approx.Equal((2 * MaskedLoss(p, y, One, 0, 2) + 1 * MaskedLoss(p, y, One, 2, 3)) / 3, batched["loss"], "Evaluate loss, 2 batches");
        Approx.Equal(3.0 / 6, batched["accuracy"], "Evaluate accuracy, 2 batches");

        // Fit reports the loss of each batch before its update: one batch, one epoch -> the same numbers.
        var h = model.Fit(X, y, batchSize: 3, epochs: 1, verbose: 0, shuffle: false);
        Approx.Equal(expected, h["loss"][0], "Fit loss");
        Approx.Equal(3.0 / 6, h["accuracy"][0], "Fit accuracy");

        // TrainOnBatch likewise, from the updated weights.
        var p2 = Probabilities(model, X);
        var step = model.TrainOnBatch(X, y);
        Approx.Equal(MaskedLoss(p2, y, One, 0, 3), step["loss"], "TrainOnBatch loss");
    }

    [Fact]
    public void SampleWeights_MultiplyTheMaskedSteps_AndTheSumIsDividedByTheValidCount()
    {
        using var model = MaskedModel();
        model.Compile(new SGD(0.1), "sparse_categorical_crossentropy", weightedMetrics: ["accuracy"]);
        var p = Probabilities(model, X);
        var y = Labels(p);

        // Per-step weights [batch, time] (Keras's temporal sample weights); the weights at masked steps play no part.
        float[,] w = { { 1, 2, 0.5f, 7 }, { 3, 0.25f, 9, 9 }, { 1.5f, 9, 9, 9 } };
        double expected = MaskedLoss(p, y, (b, t) => w[b, t], 0, 3);
        var logs = model.Evaluate(X, y, batchSize: 3, sampleWeight: w);
        Approx.Equal(expected, logs["loss"], "loss, per-step weights");
        // Correct valid steps (the first of each sequence) have weights 1, 3, 1.5; all valid weights sum to 8.25.
        Approx.Equal((1 + 3 + 1.5) / 8.25, logs["accuracy"], "weighted accuracy, per-step weights");

        // Per-sample weights [batch] apply to all of a sequence's steps.
        float[] ws = { 2, 0.5f, 4 };
        var perSample = model.Evaluate(X, y, batchSize: 3, sampleWeight: ws);
        Approx.Equal(MaskedLoss(p, y, (b, _) => ws[b], 0, 3), perSample["loss"], "loss, per-sample weights");
        Approx.Equal((2 + 0.5 + 4) / (3 * 2 + 2 * 0.5 + 1 * 4.0), perSample["accuracy"], "weighted accuracy, per-sample weights");

        var h = model.Fit(X, y, batchSize: 3, epochs: 1, verbose: 0, shuffle: false, sampleWeight: w);
        Approx.Equal(expected, h["loss"][0], "Fit loss, per-step weights");
    }

    [Fact]
    public void AFullyMaskedBatch_GivesLossZeroAndAccuracyZero_NotNaN()
    {
        using var model = MaskedModel();
        model.Compile(new SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"]);
        var x = new float[2, 4]; // all padding
        var y = new int[2, 4];
        var logs = model.Evaluate(x, y);
        Assert.Equal(0.0, logs["loss"]);
        Assert.Equal(0.0, logs["accuracy"]);

        var h = model.Fit(x, y, epochs: 1, verbose: 0);
        Assert.Equal(0.0, h["loss"][0]);
        // A zero loss has zero gradients: the weights stay finite (and the model still predicts numbers).
        foreach (var v in Probabilities(model, X)) Assert.True(float.IsFinite(v));
    }

    [Fact]
    public void WithoutMaskZero_EveryStepCounts()
    {
        using var model = MaskedModel(maskZero: false);
        model.Compile(new SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"]);
        var p = Probabilities(model, X);
        var y = Labels(p);
        double expected = 0;
        for (int b = 0; b < 3; b++) for (int t = 0; t < 4; t++) expected += -Math.Log(p[b, t, y[b, t]]) / 12;
        var logs = model.Evaluate(X, y, batchSize: 3);
        Approx.Equal(expected, logs["loss"], "loss over all 12 steps");
        Approx.Equal(9.0 / 12, logs["accuracy"], "accuracy over all 12 steps");
    }

    [Fact]
    public void AFunctionalModel_PassesItsOutputMaskToTheLoss()
    {
        Keras.SetRandomSeed(12);
        var input = Keras.Input([4]);
        var h = new LSTM(4, returnSequences: true).Apply(new Embedding(6, 3, new RandomUniform(-2, 2), maskZero: true).Apply(input));
        using var model = new Model(input, new Dense(Classes, activation: "softmax", kernelInitializer: new RandomNormal(stddev: 4)).Apply(h));
        model.Compile(new SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"]);
        var p = Probabilities(model, X);
        var y = Labels(p);
        var logs = model.Evaluate(X, y, batchSize: 3);
        Approx.Equal(MaskedLoss(p, y, One, 0, 3), logs["loss"], "loss");
        Approx.Equal(3.0 / 6, logs["accuracy"], "accuracy");
    }
}
