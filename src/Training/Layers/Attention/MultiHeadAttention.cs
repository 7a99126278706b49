namespace OnnxKeras.Layers;

/// <summary>
/// Multi-head attention (Keras's <c>MultiHeadAttention</c>, "Attention Is All You Need"): the query, key and value are
/// projected per head by <see cref="EinsumDense"/> sublayers named <c>query</c>, <c>key</c> and <c>value</c> (kernels
/// <c>[dim, num_heads, key_dim]</c>, biases <c>[num_heads, key_dim]</c>), the query is scaled by <c>1/sqrt(key_dim)</c>,
/// <c>softmax(query·key)</c> over the key positions weighs the values, and <c>attention_output</c> (kernel
/// <c>[num_heads, value_dim, out_dim]</c>) projects the heads back. Call it with
/// <see cref="Apply(KTensor, KTensor, KTensor?, KTensor?, bool, bool)"/> (Keras's <c>mha(query, value, key,
/// attention_mask=..., use_causal_mask=...)</c>) or <see cref="ApplyWithScores"/> (<c>return_attention_scores=True</c>),
/// on eager or symbolic tensors. Masks follow Keras: the Keras masks of query and value (and key), the causal mask and
/// <c>attention_mask</c> (boolean or 0/1, <c>[batch, T, S]</c>) are combined with a logical and; masked scores become
/// -1e9 before the softmax and their weights 0 after it (so a row with every position masked gets zero weights).
/// </summary>
/// <example><code>
/// var x = Keras.Input([10, 16]);
/// var y = new MultiHeadAttention(numHeads: 2, keyDim: 8).Apply(x, x);   // self-attention, [batch, 10, 16]
/// </code></example>
public sealed partial class MultiHeadAttention : Layer
{
    private EinsumDense? queryDense, keyDense, valueDense, outputDense;
    private Shape? valueShape;

    /// <summary>Creates a multi-head attention layer with Keras's defaults.</summary>
    /// <param name="numHeads">Number of attention heads.</param>
    /// <param name="keyDim">Size of each head for query and key.</param>
    /// <param name="valueDim">Size of each head for value (default <paramref name="keyDim"/>).</param>
    /// <param name="dropout">Dropout rate on the attention weights (training only).</param>
    /// <param name="useBias">Whether the projections have biases.</param>
    /// <param name="outputShape">The output's last axes (default: the query's last axis).</param>
    /// <param name="attentionAxes">Keras's <c>attention_axes</c>: only the default (null, or the axes between the batch and the
    /// feature axis, e.g. <c>[1]</c> for <c>[batch, T, dim]</c> inputs, as Keras writes after building) is supported.</param>
    /// <param name="kernelInitializer">Initializer of the four kernels.</param>
    /// <param name="biasInitializer">Initializer of the four biases.</param>
    /// <param name="kernelRegularizer">Penalty on the kernels.</param>
    /// <param name="biasRegularizer">Penalty on the biases.</param>
    /// <param name="kernelConstraint">Constraint on the kernels.</param>
    /// <param name="biasConstraint">Constraint on the biases.</param>
    /// <param name="seed">Seed of the dropout (kept in the config; the dropout draws from the global generator).</param>
    /// <exception cref="ArgumentException">A non-positive size or a dropout rate outside [0, 1).</exception>
    public MultiHeadAttention(int numHeads, int keyDim, int? valueDim = null, double dropout = 0.0, bool useBias = true,
        Shape? outputShape = null, int[]? attentionAxes = null,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null, long? seed = null)
    {
        if (numHeads <= 0) throw new ArgumentException($"MultiHeadAttention: num_heads must be positive; got {numHeads}.", nameof(numHeads));
        if (keyDim <= 0) throw new ArgumentException($"MultiHeadAttention: key_dim must be positive; got {keyDim}.", nameof(keyDim));
        if (valueDim is <= 0) throw new ArgumentException($"MultiHeadAttention: value_dim must be positive; got {valueDim}.", nameof(valueDim));
        if (dropout is < 0 or >= 1 || double.IsNaN(dropout))
            throw new ArgumentException($"MultiHeadAttention: dropout must be in [0, 1); got {dropout}.", nameof(dropout));
        if (outputShape is not null && (outputShape.Rank == 0 || outputShape.Any(d => d is null or <= 0)))
            throw new ArgumentException($"MultiHeadAttention: output_shape must be positive sizes; got {outputShape}.", nameof(outputShape));
        NumHeads = numHeads;
        KeyDim = keyDim;
        ValueDim = valueDim ?? keyDim;
        Dropout = dropout;
        UseBias = useBias;
        OutputShape = outputShape;
        AttentionAxes = attentionAxes;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        KernelConstraint = kernelConstraint;
        BiasConstraint = biasConstraint;
        Seed = seed;
    }

    /// <summary>Number of attention heads.</summary>
    public int NumHeads { get; }
    /// <summary>Size of each head for query and key.</summary>
    public int KeyDim { get; }
    /// <summary>Size of each head for value.</summary>
    public int ValueDim { get; }
    /// <summary>Dropout rate on the attention weights.</summary>
    public double Dropout { get; }
    /// <summary>Whether the projections have biases.</summary>
    public bool UseBias { get; }
    /// <summary>The output's last axes, or null for the query's last axis.</summary>
    public Shape? OutputShape { get; }
    /// <summary>Keras's <c>attention_axes</c> as given (null: the default).</summary>
    public int[]? AttentionAxes { get; }
    /// <summary>Initializer of the kernels.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Initializer of the biases.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Penalty on the kernels.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Penalty on the biases.</summary>
    public Regularizer? BiasRegularizer { get; }
    /// <summary>Constraint on the kernels.</summary>
    public Constraint? KernelConstraint { get; }
    /// <summary>Constraint on the biases.</summary>
    public Constraint? BiasConstraint { get; }
    /// <summary>Seed of the dropout, as given.</summary>
    public long? Seed { get; }

    /// <summary>The query projection (sublayer <c>query</c>), after build.</summary>
    public EinsumDense QueryDense => queryDense ?? throw NotBuilt();
    /// <summary>The key projection (sublayer <c>key</c>), after build.</summary>
    public EinsumDense KeyDense => keyDense ?? throw NotBuilt();
    /// <summary>The value projection (sublayer <c>value</c>), after build.</summary>
    public EinsumDense ValueDense => valueDense ?? throw NotBuilt();
    /// <summary>The output projection (sublayer <c>attention_output</c>), after build.</summary>
    public EinsumDense OutputDense => outputDense ?? throw NotBuilt();

    /// <summary>The four projections in Keras's weight order (query, key, value, attention_output) once built.</summary>
    public override IReadOnlyList<Layer> Sublayers =>
        queryDense is null ? [] : [queryDense, keyDense!, valueDense!, outputDense!];

    /// <summary>The output carries the query's mask, as in Keras.</summary>
    public override bool SupportsMasking => true;

    internal override bool CallTakesSeparateArgs => true;

    internal override bool TakesKwargs => true;

    private InvalidOperationException NotBuilt() => new($"Layer '{Name}' is not built yet.");

    /// <inheritdoc />
    public override void Build(Shape inputShape) => throw TwoInputs(1);

    /// <summary>Builds the projections for <c>[query, value]</c> or <c>[query, value, key]</c> shapes.</summary>
    public override void Build(IReadOnlyList<Shape> inputShapes)
    {
        if (inputShapes.Count is < 2 or > 3) throw TwoInputs(inputShapes.Count);
        var (query, value) = (inputShapes[0], inputShapes[1]);
        if (query.Rank < 3 || value.Rank != query.Rank)
            throw new ArgumentException($"Layer '{Name}' (MultiHeadAttention): query and value need the same rank, at least 3 " +
                $"([batch, ..., features]); got {query} and {value}.");
        CheckAttentionAxes(query.Rank);
        long dim = query[^1] ?? throw new ArgumentException($"Layer '{Name}' (MultiHeadAttention) needs a known query feature size; got {query}.");
        int free = query.Rank - 1;
        queryDense = Projection("query", free, 1, [NumHeads, KeyDim]);
        keyDense = Projection("key", free, 1, [NumHeads, KeyDim]);
        valueDense = Projection("value", free, 1, [NumHeads, ValueDim]);
        var outShape = OutputShape ?? Shape.Of(dim);
        outputDense = Projection("attention_output", free, 2, outShape.Select(d => d!.Value).ToArray());
        queryDense.EnsureBuilt(query);
        valueDense.EnsureBuilt(value);
        valueShape = value;
        if (inputShapes.Count == 3) BuildKey(inputShapes[2]);
        var projected = queryDense.ComputeOutputShape(query);
        outputDense.EnsureBuilt(projected.WithLast(ValueDim));
        InvalidateSublayers();
    }

    /// <summary>Builds the key projection for the key's shape (the value's when no key is given).</summary>
    private void BuildKey(Shape key)
    {
        if (keyDense!.Built) return;
        if (key.Rank != valueShape!.Rank || !key.Dims[1..^1].SequenceEqual(valueShape.Dims[1..^1]))
            throw new ArgumentException($"Layer '{Name}' (MultiHeadAttention): all dimensions of value and key except the last must be " +
                $"equal; got value {valueShape} and key {key}.");
        keyDense.EnsureBuilt(key);
    }

    private EinsumDense Projection(string name, int freeDims, int boundDims, long[] outputDims)
    {
        // Keras's _build_proj_equation: free axes a.., bound axes (contracted), then the output axes (which get the bias).
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        string free = letters[..freeDims], bound = letters[freeDims..(freeDims + boundDims)];
        string outAxes = letters[(freeDims + boundDims)..(freeDims + boundDims + outputDims.Length)];
        var partial = new long?[freeDims - 1 + outputDims.Length];
        for (int i = 0; i < outputDims.Length; i++) partial[freeDims - 1 + i] = outputDims[i];
        return new EinsumDense($"{free}{bound},{bound}{outAxes}->{free}{outAxes}", new Shape(partial), biasAxes: UseBias ? outAxes : null,
            kernelInitializer: KernelInitializer, biasInitializer: BiasInitializer, kernelRegularizer: KernelRegularizer,
            biasRegularizer: BiasRegularizer, kernelConstraint: KernelConstraint, biasConstraint: BiasConstraint)
        { Name = name };
    }

    private void CheckAttentionAxes(int rank)
    {
        if (AttentionAxes is null) return;
        // Keras normalizes the axes against the projected rank (rank + 1): axis < 0 becomes rank + axis.
        var normalized = AttentionAxes.Select(a => a >= 0 ? a : rank + a).ToArray();
        if (!normalized.SequenceEqual(Enumerable.Range(1, rank - 2)))
            throw new NotSupportedException($"Layer '{Name}' (MultiHeadAttention): attention_axes [{string.Join(", ", AttentionAxes)}] " +
                $"is not supported; only the default (null, or [{string.Join(", ", Enumerable.Range(1, rank - 2))}] for inputs of rank {rank}).");
    }

    private ArgumentException TwoInputs(int got) => new($"Layer '{Name}' (MultiHeadAttention) takes query and value (and optionally key): " +
        $"call Apply(query, value) or ApplyMany([query, value, key]); got {got} input(s).");

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("num_heads", NumHeads).With("key_dim", KeyDim).With("value_dim", ValueDim).With("dropout", Dropout)
        .With("use_bias", UseBias).With("output_shape", OutputShape).With("attention_axes", AttentionAxes)
        .With("kernel_initializer", KernelInitializer).With("bias_initializer", BiasInitializer)
        .With("kernel_regularizer", KernelRegularizer).With("bias_regularizer", BiasRegularizer)
        .With("kernel_constraint", KernelConstraint).With("bias_constraint", BiasConstraint).With("seed", Seed);
}
