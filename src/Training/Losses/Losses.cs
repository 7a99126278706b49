using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxKeras.Losses;

/// <summary>
/// Cross-entropy for one-hot labels. On probabilities (the default) Keras rescales each row to sum 1 and
/// clips to [1e-7, 1 - 1e-7] before the log; with <c>fromLogits</c> it applies log-softmax.
/// </summary>
public sealed class CategoricalCrossentropy(bool fromLogits = false, double labelSmoothing = 0.0) : Loss
{
    /// <summary>Whether predictions are logits.</summary>
    public bool FromLogits { get; } = fromLogits;
    /// <summary>Label smoothing factor in [0, 1].</summary>
    public double LabelSmoothing { get; } = labelSmoothing is >= 0 and <= 1
        ? labelSmoothing
        : throw new ArgumentException($"labelSmoothing must be in [0, 1]; got {labelSmoothing}.");
    /// <inheritdoc />
    public override string Name => "categorical_crossentropy";

    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var t = MatchingLabels(yTrue, yPred);
        if (LabelSmoothing > 0) t = t * (1 - LabelSmoothing) + LabelSmoothing / yPred.Value.size(-1);
        // -sum(t * log p) written as sum(-t * log p): the same bits in the gradient and the mean (negation is exact and
        // commutes with rounding; only a row of all-zero labels gives +0.0 instead of -0.0), but the negation falls on the
        // labels, which need no gradient, so backward runs one node fewer per step (bench/NOTES.md, "Fit's per-step overhead").
        if (FromLogits) return (t.neg() * Crossentropy.LogProbabilities(yPred.Value, fromLogits: true)).sum(-1);
        // On probabilities, xlogy(-t, p) is -t * log(p) in one op and one backward node instead of two (log, then the
        // product); p is clipped to [1e-7, 1 - 1e-7], so its log is finite and the value is Keras's formula's
        // (bench/NOTES.md, "Cross-entropy with xlogy").
        return t.neg().xlogy(Crossentropy.Probabilities(yPred.Value)).sum(-1);
    }
}

/// <summary>Cross-entropy for integer class labels (shape [batch] or [batch, 1]); labels must lie in [0, classes).</summary>
public sealed class SparseCategoricalCrossentropy(bool fromLogits = false) : Loss
{
    /// <summary>Whether predictions are logits.</summary>
    public bool FromLogits { get; } = fromLogits;
    /// <inheritdoc />
    public override string Name => "sparse_categorical_crossentropy";

    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var p = yPred.Value;
        var t = yTrue.Value;
        if (t.dim() == p.dim() && t.dim() > 0 && t.size(-1) == 1) t = t.squeeze(-1);
        if (t.dim() != p.dim() - 1)
            throw new ArgumentException($"Loss '{Name}': integer labels of shape {Shape.Of(yTrue.Value.shape)} do not fit predictions of " +
                $"shape {Shape.Of(p.shape)}; expected labels of shape {Shape.Of(p.shape[..^1])}. For one-hot labels use " +
                "categorical_crossentropy.");
        if (t.is_floating_point()) t = t.to_type(ScalarType.Int64);
        else if (t.dtype != ScalarType.Int64) t = t.to_type(ScalarType.Int64);
        Crossentropy.CheckLabelRange(t, p.size(-1), Name);
        var logp = Crossentropy.LogProbabilities(p, FromLogits);
        return -logp.gather(-1, t.unsqueeze(-1)).squeeze(-1);
    }
}

/// <summary>
/// Binary cross-entropy, averaged over the last axis. On probabilities Keras clips to [1e-7, 1 - 1e-7]
/// (and libtorch's binary_cross_entropy clamps the log at -100); with <c>fromLogits</c> it uses the stable logits form.
/// </summary>
public sealed class BinaryCrossentropy(bool fromLogits = false, double labelSmoothing = 0.0) : Loss
{
    /// <summary>Whether predictions are logits.</summary>
    public bool FromLogits { get; } = fromLogits;
    /// <summary>Label smoothing factor: labels become <c>y (1 - s) + 0.5 s</c>.</summary>
    public double LabelSmoothing { get; } = labelSmoothing is >= 0 and <= 1
        ? labelSmoothing
        : throw new ArgumentException($"labelSmoothing must be in [0, 1]; got {labelSmoothing}.");
    /// <inheritdoc />
    public override string Name => "binary_crossentropy";

    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var t = MatchingLabels(yTrue, yPred);
        if (LabelSmoothing > 0) t = t * (1 - LabelSmoothing) + 0.5 * LabelSmoothing;
        var p = yPred.Value;
        var e = FromLogits
            ? F.binary_cross_entropy_with_logits(p, t, reduction: nn.Reduction.None)
            : F.binary_cross_entropy(p.clamp(Scalars.Epsilon, Scalars.OneMinusEpsilon), t, reduction: nn.Reduction.None);
        return e.mean([-1L]);
    }
}

/// <summary><c>mean((y_true - y_pred)^2, axis=-1)</c>.</summary>
public sealed class MeanSquaredError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_squared_error";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred) => (yPred.Value - MatchingLabels(yTrue, yPred)).pow(Scalars.Two).mean([-1L]);
}

/// <summary><c>mean(|y_true - y_pred|, axis=-1)</c>.</summary>
public sealed class MeanAbsoluteError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_absolute_error";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred) => (yPred.Value - MatchingLabels(yTrue, yPred)).abs().mean([-1L]);
}

/// <summary><c>100 * mean(|(y_true - y_pred) / max(|y_true|, 1e-7)|, axis=-1)</c>.</summary>
public sealed class MeanAbsolutePercentageError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_absolute_percentage_error";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var t = MatchingLabels(yTrue, yPred);
        return ((t - yPred.Value) / t.abs().clamp_min(Epsilon)).abs().mean([-1L]) * 100.0;
    }
}

/// <summary><c>mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2, axis=-1)</c>.</summary>
public sealed class MeanSquaredLogarithmicError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_squared_logarithmic_error";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var t = MatchingLabels(yTrue, yPred);
        return (yPred.Value.clamp_min(Epsilon).log1p() - t.clamp_min(Epsilon).log1p()).pow(Scalars.Two).mean([-1L]);
    }
}

/// <summary>Huber loss: <c>0.5 e^2</c> for |e| &lt;= delta, else <c>delta |e| - 0.5 delta^2</c>, averaged over the last axis.</summary>
public sealed class Huber(double delta = 1.0) : Loss
{
    /// <summary>The threshold between the quadratic and linear parts.</summary>
    public double Delta { get; } = delta > 0 ? delta : throw new ArgumentException($"Huber delta must be positive; got {delta}.");
    /// <inheritdoc />
    public override string Name => "huber_loss";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var e = yPred.Value - MatchingLabels(yTrue, yPred);
        var a = e.abs();
        return where(a <= Delta, 0.5 * e.pow(Scalars.Two), Delta * a - 0.5 * Delta * Delta).mean([-1L]);
    }
}

/// <summary><c>mean(log(cosh(y_pred - y_true)), axis=-1)</c>, computed stably as <c>x + softplus(-2x) - log 2</c>.</summary>
public sealed class LogCosh : Loss
{
    /// <inheritdoc />
    public override string Name => "log_cosh";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var x = yPred.Value - MatchingLabels(yTrue, yPred);
        return (x + F.softplus(-2.0 * x, 1, 20) - Math.Log(2.0)).mean([-1L]);
    }
}

/// <summary>Kullback-Leibler divergence <c>sum(t log(t / p), axis=-1)</c> with both clipped to [1e-7, 1].</summary>
public sealed class KLDivergence : Loss
{
    /// <inheritdoc />
    public override string Name => "kl_divergence";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var t = MatchingLabels(yTrue, yPred).clamp(Epsilon, 1);
        var p = yPred.Value.clamp(Epsilon, 1);
        return (t * (t / p).log()).sum(-1);
    }
}

/// <summary><c>mean(y_pred - y_true log(y_pred + 1e-7), axis=-1)</c>.</summary>
public sealed class Poisson : Loss
{
    /// <inheritdoc />
    public override string Name => "poisson";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var t = MatchingLabels(yTrue, yPred);
        return (yPred.Value - t * (yPred.Value + Epsilon).log()).mean([-1L]);
    }
}

/// <summary><c>mean(max(1 - t p, 0), axis=-1)</c>; labels 0/1 are converted to -1/1 as Keras does.</summary>
public sealed class Hinge : Loss
{
    /// <inheritdoc />
    public override string Name => "hinge";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred) =>
        (1.0 - Crossentropy.HingeLabels(MatchingLabels(yTrue, yPred)) * yPred.Value).clamp_min(0).mean([-1L]);
}

/// <summary><c>mean(max(1 - t p, 0)^2, axis=-1)</c>; labels 0/1 are converted to -1/1 as Keras does.</summary>
public sealed class SquaredHinge : Loss
{
    /// <inheritdoc />
    public override string Name => "squared_hinge";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred) =>
        (1.0 - Crossentropy.HingeLabels(MatchingLabels(yTrue, yPred)) * yPred.Value).clamp_min(0).pow(Scalars.Two).mean([-1L]);
}

/// <summary>
/// <c>-sum(l2_normalize(t) * l2_normalize(p), axis=-1)</c>: -1 for identical directions. Keras normalizes with
/// <c>x * min(rsqrt(sum(x^2)), 1 / 1e-7)</c>, i.e. the norm is floored at 1e-7; this computes the same value as
/// <c>x / sqrt(max(sum(x^2), 1e-14))</c>, whose gradient stays finite for a zero vector (which gives 0).
/// </summary>
public sealed class CosineSimilarity : Loss
{
    /// <inheritdoc />
    public override string Name => "cosine_similarity";
    /// <inheritdoc />
    public override KTensor Call(KTensor yTrue, KTensor yPred)
    {
        var t = MatchingLabels(yTrue, yPred);
        return -(Normalize(t) * Normalize(yPred.Value)).sum(-1);
        static Tensor Normalize(Tensor x) => x / x.pow(Scalars.Two).sum(-1, true).clamp_min(Epsilon * Epsilon).sqrt();
    }
}

/// <summary>Pieces shared by the cross-entropy losses and metrics.</summary>
internal static class Crossentropy
{
    /// <summary>Keras's log-probabilities: log-softmax of logits, or log of probabilities rescaled to sum 1 and clipped.</summary>
    public static Tensor LogProbabilities(Tensor output, bool fromLogits)
    {
        if (fromLogits) return F.log_softmax(output, -1);
        return Probabilities(output).log();
    }

    /// <summary>Probabilities rescaled to sum 1 and clipped to [1e-7, 1 - 1e-7] (Keras's, before the log).</summary>
    public static Tensor Probabilities(Tensor output) => (output / output.sum(-1, true)).clamp(Scalars.Epsilon, Scalars.OneMinusEpsilon);

    /// <summary>Throws when an integer label is outside [0, classes).</summary>
    public static void CheckLabelRange(Tensor labels, long classes, string who)
    {
        if (labels.numel() == 0) return;
        long min = labels.min().item<long>();
        long max = labels.max().item<long>();
        if (min < 0 || max >= classes)
            throw new ArgumentException($"{who}: labels must be integers in [0, {classes - 1}] for {classes} classes; got values from {min} to {max}.");
    }

    /// <summary>Keras converts 0/1 labels to -1/1 for hinge losses (labels already in {-1, 1} are kept).</summary>
    public static Tensor HingeLabels(Tensor t)
    {
        bool binary01 = ((t == 0) | (t == 1)).all().item<bool>();
        return binary01 ? 2.0 * t - 1.0 : t;
    }
}
