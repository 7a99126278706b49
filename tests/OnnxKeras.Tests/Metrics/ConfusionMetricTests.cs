using OnnxKeras.Metrics;
using OnnxKeras.Tests.Losses;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Metrics;

/// <summary>
/// Precision, Recall and AUC (keras/src/metrics/confusion_metrics.py, metrics_utils.py): a prediction is
/// positive when it is strictly greater than the threshold; a label is positive when it is non-zero.
/// </summary>
public class ConfusionMetricTests
{
    private static Tensor Col(params float[] values) => tensor(values, new long[] { values.Length, 1 });

    // Labels and predictions at threshold 0.5:
    //   idx:   0    1    2    3    4    5
    //   t:     0    1    1    1    0    0
    //   p:   0.6  0.7  0.4  0.9  0.8  0.5
    //   ->    FP   TP   FN   TP   FP   TN (0.5 is not > 0.5)
    private static readonly float[] Labels = [0, 1, 1, 1, 0, 0];
    private static readonly float[] Scores = [0.6f, 0.7f, 0.4f, 0.9f, 0.8f, 0.5f];

    [Fact]
    public void Precision_And_Recall_CountAtThresholdOneHalf()
    {
        using var precision = new Precision();
        using var recall = new Recall();
        precision.UpdateState(Col(Labels), Col(Scores));
        recall.UpdateState(Col(Labels), Col(Scores));

        Approx.Equal(2.0 / (2 + 2), precision.Result(), "precision tp / (tp + fp)");
        Approx.Equal(2.0 / (2 + 1), recall.Result(), "recall tp / (tp + fn)");
    }

    [Fact]
    public void Precision_And_Recall_AccumulateAcrossUpdatesAndReset()
    {
        using var precision = new Precision();
        using var recall = new Recall();
        foreach (var (lo, hi) in new[] { (0, 3), (3, 6) })
        {
            precision.UpdateState(Col(Labels[lo..hi]), Col(Scores[lo..hi]));
            recall.UpdateState(Col(Labels[lo..hi]), Col(Scores[lo..hi]));
        }
        Approx.Equal(2.0 / 4, precision.Result(), "precision");
        Approx.Equal(2.0 / 3, recall.Result(), "recall");

        precision.ResetState();
        recall.ResetState();
        Assert.Equal(0.0, precision.Result());
        Assert.Equal(0.0, recall.Result());

        // After the reset only the second batch counts: TP idx 3, FP idx 4 -> precision 1/2, recall 1/1.
        precision.UpdateState(Col(Labels[3..]), Col(Scores[3..]));
        recall.UpdateState(Col(Labels[3..]), Col(Scores[3..]));
        Approx.Equal(1.0 / 2, precision.Result(), "precision after reset");
        Approx.Equal(1.0 / 1, recall.Result(), "recall after reset");
    }

    [Fact]
    public void Precision_And_Recall_WeightTheCounts()
    {
        var w = tensor(new float[] { 1, 2, 1, 1, 3, 1 });
        using var precision = new Precision();
        using var recall = new Recall();
        precision.UpdateState(Col(Labels), Col(Scores), w);
        recall.UpdateState(Col(Labels), Col(Scores), w);

        double tp = 2 + 1, fp = 1 + 3, fn = 1; // weights of idx 1, 3 / 0, 4 / 2
        Approx.Equal(tp / (tp + fp), precision.Result(), "precision");
        Approx.Equal(tp / (tp + fn), recall.Result(), "recall");
    }

    [Fact]
    public void Precision_And_Recall_UseTheGivenThreshold()
    {
        using var precision = new Precision(threshold: 0.75);
        using var recall = new Recall(threshold: 0.75);
        precision.UpdateState(Col(Labels), Col(Scores));
        recall.UpdateState(Col(Labels), Col(Scores));

        // Only 0.9 (TP, idx 3) and 0.8 (FP, idx 4) are above 0.75; positives are idx 1, 2, 3.
        Approx.Equal(1.0 / 2, precision.Result(), "precision");
        Approx.Equal(1.0 / 3, recall.Result(), "recall");
    }

    [Fact]
    public void Precision_WithNoPredictedPositives_IsZero()
    {
        using var precision = new Precision();
        precision.UpdateState(Col(1, 0), Col(0.1f, 0.2f));

        Assert.Equal(0.0, precision.Result());
    }

    [Fact]
    public void Precision_And_Recall_TreatEveryNonZeroLabelAsPositive()
    {
        // Keras casts y_true to bool: a soft label 0.3 is a positive.
        using var precision = new Precision();
        using var recall = new Recall();
        precision.UpdateState(Col(0.3f, 0f), Col(0.9f, 0.9f));
        recall.UpdateState(Col(0.3f, 0f), Col(0.9f, 0.9f));

        Approx.Equal(1.0 / 2, precision.Result(), "precision: TP idx 0, FP idx 1");
        Approx.Equal(1.0 / 1, recall.Result(), "recall");
    }

    // ------------------------------------------------------------------ AUC

    /// <summary>
    /// Keras's ROC AUC written out independently: thresholds [-1e-7, 1/(n-1), ..., (n-2)/(n-1), 1 + 1e-7],
    /// predictions clipped to [0, 1], positive when p &gt; threshold, labels positive when non-zero,
    /// then the trapezoidal rule over (fpr, tpr) in threshold order.
    /// </summary>
    private static double KerasRocAuc(double[] labels, double[] preds, double[]? weights = null, int numThresholds = 200)
    {
        var thresholds = new double[numThresholds];
        thresholds[0] = -1e-7;
        for (int i = 1; i < numThresholds - 1; i++) thresholds[i] = (double)i / (numThresholds - 1);
        thresholds[numThresholds - 1] = 1 + 1e-7;

        var tpr = new double[numThresholds];
        var fpr = new double[numThresholds];
        for (int k = 0; k < numThresholds; k++)
        {
            double tp = 0, fp = 0, tn = 0, fn = 0;
            for (int j = 0; j < labels.Length; j++)
            {
                double w = weights?[j] ?? 1.0;
                double p = Math.Clamp(preds[j], 0.0, 1.0);
                bool positiveLabel = labels[j] != 0;
                bool predictedPositive = p > thresholds[k];
                if (positiveLabel && predictedPositive) tp += w;
                else if (positiveLabel) fn += w;
                else if (predictedPositive) fp += w;
                else tn += w;
            }
            tpr[k] = tp + fn == 0 ? 0 : tp / (tp + fn);
            fpr[k] = fp + tn == 0 ? 0 : fp / (fp + tn);
        }
        double auc = 0;
        for (int k = 0; k < numThresholds - 1; k++) auc += (fpr[k] - fpr[k + 1]) * (tpr[k] + tpr[k + 1]) / 2;
        return auc;
    }

    [Fact]
    public void Auc_WithThreeThresholds_MatchesTheKerasDocstringExample()
    {
        // thresholds [-1e-7, 0.5, 1 + 1e-7]; labels [0, 0, 1, 1], predictions [0, 0.5, 0.3, 0.9]
        //   tp = [2, 1, 0], fp = [2, 0, 0], fn = [0, 1, 2], tn = [0, 2, 2]
        //   tpr = [1, 0.5, 0], fpr = [1, 0, 0]
        //   auc = (1 - 0) * (1 + 0.5) / 2 + (0 - 0) * (0.5 + 0) / 2 = 0.75
        using var auc = new AUC(numThresholds: 3);
        auc.UpdateState(Col(0, 0, 1, 1), Col(0f, 0.5f, 0.3f, 0.9f));

        Approx.Equal(0.75, auc.Result());
    }

    [Fact]
    public void Auc_With200Thresholds_MatchesAnIndependentComputation()
    {
        double[] labels = [1, 0, 1, 0, 1, 0];
        double[] preds = [0.9, 0.3, 0.4, 0.5, 0.65, 0.1];
        double expected = KerasRocAuc(labels, preds);
        // No positive/negative pair shares a threshold bucket (width 1/199), so the trapezoid sum equals the
        // exact AUC: the fraction of (positive, negative) pairs ranked correctly. Positives 0.9, 0.4, 0.65 beat
        // 3, 2 (0.3, 0.1) and 3 of the negatives 0.3, 0.5, 0.1: 8 of 9 pairs.
        Approx.Equal(8.0 / 9, expected, "independent computation vs pair count", rel: 1e-12, abs: 1e-12);

        using var auc = new AUC();
        auc.UpdateState(Col(labels.Select(v => (float)v).ToArray()), Col(preds.Select(v => (float)v).ToArray()));
        Approx.Equal(expected, auc.Result());
    }

    [Fact]
    public void Auc_PerfectlySeparatedIsOne_ReversedIsZero()
    {
        using var auc = new AUC();
        auc.UpdateState(Col(0, 0, 1, 1), Col(0.1f, 0.35f, 0.6f, 0.95f));
        Approx.Equal(1.0, auc.Result(), "separable");

        auc.ResetState();
        auc.UpdateState(Col(1, 1, 0, 0), Col(0.1f, 0.35f, 0.6f, 0.95f));
        Approx.Equal(0.0, auc.Result(), "reversed");
    }

    [Fact]
    public void Auc_AccumulatesAcrossUpdatesAndResets()
    {
        double[] labels = [1, 0, 1, 0, 1, 0];
        double[] preds = [0.9, 0.3, 0.4, 0.5, 0.65, 0.1];
        using var auc = new AUC();
        auc.UpdateState(Col(1, 0, 1), Col(0.9f, 0.3f, 0.4f));
        auc.UpdateState(Col(0, 1, 0), Col(0.5f, 0.65f, 0.1f));
        Approx.Equal(KerasRocAuc(labels, preds), auc.Result(), "two batches");

        auc.ResetState();
        Assert.Equal(0.0, auc.Result());
        // After the reset only [0, 1, 0] / [0.5, 0.65, 0.1] counts: the positive beats both negatives.
        auc.UpdateState(Col(0, 1, 0), Col(0.5f, 0.65f, 0.1f));
        Approx.Equal(1.0, auc.Result(), "after reset");
    }

    [Fact]
    public void Auc_WeightsPairsBySampleWeight()
    {
        double[] labels = [1, 0, 1, 0];
        double[] preds = [0.8, 0.6, 0.4, 0.2];
        double[] weights = [1, 1, 1, 2];
        // Weighted pair count: positives 0.8 (w 1) and 0.4 (w 1); negatives 0.6 (w 1) and 0.2 (w 2).
        // Correct pairs: 0.8 > 0.6 (1*1), 0.8 > 0.2 (1*2), 0.4 > 0.2 (1*2) = 5 of (1+1)*(1+2) = 6.
        double expected = KerasRocAuc(labels, preds, weights);
        Approx.Equal(5.0 / 6, expected, "independent computation vs pair count", rel: 1e-12, abs: 1e-12);

        using var auc = new AUC();
        auc.UpdateState(Col(1, 0, 1, 0), Col(0.8f, 0.6f, 0.4f, 0.2f), tensor(new float[] { 1, 1, 1, 2 }));
        Approx.Equal(expected, auc.Result());
    }

    [Fact]
    public void Auc_ClipsPredictionsOutsideZeroOne()
    {
        // Keras clips AUC predictions to [0, 1]: 2.0 -> 1.0 and -1.0 -> 0.0, so these are perfectly separated.
        using var auc = new AUC();
        auc.UpdateState(Col(1, 1, 0, 0), Col(2.0f, 0.7f, -1.0f, 0.2f));

        Approx.Equal(KerasRocAuc([1, 1, 0, 0], [2.0, 0.7, -1.0, 0.2]), auc.Result());
        Approx.Equal(1.0, auc.Result());
    }

    [Fact]
    public void Auc_NeedsAtLeastTwoThresholds()
    {
        Assert.Throws<ArgumentException>(() => new AUC(numThresholds: 1));
    }
}
