using OnnxKeras.Losses;
using static TorchSharp.torch;

namespace OnnxKeras.Models.Jit;

/// <summary>
/// The compiled form of the built-in losses a compiled step supports, each written as its eager <see cref="Loss.Call"/>
/// and <see cref="Loss.Compute"/> compute it (same libtorch calls in the same order): categorical and sparse categorical
/// cross-entropy (probabilities rescaled to sum 1 and clipped to [1e-7, 1 - 1e-7], or log-softmax of logits), binary
/// cross-entropy (clipped probabilities, or the logits form), mean squared and mean absolute error; then sample weights
/// and Keras's <c>sum_over_batch_size</c>. Label casts happen in C# before the call (<see cref="PrepareLabels"/>), as the
/// eager loss does them, outside the gradient.
/// </summary>
internal static class ScriptLoss
{
    /// <summary>Null when <paramref name="loss"/> has a compiled form, else why not.</summary>
    public static string? Unsupported(Loss loss) => loss switch
    {
        CategoricalCrossentropy or SparseCategoricalCrossentropy or BinaryCrossentropy or MeanSquaredError or MeanAbsoluteError => null,
        _ => $"loss '{loss.Name}' ({loss.GetType().Name}) has no compiled form (compiled: categorical_crossentropy, " +
             "sparse_categorical_crossentropy, binary_crossentropy, mean_squared_error, mean_absolute_error)",
    };

    /// <summary>
    /// The labels as the eager loss reads them: integer class labels squeezed and cast to int64 and range-checked (sparse
    /// cross-entropy), other labels cast to the prediction's dtype. Runs at every step, as the eager loss's own checks do.
    /// </summary>
    public static Tensor PrepareLabels(Loss loss, Tensor y, ScalarType predictionType, long[] predictionShape)
    {
        if (loss is SparseCategoricalCrossentropy sparse)
        {
            var t = y;
            if (t.dim() == predictionShape.Length && t.shape[^1] == 1) t = t.squeeze(-1);
            if (t.dtype != ScalarType.Int64) t = t.to_type(ScalarType.Int64);
            Crossentropy.CheckLabelRange(t, predictionShape[^1], sparse.Name);
            return t;
        }
        return y.dtype == predictionType ? y : y.to_type(predictionType);
    }

    /// <summary>
    /// Appends the lines that compute the weighted scalar loss of prediction <paramref name="p"/> (example
    /// <paramref name="prediction"/>) against prepared labels <paramref name="y"/> (example <paramref name="labels"/>) and
    /// optional sample weights <paramref name="w"/> (example <paramref name="weights"/>) into a value named <c>loss</c>.
    /// Shapes were checked by the eager loss on the same batch before this is called.
    /// </summary>
    public static void Emit(Loss loss, double lossWeight, string p, Tensor prediction, string y, Tensor labels, string? w, Tensor? weights,
        List<string> lines)
    {
        string values;
        switch (loss)
        {
            case CategoricalCrossentropy c:
                lines.Add($"    t = {Matching(y, labels, prediction)}");
                if (c.LabelSmoothing > 0)
                    lines.Add($"    t = t * {ScriptOps.Lit(1 - c.LabelSmoothing)} + {ScriptOps.Lit(c.LabelSmoothing / prediction.shape[^1])}");
                if (c.FromLogits)
                {
                    lines.Add($"    logp = {LogProbabilities(p, fromLogits: true)}");
                    values = "torch.sum(-t * logp, [-1])"; // as CategoricalCrossentropy.Call: the negation on the labels
                }
                else values = $"torch.sum(torch.xlogy(-t, {Probabilities(p)}), [-1])"; // as CategoricalCrossentropy.Call
                break;
            case SparseCategoricalCrossentropy s:
                lines.Add($"    logp = {LogProbabilities(p, s.FromLogits)}");
                values = $"-torch.gather(logp, -1, {y}.unsqueeze(-1)).squeeze(-1)";
                break;
            case BinaryCrossentropy b:
                lines.Add($"    t = {Matching(y, labels, prediction)}");
                if (b.LabelSmoothing > 0) lines.Add($"    t = t * {ScriptOps.Lit(1 - b.LabelSmoothing)} + {ScriptOps.Lit(0.5 * b.LabelSmoothing)}");
                values = b.FromLogits
                    ? $"torch.binary_cross_entropy_with_logits({p}, t, None, None, 0).mean([-1])"
                    : $"torch.binary_cross_entropy(torch.clamp({p}, {Eps}, {OneMinusEps}), t, None, 0).mean([-1])";
                break;
            case MeanSquaredError:
                lines.Add($"    t = {Matching(y, labels, prediction)}");
                values = $"torch.mean(torch.square({p} - t), [-1])";
                break;
            case MeanAbsoluteError:
                lines.Add($"    t = {Matching(y, labels, prediction)}");
                values = $"torch.mean(torch.abs({p} - t), [-1])";
                break;
            default:
                throw new NotCompilableException(Unsupported(loss)!);
        }
        lines.Add($"    values = {values}");
        // Loss.Compute: the mean without weights; with weights, weights brought to the values' rank, then sum / count.
        long valueRank = prediction.dim() - 1, count = prediction.shape[..^1].Aggregate(1L, (x, y) => x * y);
        if (w is null || weights is null) lines.Add("    loss = torch.mean(values)");
        else
        {
            string wv = w;
            long rank = weights.dim();
            var dims = weights.shape.ToList();
            while (rank < valueRank)
            {
                wv += ".unsqueeze(-1)";
                rank++;
            }
            while (rank > valueRank && dims[(int)rank - 1] == 1)
            {
                wv += ".squeeze(-1)";
                rank--;
            }
            if (rank > valueRank) throw new NotCompilableException("the sample weights have more axes than the loss values");
            lines.Add($"    loss = torch.sum(values * {wv}) / {count}");
        }
        if (lossWeight != 1.0) lines.Add($"    loss = loss * {ScriptOps.Lit(lossWeight)}");
    }

    private static string Eps => ScriptOps.Lit(Loss.Epsilon);

    private static string OneMinusEps => ScriptOps.Lit(1 - Loss.Epsilon);

    /// <summary>Crossentropy.LogProbabilities.</summary>
    private static string LogProbabilities(string p, bool fromLogits) => fromLogits
        ? $"torch.log_softmax({p}, -1)"
        : $"torch.log({Probabilities(p)})";

    /// <summary>Crossentropy.Probabilities.</summary>
    private static string Probabilities(string p) => $"torch.clamp({p} / torch.sum({p}, [-1], True), {Eps}, {OneMinusEps})";

    /// <summary>Loss.MatchingLabels after the cast: labels one axis short get a trailing axis.</summary>
    private static string Matching(string y, Tensor labels, Tensor prediction) =>
        labels.dim() == prediction.dim() - 1 ? $"{y}.unsqueeze(-1)" : y;
}
