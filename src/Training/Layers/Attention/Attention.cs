using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Dot-product attention (Keras's <c>Attention</c>, Luong-style) on <c>[query, value]</c> or <c>[query, value, key]</c>
/// (query <c>[batch, Tq, dim]</c>, value and key <c>[batch, Tv, dim]</c>; the key defaults to the value). Scores are
/// <c>query · keyᵀ</c> (times the scalar weight <c>scale</c> with <see cref="UseScale"/>), or with
/// <c>scoreMode: "concat"</c> <c>concat_score_weight * sum(tanh(scale * (query_i + key_j)))</c>; masked positions (the
/// value's Keras mask, the causal mask) get <c>-1e9</c> added, the softmax over the value positions weighs the values, and
/// the output (<c>[batch, Tq, dim]</c>) is zeroed where the query's Keras mask is false and carries that mask.
/// <see cref="ApplyAttention"/> passes Keras's <c>use_causal_mask</c> and <c>return_attention_scores</c>.
/// </summary>
/// <example><code>var context = new Attention().Apply([query, value]);</code></example>
public class Attention : Layer
{
    private const double Large = 1e9;
    private static readonly string[] KwargNames = ["use_causal_mask", "return_attention_scores", "training"];

    /// <summary>Creates a dot-product attention layer with Keras's defaults.</summary>
    /// <param name="useScale">Whether a trainable scalar <c>scale</c> multiplies the scores.</param>
    /// <param name="scoreMode"><c>"dot"</c> or <c>"concat"</c>.</param>
    /// <param name="dropout">Dropout rate on the attention weights (training only).</param>
    /// <exception cref="ArgumentException">Another score mode, or a dropout rate outside [0, 1).</exception>
    public Attention(bool useScale = false, string scoreMode = "dot", double dropout = 0.0)
    {
        if (scoreMode is not ("dot" or "concat"))
            throw new ArgumentException($"{GetType().Name}: score_mode must be 'dot' or 'concat'; got '{scoreMode}'.", nameof(scoreMode));
        if (dropout is < 0 or >= 1 || double.IsNaN(dropout))
            throw new ArgumentException($"{GetType().Name}: dropout must be in [0, 1); got {dropout}.", nameof(dropout));
        UseScale = useScale;
        ScoreMode = scoreMode;
        Dropout = dropout;
    }

    /// <summary>Whether the scores are scaled by the trainable weight <c>scale</c>.</summary>
    public bool UseScale { get; }
    /// <summary><c>"dot"</c> or <c>"concat"</c>.</summary>
    public string ScoreMode { get; }
    /// <summary>Dropout rate on the attention weights.</summary>
    public double Dropout { get; }

    /// <summary>The weight <c>scale</c> (null without <see cref="UseScale"/>).</summary>
    public Variable? Scale { get; protected set; }
    /// <summary>The scalar weight <c>concat_score_weight</c> (score mode "concat" only).</summary>
    public Variable? ConcatScoreWeight { get; private set; }

    /// <summary>The output carries the query's mask, as in Keras.</summary>
    public override bool SupportsMasking => true;

    internal override bool TakesKwargs => true;

    /// <inheritdoc />
    public override void Build(Shape inputShape) => throw Inputs(1);

    /// <inheritdoc />
    public override void Build(IReadOnlyList<Shape> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        if (inputShapes.Count is < 2 or > 3) throw Inputs(inputShapes.Count);
        if (inputShapes.Any(s => s.Rank != 3))
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes inputs [batch, T, dim]; got {string.Join(", ", inputShapes)}.");
        BuildWeights(inputShapes);
    }

    /// <summary>Creates the weights (Keras's build): <c>scale</c> and <c>concat_score_weight</c>, scalars initialized to 1.</summary>
    protected virtual void BuildWeights(IReadOnlyList<Shape> inputShapes)
    {
        if (UseScale) Scale = AddWeight("scale", new Shape(), "ones");
        if (ScoreMode == "concat") ConcatScoreWeight = AddWeight("concat_score_weight", new Shape(), "ones");
    }

    /// <summary>The scores <c>[batch, Tq, Tv]</c> of <paramref name="query"/> against <paramref name="key"/> (Keras's _calculate_scores).</summary>
    protected virtual KTensor Scores(KTensor query, KTensor key)
    {
        if (ScoreMode == "dot")
        {
            var scores = Ops.MatMul(query, Ops.Transpose(key, 0, 2, 1));
            return Scale is null ? scores : Ops.Multiply(scores, Scale);
        }
        var sum = Ops.Add(Ops.ExpandDims(query, 2), Ops.ExpandDims(key, 1));
        if (Scale is not null) sum = Ops.Multiply(sum, Scale);
        return Ops.Multiply(Ops.Sum(Ops.Tanh(sum), -1), ConcatScoreWeight!);
    }

    /// <summary>
    /// Calls the layer with Keras's call arguments: <paramref name="inputs"/> <c>[query, value]</c> or
    /// <c>[query, value, key]</c>; returns the output and, with <paramref name="returnAttentionScores"/>, the attention
    /// weights <c>[batch, Tq, Tv]</c>.
    /// </summary>
    public IReadOnlyList<KTensor> ApplyAttention(IReadOnlyList<KTensor> inputs, bool useCausalMask = false, bool returnAttentionScores = false,
        bool training = false)
    {
        var kwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (useCausalMask) kwargs["use_causal_mask"] = true;
        if (returnAttentionScores) kwargs["return_attention_scores"] = true;
        return ApplyWithKwargs(inputs, kwargs, training);
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => throw Inputs(1);

    /// <inheritdoc />
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false) =>
        CallWithKwargs(inputs, new Dictionary<string, object?>(), training);

    /// <summary>Attention with Keras's keyword call arguments <c>use_causal_mask</c>, <c>return_attention_scores</c> and <c>training</c>.</summary>
    /// <exception cref="NotSupportedException">Another keyword argument.</exception>
    public override IReadOnlyList<KTensor> CallWithKwargs(IReadOnlyList<KTensor> inputs, IReadOnlyDictionary<string, object?> kwargs, bool training)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count is < 2 or > 3) throw Inputs(inputs.Count);
        var (causal, returnScores, training2) = Options(kwargs);
        KTensor query = inputs[0], value = inputs[1], key = inputs.Count == 3 ? inputs[2] : inputs[1];
        var scores = Scores(query, key);
        KTensor? mask = value.Mask is null ? null : Ops.ExpandDims(Ops.Cast(value.Mask, "bool"), 1);   // [batch, 1, Tv]
        if (causal)
        {
            long tq = scores.Value.shape[1], tv = scores.Value.shape[2];
            var causalMask = new KTensor(ones(tq, tv, dtype: ScalarType.Bool).tril().unsqueeze(0));
            mask = mask is null ? causalMask : Ops.LogicalAnd(mask, causalMask);
        }
        // scores - 1e9 * (1 - mask), written as scores + (1e9 * mask - 1e9): exact 0 where the mask is true.
        if (mask is not null) scores = Ops.Add(scores, Ops.Add(Ops.Multiply(Ops.Cast(mask, "float32"), Large), -Large));
        var weights = Ops.Softmax(scores, -1);
        var dropped = (training2 ?? training) && Dropout > 0 ? new KTensor(nn.functional.dropout(weights.Value, Dropout, training: true)) : weights;
        var output = Ops.MatMul(dropped, value);
        if (query.Mask is not null) output = Ops.Multiply(output, Ops.ExpandDims(Ops.Cast(query.Mask, "float32"), -1));
        return returnScores ? [output, weights] : [output];
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => throw Inputs(1);

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes) =>
        ComputeOutputShapesWithKwargs(inputShapes, new Dictionary<string, object?>());

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapesWithKwargs(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> kwargs)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        if (inputShapes.Count is < 2 or > 3) throw Inputs(inputShapes.Count);
        var output = inputShapes[0].WithLast(inputShapes[1][^1]);
        return Options(kwargs).ReturnScores ? [output, new Shape(inputShapes[0][0], inputShapes[0][1], inputShapes[1][1])] : [output];
    }

    private (bool Causal, bool ReturnScores, bool? Training) Options(IReadOnlyDictionary<string, object?> kwargs)
    {
        ArgumentNullException.ThrowIfNull(kwargs);
        bool? Flag(string name) => kwargs.GetValueOrDefault(name) switch
        {
            null => null,
            bool b => b,
            var other => throw new ArgumentException($"Layer '{Name}' ({GetType().Name}): call argument '{name}' must be a boolean; got {other}."),
        };
        foreach (var name in kwargs.Keys)
        {
            if (!KwargNames.Contains(name))
                throw new NotSupportedException($"Layer '{Name}' ({GetType().Name}) has no call argument '{name}'; it takes " +
                    $"{string.Join(", ", KwargNames)} (masks come from the inputs' Keras masks).");
        }
        return (Flag("use_causal_mask") ?? false, Flag("return_attention_scores") ?? false, Flag("training"));
    }

    private ArgumentException Inputs(int got) => new($"Layer '{Name}' ({GetType().Name}) takes a list [query, value] or [query, value, key]; " +
        $"got {got} input(s).");

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("use_scale", UseScale).With("score_mode", ScoreMode).With("dropout", Dropout);
}
