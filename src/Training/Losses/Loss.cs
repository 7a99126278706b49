using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Losses;

/// <summary>
/// A loss with Keras's semantics: <see cref="Call"/> returns one value per sample (reduced over the last
/// axis), and <see cref="Compute"/> applies sample weights and Keras's default reduction
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

    /// <summary>The weighted mean loss over the batch, a scalar.</summary>
    public KTensor Compute(KTensor yTrue, KTensor yPred, KTensor? sampleWeight = null)
    {
        var values = Call(yTrue, yPred).Value;
        if (sampleWeight is null) return values.mean();
        var w = sampleWeight.Value;
        while (w.dim() < values.dim()) w = w.unsqueeze(-1);
        while (w.dim() > values.dim() && w.shape[^1] == 1) w = w.squeeze(-1);
        return (values * w).sum() / values.numel();
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
        if (!t.shape.SequenceEqual(p.shape))
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
        ["mean_squared_error"] = () => new MeanSquaredError(), ["mse"] = () => new MeanSquaredError(),
        ["mean_absolute_error"] = () => new MeanAbsoluteError(), ["mae"] = () => new MeanAbsoluteError(),
        ["mean_absolute_percentage_error"] = () => new MeanAbsolutePercentageError(), ["mape"] = () => new MeanAbsolutePercentageError(),
        ["mean_squared_logarithmic_error"] = () => new MeanSquaredLogarithmicError(), ["msle"] = () => new MeanSquaredLogarithmicError(),
        ["huber"] = () => new Huber(), ["log_cosh"] = () => new LogCosh(),
        ["kl_divergence"] = () => new KLDivergence(), ["kld"] = () => new KLDivergence(),
        ["poisson"] = () => new Poisson(), ["hinge"] = () => new Hinge(), ["squared_hinge"] = () => new SquaredHinge(),
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
