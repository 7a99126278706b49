using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Turns non-negative integer indices into dense vectors (Keras's <c>Embedding</c>): row <c>i</c> of the
/// <c>embeddings</c> weight [input_dim, output_dim] for each index <c>i</c>. Inputs of shape (batch, ...) give outputs
/// of shape (batch, ..., output_dim). Indices may arrive as floats (the data pipeline's default) or integers; they are
/// cast to int64 (floats truncated, as Keras's cast) and must lie in [0, input_dim). With <c>maskZero</c> index 0 is
/// padding: the output carries the mask <c>inputs != 0</c> (<see cref="KTensor.Mask"/>), which recurrent layers consume.
/// </summary>
/// <example><code>new Embedding(inputDim: 1000, outputDim: 64)</code></example>
public sealed class Embedding : Layer
{
    private Variable? embeddings;

    /// <summary>Creates an embedding with Keras's defaults (uniform initializer on [-0.05, 0.05]).</summary>
    /// <param name="inputDim">Vocabulary size: the largest index + 1.</param>
    /// <param name="outputDim">Size of each embedding vector.</param>
    /// <param name="embeddingsInitializer">Initializer of the embeddings ("uniform").</param>
    /// <param name="embeddingsRegularizer">Penalty on the embeddings.</param>
    /// <param name="maskZero">Whether index 0 is padding: the output then carries the mask <c>inputs != 0</c> (so
    /// input_dim should be the vocabulary size + 1).</param>
    /// <param name="embeddingsConstraint">Projection applied to the embeddings after each optimizer update.</param>
    public Embedding(int inputDim, int outputDim, Initializer? embeddingsInitializer = null, Regularizer? embeddingsRegularizer = null, bool maskZero = false,
        Constraint? embeddingsConstraint = null)
    {
        if (inputDim <= 0) throw new ArgumentException($"Embedding: inputDim must be a positive integer; got {inputDim}.", nameof(inputDim));
        if (outputDim <= 0) throw new ArgumentException($"Embedding: outputDim must be a positive integer; got {outputDim}.", nameof(outputDim));
        InputDim = inputDim;
        OutputDim = outputDim;
        EmbeddingsInitializer = embeddingsInitializer ?? new RandomUniform();
        EmbeddingsRegularizer = embeddingsRegularizer;
        EmbeddingsConstraint = embeddingsConstraint;
        MaskZero = maskZero;
    }

    /// <summary>Vocabulary size.</summary>
    public int InputDim { get; }
    /// <summary>Embedding size.</summary>
    public int OutputDim { get; }
    /// <summary>Initializer of the embeddings.</summary>
    public Initializer EmbeddingsInitializer { get; }
    /// <summary>Penalty on the embeddings.</summary>
    public Regularizer? EmbeddingsRegularizer { get; }
    /// <summary>Projection applied to the embeddings after each optimizer update.</summary>
    public Constraint? EmbeddingsConstraint { get; }
    /// <summary>Whether index 0 is padding (the output carries the mask <c>inputs != 0</c>).</summary>
    public bool MaskZero { get; }

    /// <inheritdoc />
    public override bool SupportsMasking => MaskZero;

    /// <summary>Keras's <c>compute_mask</c>: <c>inputs != 0</c> with <see cref="MaskZero"/>, else none.</summary>
    public override IReadOnlyList<KTensor?> ComputeMask(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor?> masks) =>
        [MaskZero ? Ops.NotEqual(inputs[0], 0) : null];

    /// <summary>The embeddings [input_dim, output_dim] (after build).</summary>
    public Variable Embeddings => embeddings ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");

    /// <inheritdoc />
    public override void Build(Shape inputShape) =>
        embeddings = AddWeight("embeddings", Shape.Of(InputDim, OutputDim), EmbeddingsInitializer, EmbeddingsRegularizer, constraint: EmbeddingsConstraint);

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var indices = inputs.Value.dtype == ScalarType.Int64 ? inputs.Value : inputs.Value.to_type(ScalarType.Int64);
        if (indices.numel() > 0)
        {
            long min = indices.min().item<long>();
            long max = indices.max().item<long>();
            if (min < 0 || max >= InputDim)
                throw new ArgumentException($"Layer '{Name}' (Embedding) takes indices in [0, {InputDim}) (input_dim {InputDim}); got " +
                    $"indices from {min} to {max} in input of shape {inputs.Shape}.");
        }
        // Take casts the indices itself, so a traced input (ONNX export) stays traced: Gather on Cast(indices, int64).
        return Ops.Take(embeddings!, inputs, 0);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => new([.. inputShape.Dims, OutputDim]);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("input_dim", InputDim).With("output_dim", OutputDim)
        .With("embeddings_initializer", EmbeddingsInitializer).With("embeddings_regularizer", EmbeddingsRegularizer)
        .With("embeddings_constraint", EmbeddingsConstraint).With("mask_zero", MaskZero);
}
