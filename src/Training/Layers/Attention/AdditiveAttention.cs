namespace OnnxKeras.Layers;

/// <summary>
/// Additive attention (Keras's <c>AdditiveAttention</c>, Bahdanau-style): as <see cref="Attention"/>, with the scores
/// <c>sum(scale * tanh(query_i + key_j))</c> over the feature axis, where <c>scale</c> is a trainable weight of shape
/// <c>[dim]</c> (glorot_uniform) with <see cref="Attention.UseScale"/> (the default) and 1 without.
/// </summary>
/// <example><code>var context = new AdditiveAttention().Apply([query, value]);</code></example>
public sealed class AdditiveAttention : Attention
{
    /// <summary>Creates an additive attention layer with Keras's defaults.</summary>
    /// <param name="useScale">Whether the trainable weight <c>scale</c> [dim] weighs the features.</param>
    /// <param name="dropout">Dropout rate on the attention weights (training only).</param>
    public AdditiveAttention(bool useScale = true, double dropout = 0.0) : base(useScale, "dot", dropout) { }

    /// <inheritdoc />
    protected override void BuildWeights(IReadOnlyList<Shape> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        long dim = inputShapes[0][^1] ?? throw new ArgumentException($"Layer '{Name}' (AdditiveAttention) needs a known query feature size.");
        if (UseScale) Scale = AddWeight("scale", Shape.Of(dim), "glorot_uniform");
    }

    /// <inheritdoc />
    protected override KTensor Scores(KTensor query, KTensor key)
    {
        var t = Ops.Tanh(Ops.Add(Ops.ExpandDims(query, 2), Ops.ExpandDims(key, 1)));
        return Ops.Sum(Scale is null ? t : Ops.Multiply(t, Scale), -1);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig()
    {
        var config = base.GetConfig();
        config.Remove("score_mode");
        return config;
    }
}
