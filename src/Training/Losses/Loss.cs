using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Losses;

/// <summary>
/// A loss with Keras's semantics: <see cref="Call"/> returns one value per sample (reduced over the last
/// axis), and <see cref="Compute"/> applies sample weights, the prediction's mask and Keras's default reduction
/// <c>sum_over_batch_size</c>: <c>sum(loss * weight) / number of loss values</c>.
/// Converts implicitly from a Keras name (<c>"categorical_crossentropy"</c>).
/// </summary>
public abstract class Loss
{
    /// <summary>Keras's fuzz factor, <c>keras.config.epsilon()</c>.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>The name the loss is reported under.</summary>
    public abstract string Name { get; }

    /// <summary>Per-sample losses, shape <c>yPred.shape[:-1]</c> (or the batch shape).</summary>
    public abstract KTensor Call(KTensor yTrue, KTensor yPred);

    /// <summary>
    /// The weighted mean loss over the batch, a scalar. When <paramref name="yPred"/> carries a mask
    /// (<see cref="KTensor.Mask"/>, e.g. the per-step output of a masked recurrent model), masked entries count for
    /// nothing and the mean is over the valid entries only, as in Keras 3 (<c>keras/src/losses/loss.py</c>,
    /// <c>apply_mask</c>): the mask becomes a weight of <c>total / (valid + epsilon)</c> at valid entries and 0 at masked
    /// ones, multiplied into the sample weights, so <c>loss = sum(loss * weight * mask) / valid</c>; an entirely masked
    /// batch gives 0. Per-sample weights (one per sample) apply to all of that sample's timesteps.
    /// </summary>
    public KTensor Compute(KTensor yTrue, KTensor yPred, KTensor? sampleWeight = null)
    {
        var values = Call(yTrue, yPred).Value;
        var w = sampleWeight?.Value;
        if (yPred.Mask is { } mask) w = ApplyMask(w, mask.Value, values.dtype, scaleForMean: true);
        if (w is null) return values.mean();
        while (w.dim() < values.dim()) w = w.unsqueeze(-1);
        while (w.dim() > values.dim() && w.size(-1) == 1) w = w.squeeze(-1);
        if (w.dim() > values.dim())
        {
            throw new ArgumentException($"Loss '{Name}': the weights of shape {Shape.Of(w.shape)} (sample weights and the prediction's " +
                $"mask) have more axes than the loss values of shape {Shape.Of(values.shape)}." +
                (yPred.Mask is null ? "" : $" The prediction carries a mask of shape {Shape.Of(yPred.Mask.Value.shape)}: masks weight " +
                    "losses computed per timestep (predictions [batch, time, ...])."));
        }
        return (values * w).sum() / values.numel();
    }

    /// <summary>
    /// Keras 3's <c>apply_mask</c> (<c>keras/src/losses/loss.py</c>): merges a prediction mask into the sample weights.
    /// The mask is cast to <paramref name="dtype"/>; for the mean reductions (<paramref name="scaleForMean"/>: losses) it
    /// is scaled by <c>total / (valid + epsilon)</c> (total = number of mask entries, valid = number of true ones), so
    /// that dividing by the number of loss values divides by the valid ones; metrics (Keras's <c>reduction="sum"</c>)
    /// use it unscaled. The result is <c>sampleWeight * mask</c>, or the mask alone without sample weights. Weights with
    /// fewer axes than the mask (one per sample) are broadcast over its trailing axes.
    /// </summary>
    internal static Tensor ApplyMask(Tensor? sampleWeight, Tensor mask, ScalarType dtype, bool scaleForMean)
    {
        var m = mask.to_type(dtype);
        if (scaleForMean) m = m * (m.numel() / (m.sum() + Epsilon));
        if (sampleWeight is null) return m;
        var w = sampleWeight.dtype == dtype ? sampleWeight : sampleWeight.to_type(dtype);
        // Keras's squeeze_or_expand_to_same_rank: a trailing axis of size 1 on either side is dropped.
        if (m.dim() == w.dim() + 1 && m.size(-1) == 1) m = m.squeeze(-1);
        else if (w.dim() == m.dim() + 1 && w.size(-1) == 1) w = w.squeeze(-1);
        while (w.dim() < m.dim()) w = w.unsqueeze(-1);
        return w * m;
    }

    /// <summary>Looks up a loss by Keras name.</summary>
    public static implicit operator Loss(string name) => LossRegistry.Get(name);

    /// <summary>Casts labels to the prediction's dtype.</summary>
    protected static Tensor AsFloat(KTensor yTrue, KTensor yPred) =>
        yTrue.Value.dtype == yPred.Value.dtype ? yTrue.Value : yTrue.Value.to_type(yPred.Value.dtype);

    /// <summary>Checks the shapes of labels and predictions agree (for losses that compare them elementwise).</summary>
    protected Tensor MatchingLabels(KTensor yTrue, KTensor yPred)
    {
        var t = AsFloat(yTrue, yPred);
        var p = yPred.Value;
        if (t.dim() == p.dim() - 1) t = t.unsqueeze(-1);
        if (!t.Sizes().AsSpan().SequenceEqual(p.Sizes()))
        {
            throw new ArgumentException($"Loss '{Name}': labels of shape {Shape.Of(t.shape)} do not match predictions of shape {Shape.Of(p.shape)}." +
                (p.dim() == 2 && t.dim() == 2 && t.shape[1] == 1 ? " For integer class labels use sparse_categorical_crossentropy." : ""));
        }
        return t;
    }
}

/// <summary>Keras's built-in losses by name.</summary>
public static class LossRegistry
{
    private static readonly Dictionary<string, Func<Loss>> Factories = new(StringComparer.Ordinal)
    {
        ["categorical_crossentropy"] = () => new CategoricalCrossentropy(),
        ["sparse_categorical_crossentropy"] = () => new SparseCategoricalCrossentropy(),
        ["binary_crossentropy"] = () => new BinaryCrossentropy(),
        ["mean_squared_error"] = () => new MeanSquaredError(),
        ["mse"] = () => new MeanSquaredError(),
        ["mean_absolute_error"] = () => new MeanAbsoluteError(),
        ["mae"] = () => new MeanAbsoluteError(),
        ["mean_absolute_percentage_error"] = () => new MeanAbsolutePercentageError(),
        ["mape"] = () => new MeanAbsolutePercentageError(),
        ["mean_squared_logarithmic_error"] = () => new MeanSquaredLogarithmicError(),
        ["msle"] = () => new MeanSquaredLogarithmicError(),
        ["huber"] = () => new Huber(),
        ["log_cosh"] = () => new LogCosh(),
        ["kl_divergence"] = () => new KLDivergence(),
        ["kld"] = () => new KLDivergence(),
        ["poisson"] = () => new Poisson(),
        ["hinge"] = () => new Hinge(),
        ["squared_hinge"] = () => new SquaredHinge(),
        ["cosine_similarity"] = () => new CosineSimilarity(),
    };

    /// <summary>All names <see cref="Get"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>A new loss for a Keras name.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static Loss Get(string name) =>
        Factories.TryGetValue(name, out var f) ? f() :
        throw new ArgumentException($"Unknown loss '{name}'. Valid names: {string.Join(", ", Factories.Keys.Order())}.", nameof(name));
}
