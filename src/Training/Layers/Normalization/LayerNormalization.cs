namespace OnnxKeras.Layers;

/// <summary>
/// Normalizes each sample over <see cref="Axis"/> (Keras's <c>LayerNormalization</c>, Ba et al. 2016):
/// <c>(x - mean) / sqrt(variance + epsilon) * gamma + beta</c> with the mean and biased variance over the axes, and
/// gamma, beta spanning the sizes of those axes. The same computation in training and inference.
/// With <see cref="RmsScaling"/>, Keras's variant <c>x * rsqrt(variance + epsilon) * gamma</c> (center and scale ignored).
/// </summary>
/// <example><code>new LayerNormalization(epsilon: 1e-6); new LayerNormalization(axis: [1, 2]);</code></example>
public sealed class LayerNormalization : BaseNormalization
{
    private int[] axes = [];

    /// <summary>Creates a layer normalization over several axes (Keras's list <c>axis</c>).</summary>
    /// <param name="axis">The axes to normalize over (negative values count from the end); not the batch axis.</param>
    /// <param name="epsilon">Added to the variance before the square root; must be &gt;= 0.</param>
    /// <param name="center">Whether to add the learned offset beta.</param>
    /// <param name="scale">Whether to multiply by the learned factor gamma.</param>
    /// <param name="rmsScaling">Keras's RMS variant: no centering, scaled by gamma only.</param>
    /// <param name="betaInitializer">Initializer of beta (zeros).</param>
    /// <param name="gammaInitializer">Initializer of gamma (ones).</param>
    /// <param name="betaRegularizer">Penalty on beta.</param>
    /// <param name="gammaRegularizer">Penalty on gamma.</param>
    /// <param name="betaConstraint">Projection applied to beta after each optimizer update.</param>
    /// <param name="gammaConstraint">Projection applied to gamma after each optimizer update.</param>
    public LayerNormalization(int[] axis, double epsilon = 1e-3, bool center = true, bool scale = true, bool rmsScaling = false,
        Initializer? betaInitializer = null, Initializer? gammaInitializer = null,
        Regularizer? betaRegularizer = null, Regularizer? gammaRegularizer = null,
        Constraint? betaConstraint = null, Constraint? gammaConstraint = null)
        : base("LayerNormalization", epsilon, center, scale, betaInitializer, gammaInitializer, betaRegularizer, gammaRegularizer,
            betaConstraint, gammaConstraint)
    {
        ArgumentNullException.ThrowIfNull(axis);
        if (axis.Length == 0) throw new ArgumentException("LayerNormalization: axis must name at least one axis; got an empty list.", nameof(axis));
        if (axis.Distinct().Count() != axis.Length)
            throw new ArgumentException($"LayerNormalization: axis has repeated entries: [{string.Join(", ", axis)}].", nameof(axis));
        Axis = (int[])axis.Clone();
        RmsScaling = rmsScaling;
    }

    /// <summary>Creates a layer normalization over one axis (the last by default) with Keras's defaults.</summary>
    /// <param name="axis">The axis to normalize over (-1: the features axis).</param>
    /// <param name="epsilon">Added to the variance before the square root; must be &gt;= 0.</param>
    /// <param name="center">Whether to add the learned offset beta.</param>
    /// <param name="scale">Whether to multiply by the learned factor gamma.</param>
    /// <param name="rmsScaling">Keras's RMS variant: no centering, scaled by gamma only.</param>
    /// <param name="betaInitializer">Initializer of beta (zeros).</param>
    /// <param name="gammaInitializer">Initializer of gamma (ones).</param>
    /// <param name="betaRegularizer">Penalty on beta.</param>
    /// <param name="gammaRegularizer">Penalty on gamma.</param>
    /// <param name="betaConstraint">Projection applied to beta after each optimizer update.</param>
    /// <param name="gammaConstraint">Projection applied to gamma after each optimizer update.</param>
    public LayerNormalization(int axis = -1, double epsilon = 1e-3, bool center = true, bool scale = true, bool rmsScaling = false,
        Initializer? betaInitializer = null, Initializer? gammaInitializer = null,
        Regularizer? betaRegularizer = null, Regularizer? gammaRegularizer = null,
        Constraint? betaConstraint = null, Constraint? gammaConstraint = null)
        : this([axis], epsilon, center, scale, rmsScaling, betaInitializer, gammaInitializer, betaRegularizer, gammaRegularizer,
            betaConstraint, gammaConstraint)
    {
    }

    /// <summary>The axes normalized over, as given.</summary>
    public IReadOnlyList<int> Axis { get; }
    /// <summary>Whether the RMS variant is used.</summary>
    public bool RmsScaling { get; }

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        axes = Resolve(inputShape);
        var dims = axes.Select(a => inputShape[a] ?? throw new ArgumentException(
            $"Layer '{Name}' (LayerNormalization) needs known sizes on the normalized axes [{string.Join(", ", Axis)}]; " +
            $"got input shape {inputShape}.")).ToArray();
        Shape shape = Shape.Of(dims);
        AddScaleAndOffset(shape, withScale: Scale || RmsScaling, withOffset: Center && !RmsScaling);
        InputSpec = new InputSpec { Rank = inputShape.Rank, Axes = axes.Select((a, i) => (a, dims[i])).ToDictionary(p => p.a, p => p.Item2) };
    }

    private int[] Resolve(Shape inputShape)
    {
        int rank = inputShape.Rank;
        var resolved = Axis.Select(a => a < 0 ? a + rank : a).ToArray();
        if (resolved.Any(a => a < 0 || a >= rank))
            throw new ArgumentException($"Layer '{Name}' (LayerNormalization): axis [{string.Join(", ", Axis)}] is out of range for " +
                $"input shape {inputShape} (rank {rank}).");
        if (resolved.Distinct().Count() != resolved.Length)
            throw new ArgumentException($"Layer '{Name}' (LayerNormalization): axis [{string.Join(", ", Axis)}] names the same axis " +
                $"twice for input shape {inputShape}.");
        return resolved;
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        Ops.LayerNormalization(inputs, gamma is null ? null : (KTensor)gamma, beta is null ? null : (KTensor)beta, axes, Epsilon, RmsScaling);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        Resolve(inputShape);
        return inputShape;
    }

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("axis", Axis.Count == 1 ? Axis[0] : Axis.ToArray()).With("epsilon", Epsilon).With("center", Center).With("scale", Scale)
        .With("rms_scaling", RmsScaling).With("beta_initializer", BetaInitializer).With("gamma_initializer", GammaInitializer)
        .With("beta_regularizer", BetaRegularizer).With("gamma_regularizer", GammaRegularizer)
        .With("beta_constraint", BetaConstraint).With("gamma_constraint", GammaConstraint);
}
