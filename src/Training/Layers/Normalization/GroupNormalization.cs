namespace OnnxKeras.Layers;

/// <summary>
/// Group normalization (Keras's <c>GroupNormalization</c>, Wu and He 2018): the <see cref="Axis"/> channels are split into
/// <see cref="Groups"/> groups of consecutive channels, and each sample is normalized per group over the group's channels
/// and all other non-batch axes: <c>(x - mean) / sqrt(variance + epsilon) * gamma + beta</c> (biased variance; gamma and
/// beta per channel). <c>groups = 1</c> is a layer normalization over all non-batch axes, <c>groups = -1</c> (one group per
/// channel) an instance normalization. The same computation in training and inference.
/// </summary>
/// <example><code>new GroupNormalization(groups: 4)</code></example>
public sealed class GroupNormalization : BaseNormalization
{
    private int axis;
    private int groups;

    /// <summary>Creates the layer with Keras's defaults.</summary>
    /// <param name="groups">Number of groups (must divide the channels); -1: one per channel.</param>
    /// <param name="axis">The channels axis (-1: the last); not the batch axis.</param>
    /// <param name="epsilon">Added to each group's variance before the square root; must be &gt;= 0.</param>
    /// <param name="center">Whether to add beta (one offset per channel).</param>
    /// <param name="scale">Whether to multiply by gamma (one factor per channel).</param>
    /// <param name="betaInitializer">Initializer of beta (zeros).</param>
    /// <param name="gammaInitializer">Initializer of gamma (ones).</param>
    /// <param name="betaRegularizer">Penalty on beta, or null.</param>
    /// <param name="gammaRegularizer">Penalty on gamma, or null.</param>
    /// <param name="betaConstraint">Projection of beta after each optimizer update, or null.</param>
    /// <param name="gammaConstraint">Projection of gamma after each optimizer update, or null.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="groups"/> is 0 or below -1, or <paramref name="epsilon"/> is negative or not finite.
    /// </exception>
    public GroupNormalization(int groups = 32, int axis = -1, double epsilon = 1e-3, bool center = true, bool scale = true,
        Initializer? betaInitializer = null, Initializer? gammaInitializer = null,
        Regularizer? betaRegularizer = null, Regularizer? gammaRegularizer = null,
        Constraint? betaConstraint = null, Constraint? gammaConstraint = null)
        : base("GroupNormalization", epsilon, center, scale, betaInitializer, gammaInitializer, betaRegularizer, gammaRegularizer,
            betaConstraint, gammaConstraint)
    {
        if (groups == 0 || groups < -1) throw new ArgumentException($"GroupNormalization: groups must be positive or -1; got {groups}.", nameof(groups));
        Groups = groups;
        Axis = axis;
    }

    /// <summary>Number of groups, as given (-1: one per channel).</summary>
    public int Groups { get; }
    /// <summary>The channels axis, as given.</summary>
    public int Axis { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The axis is out of range or unknown, or the groups do not divide the channels.</exception>
    public override void Build(Shape inputShape)
    {
        (axis, groups) = Resolve(inputShape);
        long channels = inputShape[axis]!.Value;
        AddScaleAndOffset(Shape.Of(channels), withScale: Scale, withOffset: Center);
        InputSpec = new InputSpec { Rank = inputShape.Rank, Axes = new Dictionary<int, long> { [axis] = channels } };
    }

    private (int Axis, int Groups) Resolve(Shape inputShape)
    {
        int rank = inputShape.Rank, a = Axis < 0 ? Axis + rank : Axis;
        string layer = $"Layer '{Name}' (GroupNormalization)";
        if (a < 1 || a >= rank) throw new ArgumentException($"{layer}: axis {Axis} is out of range for input shape {inputShape} (rank {rank}).");
        long channels = inputShape[a] ?? throw new ArgumentException($"{layer}: axis {Axis} of input shape {inputShape} must have a known size.");
        long g = Groups == -1 ? channels : Groups;
        if (g > channels) throw new ArgumentException($"{layer}: the number of groups ({g}) cannot be more than the number of channels ({channels}).");
        if (channels % g != 0) throw new ArgumentException($"{layer}: the number of groups ({g}) must divide the number of channels ({channels}).");
        return (a, (int)g);
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var shape = inputs.Value.shape;
        long channels = shape[axis];
        // [N, ..., C, ...] -> [N, ..., G, C / G, ...]; statistics over every axis but the batch and the group axis.
        long[] grouped = [-1, .. shape[1..axis], groups, channels / groups, .. shape[(axis + 1)..]];
        var reduce = Enumerable.Range(1, shape.Length).Where(i => i != axis).ToArray();
        var x = Ops.Reshape(inputs, grouped);
        var (mean, variance) = Ops.Moments(x, reduce, keepDims: true);
        var normalized = Ops.Divide(Ops.Subtract(x, mean), Ops.Sqrt(Ops.Add(variance, Epsilon)));
        var y = Ops.Reshape(normalized, [-1, .. shape[1..]]);
        long[] perChannel = [.. Enumerable.Repeat(1L, shape.Length)];
        perChannel[axis] = channels;
        if (gamma is not null) y = Ops.Multiply(y, Ops.Reshape((KTensor)gamma, perChannel));
        if (beta is not null) y = Ops.Add(y, Ops.Reshape((KTensor)beta, perChannel));
        return y;
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        Resolve(inputShape);
        return inputShape;
    }

    /// <summary>Keras passes the input mask through this layer.</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("groups", Groups).With("axis", Axis).With("epsilon", Epsilon).With("center", Center).With("scale", Scale)
        .With("beta_initializer", BetaInitializer).With("gamma_initializer", GammaInitializer)
        .With("beta_regularizer", BetaRegularizer).With("gamma_regularizer", GammaRegularizer)
        .With("beta_constraint", BetaConstraint).With("gamma_constraint", GammaConstraint);
}
