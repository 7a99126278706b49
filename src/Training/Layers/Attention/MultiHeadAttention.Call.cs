using static TorchSharp.torch;

namespace OnnxKeras.Layers;

// MultiHeadAttention's call: keyword arguments, masks, and the attention computation (Keras's call, _compute_attention_mask,
// _compute_attention, _masked_softmax).
public sealed partial class MultiHeadAttention
{
    /// <summary>Keras's <c>_large_negative_number</c> for float32: what masked scores become before the softmax.</summary>
    public const double MaskedScore = -1e9;

    private static readonly string[] KwargNames =
        ["key", "attention_mask", "use_causal_mask", "return_attention_scores", "query_mask", "value_mask", "key_mask", "training"];

    /// <summary>
    /// Calls the layer (Keras's <c>mha(query, value, key, attention_mask=..., use_causal_mask=...)</c>) on eager or symbolic
    /// tensors: <paramref name="query"/> <c>[batch, T, dim]</c>, <paramref name="value"/> <c>[batch, S, dim_v]</c>,
    /// <paramref name="key"/> <c>[batch, S, dim_k]</c> (default: the value), <paramref name="attentionMask"/> boolean or 0/1
    /// <c>[batch, T, S]</c> (true: may attend). Returns <c>[batch, T, out_dim]</c>.
    /// </summary>
    public KTensor Apply(KTensor query, KTensor value, KTensor? key = null, KTensor? attentionMask = null, bool useCausalMask = false,
        bool training = false) => Invoke(query, value, key, attentionMask, useCausalMask, false, training)[0];

    /// <summary>As <see cref="Apply(KTensor, KTensor, KTensor?, KTensor?, bool, bool)"/> with Keras's
    /// <c>return_attention_scores=True</c>: also the attention weights <c>[batch, num_heads, T, S]</c> (after masking and
    /// softmax, before dropout).</summary>
    public (KTensor Output, KTensor Scores) ApplyWithScores(KTensor query, KTensor value, KTensor? key = null, KTensor? attentionMask = null,
        bool useCausalMask = false, bool training = false)
    {
        var outputs = Invoke(query, value, key, attentionMask, useCausalMask, true, training);
        return (outputs[0], outputs[1]);
    }

    private IReadOnlyList<KTensor> Invoke(KTensor query, KTensor value, KTensor? key, KTensor? attentionMask, bool causal, bool scores, bool training)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(value);
        var kwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (attentionMask is not null) kwargs["attention_mask"] = attentionMask;
        if (causal) kwargs["use_causal_mask"] = true;
        if (scores) kwargs["return_attention_scores"] = true;
        List<KTensor> args = key is null ? [query, value] : [query, value, key];
        return ApplyWithKwargs(args, kwargs, training);
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => throw TwoInputs(1);

    /// <summary>Attention over <c>[query, value]</c> or <c>[query, value, key]</c>.</summary>
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false) =>
        CallWithKwargs(inputs, new Dictionary<string, object?>(), training);

    /// <summary>Attention with Keras's keyword call arguments: <c>key</c>, <c>attention_mask</c>, <c>use_causal_mask</c>,
    /// <c>return_attention_scores</c>, <c>query_mask</c>, <c>value_mask</c>, <c>key_mask</c>, <c>training</c>.</summary>
    /// <exception cref="NotSupportedException">Another keyword argument.</exception>
    public override IReadOnlyList<KTensor> CallWithKwargs(IReadOnlyList<KTensor> inputs, IReadOnlyDictionary<string, object?> kwargs, bool training)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count is < 2 or > 3) throw TwoInputs(inputs.Count);
        var o = Options(kwargs, inputs.Count == 3);
        KTensor query = inputs[0], value = inputs[1];
        KTensor? keyInput = inputs.Count == 3 ? inputs[2] : o.Key;
        BuildKey((keyInput ?? value).Shape.WithoutBatch().WithBatch());
        var key = keyInput ?? value;
        var mask = AttentionMask(query, value, o.QueryMask ?? query.Mask, o.ValueMask ?? value.Mask,
            o.KeyMask ?? (keyInput is null || ReferenceEquals(keyInput, value) ? null : keyInput.Mask), o.AttentionMask, o.UseCausalMask);

        var q = Ops.Multiply(queryDense!.Call(query), 1.0 / Math.Sqrt(KeyDim));
        var k = keyDense!.Call(key);
        var v = valueDense!.Call(value);
        var (dotEquation, combineEquation, normAxes) = Equations(q.Rank);
        var weights = MaskedSoftmax(Ops.Einsum(dotEquation, k, q), mask, normAxes);
        var dropped = o.Training ?? training ? ApplyDropout(weights) : weights;
        var output = outputDense!.Call(Ops.Einsum(combineEquation, dropped, v));
        return o.ReturnScores ? [output, weights] : [output];
    }

    private KTensor ApplyDropout(KTensor weights) =>
        Dropout == 0 ? weights : new KTensor(nn.functional.dropout(weights.Value, Dropout, training: true));

    /// <summary>Keras's _masked_softmax: the mask gets axes before the head axis until it has the scores' rank; masked
    /// scores become <see cref="MaskedScore"/> and their weights 0.</summary>
    private static KTensor MaskedSoftmax(KTensor scores, KTensor? mask, int[] normAxes)
    {
        if (mask is null) return Ops.Softmax(scores, normAxes);
        int expandAxis = -normAxes.Length * 2 - 1;
        while (mask.Rank < scores.Rank) mask = Ops.ExpandDims(mask, expandAxis + mask.Rank + 1);
        var large = new KTensor(tensor((float)MaskedScore));
        var zero = new KTensor(tensor(0f));
        var weights = Ops.Softmax(Ops.Where(mask, scores, large), normAxes);
        return Ops.Where(mask, weights, zero);
    }

    /// <summary>Keras's _compute_attention_mask: query mask [B, T, 1], value and key masks [B, 1, S], causal mask [1, T, S]
    /// and the attention mask, combined with a logical and (null when there is none).</summary>
    private KTensor? AttentionMask(KTensor query, KTensor value, KTensor? queryMask, KTensor? valueMask, KTensor? keyMask,
        KTensor? attentionMask, bool causal)
    {
        bool any = queryMask is not null || valueMask is not null || keyMask is not null || causal;
        if (any && query.Rank != 3)
            throw new NotSupportedException($"Layer '{Name}' (MultiHeadAttention): input masks and use_causal_mask are supported for " +
                $"inputs [batch, T, dim] only; got a query of rank {query.Rank}.");
        KTensor? auto = null;
        void And(KTensor m) => auto = auto is null ? m : Ops.LogicalAnd(auto, m);
        if (queryMask is not null) And(Ops.ExpandDims(Ops.Cast(queryMask, "bool"), -1));
        if (valueMask is not null) And(Ops.ExpandDims(Ops.Cast(valueMask, "bool"), -2));
        if (keyMask is not null) And(Ops.ExpandDims(Ops.Cast(keyMask, "bool"), -2));
        if (causal)
        {
            // A constant [1, T, S] lower-triangular mask (true where the key position is not after the query position).
            long t = query.Value.shape[1], s = value.Value.shape[1];
            And(new KTensor(ones(t, s, dtype: ScalarType.Bool).tril().unsqueeze(0)));
        }
        var given = attentionMask is null ? null : Ops.Cast(attentionMask, "bool");
        return given is null ? auto : auto is null ? given : Ops.LogicalAnd(given, auto);
    }

    /// <summary>Keras's _build_attention_equation for the default attention axes, on projected tensors of rank <paramref name="rank"/>.</summary>
    private static (string Dot, string Combine, int[] NormAxes) Equations(int rank)
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        var attnAxes = Enumerable.Range(1, rank - 3).ToArray();
        string target = letters[..rank];
        var batchDims = Enumerable.Range(0, rank).Where(i => !attnAxes.Contains(i) && i != rank - 1).ToArray();
        var source = new char[rank];
        int offset = rank;
        for (int i = 0; i < rank; i++) source[i] = batchDims.Contains(i) || i == rank - 1 ? target[i] : letters[offset++];
        string src = new(source);
        string product = string.Concat(batchDims.Select(i => target[i])) + string.Concat(attnAxes.Select(i => target[i]))
            + string.Concat(attnAxes.Select(i => src[i]));
        var norm = Enumerable.Range(product.Length - attnAxes.Length, attnAxes.Length).ToArray();
        return ($"{src},{target}->{product}", $"{product},{src}->{target}", norm);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => throw TwoInputs(1);

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes) =>
        ComputeOutputShapesWithKwargs(inputShapes, new Dictionary<string, object?>());

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapesWithKwargs(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> kwargs)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        if (inputShapes.Count is < 2 or > 3) throw TwoInputs(inputShapes.Count);
        var o = Options(kwargs, inputShapes.Count == 3);
        Shape query = inputShapes[0], value = inputShapes[1];
        if (Built) BuildKey(inputShapes.Count == 3 ? inputShapes[2] : o.Key?.Shape ?? value);
        var output = OutputShape is null ? query : new Shape([.. query.Dims[..^1], .. OutputShape.Dims]);
        if (!o.ReturnScores) return [output];
        return [output, new Shape([query[0], NumHeads, .. query.Dims[1..^1], .. value.Dims[1..^1]])];
    }

    private sealed record CallOptions(KTensor? Key, KTensor? AttentionMask, bool UseCausalMask, bool ReturnScores,
        KTensor? QueryMask, KTensor? ValueMask, KTensor? KeyMask, bool? Training);

    private CallOptions Options(IReadOnlyDictionary<string, object?> kwargs, bool positionalKey)
    {
        ArgumentNullException.ThrowIfNull(kwargs);
        foreach (var name in kwargs.Keys)
        {
            if (!KwargNames.Contains(name))
                throw new NotSupportedException($"Layer '{Name}' (MultiHeadAttention) has no call argument '{name}'; it takes " +
                    $"{string.Join(", ", KwargNames)}.");
        }
        KTensor? Tensor(string name) => kwargs.GetValueOrDefault(name) switch
        {
            null => null,
            KTensor t => t,
            var other => throw new ArgumentException($"Layer '{Name}' (MultiHeadAttention): call argument '{name}' must be a tensor; got {other}."),
        };
        bool? Flag(string name) => kwargs.GetValueOrDefault(name) switch
        {
            null => null,
            bool b => b,
            var other => throw new ArgumentException($"Layer '{Name}' (MultiHeadAttention): call argument '{name}' must be a boolean; got {other}."),
        };
        var key = Tensor("key");
        if (key is not null && positionalKey)
            throw new ArgumentException($"Layer '{Name}' (MultiHeadAttention): key was given both as the third input and as a keyword argument.");
        return new CallOptions(key, Tensor("attention_mask"), Flag("use_causal_mask") ?? false, Flag("return_attention_scores") ?? false,
            Tensor("query_mask"), Tensor("value_mask"), Tensor("key_mask"), Flag("training"));
    }
}
