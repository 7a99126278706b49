using OnnxKeras;
using OnnxKeras.Layers;

namespace OnnxKeras.Examples.TextTransformer;

/// <summary>
/// The Keras text-classification-with-Transformer example's <c>TokenAndPositionEmbedding</c>: a token
/// <see cref="Embedding"/> plus a learned embedding of each position 0..maxLength-1. Keras's version looks the positions
/// up with <c>Embedding(maxlen, embed_dim)(ops.arange(maxlen))</c>; with a fixed sequence length that lookup is the
/// whole table, so it is kept here as one <c>[maxLength, embedDim]</c> weight added to every sequence (broadcast over
/// the batch). Written with <see cref="Ops"/> only, so it exports to ONNX (Gather + Add) with no extra code.
/// </summary>
[RegisterSerializable("TokenAndPositionEmbedding", "text_transformer")]
public sealed class TokenAndPositionEmbedding(int maxLength, int vocabularySize, int embedDim) : Layer
{
    private readonly Embedding tokens = new(vocabularySize, embedDim) { Name = "token_embedding" };
    private Variable? positions;

    /// <summary>Sequence length (the input's last dimension).</summary>
    public int MaxLength { get; } = maxLength;

    /// <summary>Number of token ids (0..vocabularySize-1).</summary>
    public int VocabularySize { get; } = vocabularySize;

    /// <summary>Width of each embedding.</summary>
    public int EmbedDim { get; } = embedDim;

    /// <inheritdoc/>
    public override void Build(Shape inputShape)
    {
        if (inputShape[^1] != MaxLength)
            throw new ArgumentException($"TokenAndPositionEmbedding: the input's sequence length must be {MaxLength}; got {inputShape}.");
        tokens.EnsureBuilt(inputShape); // built here, not at the first call, so that Summary counts its weights
        positions = AddWeight("position_embeddings", Shape.Of(MaxLength, EmbedDim), "uniform");
    }

    /// <inheritdoc/>
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Add(tokens.Apply(inputs), positions!);

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => tokens.ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() =>
        base.GetConfig().With("max_length", MaxLength).With("vocabulary_size", VocabularySize).With("embed_dim", EmbedDim);
}
