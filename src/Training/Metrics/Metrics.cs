using TorchSharp;
using OnnxKeras.Losses;
using static TorchSharp.torch;

namespace OnnxKeras.Metrics;

/// <summary>Per-sample metric functions with Keras's formulas.</summary>
public static class MetricFunctions
{
    /// <summary>1 where argmax of the one-hot label equals argmax of the prediction.</summary>
    public static KTensor CategoricalAccuracy(KTensor yTrue, KTensor yPred) =>
        yTrue.Value.argmax(-1).eq(yPred.Value.argmax(-1)).to_type(ScalarType.Float32);

    /// <summary>1 where the integer label equals argmax of the prediction.</summary>
    public static KTensor SparseCategoricalAccuracy(KTensor yTrue, KTensor yPred)
    {
        var t = yTrue.Value;
        var p = yPred.Value;
        if (t.dim() == p.dim() && t.dim() > 0 && t.size(-1) == 1) t = t.squeeze(-1);
        return t.to_type(ScalarType.Int64).eq(p.argmax(-1)).to_type(ScalarType.Float32);
    }

    /// <summary>Mean over the last axis of 1 where (prediction &gt; threshold) equals the label.</summary>
    public static KTensor BinaryAccuracy(KTensor yTrue, KTensor yPred, double threshold = 0.5)
    {
        var p = yPred.Value;
        var t = yTrue.Value.to_type(p.dtype);
        if (t.dim() == p.dim() - 1) t = t.unsqueeze(-1);
        using TorchSharp.Scalar limit = threshold; // disposed now, not at a collection (docs/training.md, "Memory between collections")
        return p.gt(limit).to_type(p.dtype).eq(t).to_type(ScalarType.Float32).mean([-1L]);
    }

    /// <summary>1 where the true class (argmax of the one-hot label) is among the k largest predictions (ties with the k-th count).</summary>
    public static KTensor TopKCategoricalAccuracy(KTensor yTrue, KTensor yPred, int k = 5) =>
        InTopK(yTrue.Value.argmax(-1), yPred.Value, k);

    /// <summary>1 where the integer label is among the k largest predictions (ties with the k-th count).</summary>
    public static KTensor SparseTopKCategoricalAccuracy(KTensor yTrue, KTensor yPred, int k = 5)
    {
        var t = yTrue.Value;
        if (t.dim() == yPred.Value.dim() && t.dim() > 0 && t.size(-1) == 1) t = t.squeeze(-1);
        return InTopK(t.to_type(ScalarType.Int64), yPred.Value, k);
    }

    /// <summary>Keras's <c>in_top_k</c>: the target is in when its prediction is &gt;= the k-th largest, so ties at the boundary count.</summary>
    private static KTensor InTopK(Tensor target, Tensor pred, int k)
    {
        long kk = Math.Min(k, pred.size(-1));
        var kth = pred.topk((int)kk, -1).values[TensorIndex.Ellipsis, TensorIndex.Slice(-1)];
        var targetValue = pred.gather(-1, target.unsqueeze(-1));
        return targetValue.ge(kth).squeeze(-1).to_type(ScalarType.Float32);
    }
}

/// <summary>Keras's built-in metrics by name.</summary>
public static class MetricRegistry
{
    private static readonly Dictionary<string, Func<string, Metric>> Factories = new(StringComparer.Ordinal)
    {
        ["categorical_accuracy"] = n => new MeanMetricWrapper(n, MetricFunctions.CategoricalAccuracy),
        ["sparse_categorical_accuracy"] = n => new MeanMetricWrapper(n, MetricFunctions.SparseCategoricalAccuracy),
        ["binary_accuracy"] = n => new MeanMetricWrapper(n, (t, p) => MetricFunctions.BinaryAccuracy(t, p)),
        ["top_k_categorical_accuracy"] = n => new MeanMetricWrapper(n, (t, p) => MetricFunctions.TopKCategoricalAccuracy(t, p)),
        ["sparse_top_k_categorical_accuracy"] = n => new MeanMetricWrapper(n, (t, p) => MetricFunctions.SparseTopKCategoricalAccuracy(t, p)),
        ["mean_squared_error"] = n => new MeanMetricWrapper(n, new MeanSquaredError().Call),
        ["mse"] = n => new MeanMetricWrapper(n, new MeanSquaredError().Call),
        ["mean_absolute_error"] = n => new MeanMetricWrapper(n, new MeanAbsoluteError().Call),
        ["mae"] = n => new MeanMetricWrapper(n, new MeanAbsoluteError().Call),
        ["precision"] = n => new Precision(name: n),
        ["recall"] = n => new Recall(name: n),
        ["auc"] = n => new AUC(name: n),
    };

    /// <summary>All names <see cref="Get"/> accepts (plus <c>accuracy</c>/<c>acc</c>, resolved at the first batch from
    /// the shapes of labels and predictions).</summary>
    public static IReadOnlyCollection<string> Names => [.. Factories.Keys, "accuracy", "acc"];

    /// <summary>A new metric for a Keras name. <c>accuracy</c> is resolved by the model at its first batch; see <see cref="Resolve"/>.</summary>
    public static Metric Get(string name)
    {
        if (name is "accuracy" or "acc") return new AccuracyPlaceholder(name);
        if (Factories.TryGetValue(name, out var f)) return f(name);
        throw new ArgumentException($"Unknown metric '{name}'. Valid names: {string.Join(", ", Names.Order())}.", nameof(name));
    }

    /// <summary>
    /// Resolves <c>accuracy</c> the way Keras 3 does (<c>compile_utils.get_metric</c>), from the shapes of labels and
    /// predictions only, not from the loss: binary_accuracy when the predictions have one column,
    /// sparse_categorical_accuracy when the labels have lower rank or one column against several, else
    /// categorical_accuracy (so multi-label binary cross-entropy gets categorical accuracy, as in Keras 3).
    /// </summary>
    internal static Metric Resolve(Metric metric, Shape yTrue, Shape yPred)
    {
        if (metric is not AccuracyPlaceholder a) return metric;
        bool isBinary = yPred[^1] == 1;
        bool isSparseCategorical = yTrue.Rank < yPred.Rank || (yTrue[^1] == 1 && yPred[^1] > 1);
        string kind = isBinary ? "binary_accuracy" : isSparseCategorical ? "sparse_categorical_accuracy" : "categorical_accuracy";
        return Factories[kind](a.Name);
    }

    private sealed class AccuracyPlaceholder(string name) : Metric(name)
    {
        private InvalidOperationException Unresolved() => new($"Metric '{Name}' is resolved by the model from the shapes of its labels " +
            $"and predictions; use it through model.Compile(metrics: [\"{Name}\"]).");
        public override void UpdateState(KTensor yTrue, KTensor yPred, KTensor? sampleWeight = null) => throw Unresolved();
        public override double Result() => throw Unresolved();
        public override void ResetState() { }
    }
}

/// <summary>Base of the confusion-matrix metrics: counts true/false positives/negatives at thresholds, on the device.</summary>
public abstract class ConfusionMetric : Metric
{
    private readonly double[] thresholds;
    private Tensor? thresholdTensor;
    /// <summary>Counts per threshold: [4, T] for tp, fp, tn, fn.</summary>
    protected Tensor? Counts { get; private set; }

    /// <summary>Whether predictions are clipped to [0, 1] before thresholding (Keras does so for AUC).</summary>
    protected virtual bool ClipPredictions => false;

    /// <summary>
    /// Creates the metric for the given thresholds: a prediction counts positive when it is greater than the
    /// threshold, a label when it is non-zero (Keras casts labels to bool).
    /// </summary>
    protected ConfusionMetric(string name, double[] thresholds) : base(name)
    {
        if (thresholds.Length == 0) throw new ArgumentException($"{name}: needs at least one threshold.");
        this.thresholds = thresholds;
    }

    /// <inheritdoc />
    public override void UpdateState(KTensor yTrue, KTensor yPred, KTensor? sampleWeight = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = yPred.Value.detach().to_type(ScalarType.Float64).reshape(-1);
        if (ClipPredictions) p = p.clamp(0.0, 1.0);
        var t = yTrue.Value.to_type(ScalarType.Float64).reshape(-1) != 0.0;
        if (t.numel() != p.numel())
            throw new ArgumentException($"{Name}: labels of shape {Shape.Of(yTrue.Value.shape)} do not match predictions of shape " +
                $"{Shape.Of(yPred.Value.shape)}.");
        thresholdTensor ??= tensor(thresholds, ScalarType.Float64, p.device).DetachFromDisposeScope();
        var w = sampleWeight is null
            ? ones_like(p)
            : sampleWeight.Value.to_type(ScalarType.Float64).reshape(-1, 1).expand(-1, p.numel() / sampleWeight.Value.shape[0]).reshape(-1);
        var predPos = p.unsqueeze(0) > thresholdTensor.unsqueeze(1); // [T, N]
        var tt = t.unsqueeze(0);
        var wf = w.unsqueeze(0);
        var tp = (predPos & tt).to_type(ScalarType.Float64).mul(wf).sum(1);
        var fp = (predPos & ~tt).to_type(ScalarType.Float64).mul(wf).sum(1);
        var tn = (~predPos & ~tt).to_type(ScalarType.Float64).mul(wf).sum(1);
        var fn = (~predPos & tt).to_type(ScalarType.Float64).mul(wf).sum(1);
        var batch = stack([tp, fp, tn, fn]);
        if (Counts is null) Counts = batch.DetachFromDisposeScope();
        else Counts.add_(batch);
    }

    /// <summary>The counts as [tp, fp, tn, fn][threshold] on the host.</summary>
    protected double[][] ReadCounts()
    {
        if (Counts is null) return [new double[thresholds.Length], new double[thresholds.Length], new double[thresholds.Length], new double[thresholds.Length]];
        using var cpu = Counts.cpu();
        var flat = cpu.data<double>().ToArray();
        int n = thresholds.Length;
        return [flat[..n], flat[n..(2 * n)], flat[(2 * n)..(3 * n)], flat[(3 * n)..]];
    }

    /// <inheritdoc />
    public override void ResetState()
    {
        Counts?.Dispose();
        Counts = null;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        ResetState();
        thresholdTensor?.Dispose();
        base.Dispose();
    }

    /// <summary><c>a / b</c>, 0 when b is 0 (Keras's divide_no_nan).</summary>
    protected static double DivideNoNan(double a, double b) => b == 0 ? 0 : a / b;
}

/// <summary>Precision <c>tp / (tp + fp)</c> with predictions thresholded at <paramref name="threshold"/> (default 0.5).</summary>
public sealed class Precision(double threshold = 0.5, string name = "precision") : ConfusionMetric(name, [threshold])
{
    /// <summary>The threshold above which a prediction counts as positive.</summary>
    public double Threshold { get; } = threshold;

    /// <inheritdoc />
    public override double Result()
    {
        var c = ReadCounts();
        return DivideNoNan(c[0][0], c[0][0] + c[1][0]);
    }
}

/// <summary>Recall <c>tp / (tp + fn)</c> with predictions thresholded at <paramref name="threshold"/> (default 0.5).</summary>
public sealed class Recall(double threshold = 0.5, string name = "recall") : ConfusionMetric(name, [threshold])
{
    /// <summary>The threshold above which a prediction counts as positive.</summary>
    public double Threshold { get; } = threshold;

    /// <inheritdoc />
    public override double Result()
    {
        var c = ReadCounts();
        return DivideNoNan(c[0][0], c[0][0] + c[3][0]);
    }
}

/// <summary>
/// Area under the ROC curve, Keras's method: <paramref name="numThresholds"/> thresholds evenly spaced in [0, 1]
/// (plus -1e-7 and 1 + 1e-7 at the ends), predictions clipped to [0, 1], and the trapezoidal rule over (false positive rate, recall).
/// </summary>
public sealed class AUC(int numThresholds = 200, string name = "auc") : ConfusionMetric(name, Thresholds(numThresholds))
{
    /// <summary>The number of thresholds, evenly spaced in [0, 1].</summary>
    public int NumThresholds { get; } = numThresholds;

    /// <summary>Keras clips AUC predictions to [0, 1], so scores outside that range land in the end buckets.</summary>
    protected override bool ClipPredictions => true;

    private static double[] Thresholds(int n)
    {
        if (n < 2) throw new ArgumentException($"AUC: numThresholds must be > 1; got {n}.");
        var t = new double[n];
        t[0] = -Loss.Epsilon;
        for (int i = 0; i < n - 2; i++) t[i + 1] = (i + 1) * 1.0 / (n - 1);
        t[n - 1] = 1 + Loss.Epsilon;
        return t;
    }

    /// <inheritdoc />
    public override double Result()
    {
        var c = ReadCounts();
        int n = c[0].Length;
        double sum = 0;
        for (int i = 0; i < n - 1; i++)
        {
            double x0 = DivideNoNan(c[1][i], c[1][i] + c[2][i]), x1 = DivideNoNan(c[1][i + 1], c[1][i + 1] + c[2][i + 1]);
            double y0 = DivideNoNan(c[0][i], c[0][i] + c[3][i]), y1 = DivideNoNan(c[0][i + 1], c[0][i + 1] + c[3][i + 1]);
            sum += (x0 - x1) * (y0 + y1) / 2;
        }
        return sum;
    }
}
