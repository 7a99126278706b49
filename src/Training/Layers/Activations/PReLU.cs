namespace OnnxKeras.Layers;

/// <summary>
/// Parametric ReLU (Keras's <c>PReLU</c>): <c>x</c> for <c>x &gt;= 0</c>, else <c>alpha * x</c> with a learned
/// <c>alpha</c> of the per-sample input shape, except size 1 on <see cref="SharedAxes"/> (1-based, the batch axis is 0).
/// </summary>
/// <example><code>new PReLU(sharedAxes: [1, 2]) // after a Conv2D: one alpha per channel</code></example>
public sealed class PReLU : Layer
{
    private readonly int[]? sharedAxes;
    private Variable? alpha;

    /// <summary>Creates the layer with Keras's defaults (alpha initialized to zeros, no shared axes).</summary>
    /// <param name="alphaInitializer">Initializer of alpha (zeros).</param>
    /// <param name="alphaRegularizer">Penalty on alpha.</param>
    /// <param name="sharedAxes">Axes (&gt;= 1) along which one alpha is shared, or null.</param>
    /// <param name="alphaConstraint">Projection applied to alpha after each optimizer update.</param>
    public PReLU(Initializer? alphaInitializer = null, Regularizer? alphaRegularizer = null, int[]? sharedAxes = null, Constraint? alphaConstraint = null)
    {
        if (sharedAxes is not null && sharedAxes.Any(a => a < 1))
            throw new ArgumentException("PReLU: shared_axes must be axes >= 1 (axis 0 is the batch); got " +
                $"[{string.Join(", ", sharedAxes)}].", nameof(sharedAxes));
        AlphaInitializer = alphaInitializer ?? new Zeros();
        AlphaRegularizer = alphaRegularizer;
        AlphaConstraint = alphaConstraint;
        this.sharedAxes = sharedAxes is null ? null : (int[])sharedAxes.Clone();
    }

    /// <summary>Initializer of alpha.</summary>
    public Initializer AlphaInitializer { get; }
    /// <summary>Penalty on alpha.</summary>
    public Regularizer? AlphaRegularizer { get; }
    /// <summary>Projection applied to alpha after each optimizer update.</summary>
    public Constraint? AlphaConstraint { get; }
    /// <summary>Axes along which alpha is shared, or null.</summary>
    public IReadOnlyList<int>? SharedAxes => sharedAxes;

    /// <summary>The learned slopes (per-sample input shape with 1 on shared axes; after build).</summary>
    public Variable Alpha => alpha ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        int rank = inputShape.Rank;
        if (sharedAxes is not null && sharedAxes.Any(a => a >= rank))
            throw new ArgumentException($"Layer '{Name}' (PReLU): shared_axes [{string.Join(", ", sharedAxes)}] are out of range for " +
                $"input shape {inputShape} (axes 1..{rank - 1}).");
        var dims = new long[rank - 1];
        var axes = new Dictionary<int, long>();
        for (int i = 1; i < rank; i++)
        {
            if (sharedAxes is not null && sharedAxes.Contains(i)) dims[i - 1] = 1;
            else
            {
                dims[i - 1] = inputShape[i] ?? throw new ArgumentException($"Layer '{Name}' (PReLU) needs known sizes on axes that are " +
                    $"not shared; axis {i} of input shape {inputShape} is unknown.");
                axes[i] = dims[i - 1];
            }
        }
        alpha = AddWeight("alpha", Shape.Of(dims), AlphaInitializer, AlphaRegularizer, constraint: AlphaConstraint);
        InputSpec = new InputSpec { Rank = rank, Axes = axes };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Prelu(inputs, alpha!);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("alpha_initializer", AlphaInitializer).With("alpha_regularizer", AlphaRegularizer)
        .With("alpha_constraint", AlphaConstraint).With("shared_axes", sharedAxes?.ToArray());
}
