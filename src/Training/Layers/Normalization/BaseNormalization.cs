namespace OnnxKeras.Layers;

/// <summary>
/// The arguments and weights that Keras's BatchNormalization, LayerNormalization and GroupNormalization share: epsilon,
/// and the learned scale gamma and offset beta with their initializers, regularizers and constraints. A subclass decides
/// the weights' shape and creates them with <see cref="AddScaleAndOffset"/> in its <c>Build</c>, gamma first (Keras's
/// weight order).
/// </summary>
public abstract class BaseNormalization : Layer
{
    private protected Variable? gamma;
    private protected Variable? beta;

    /// <summary>Checks and keeps the shared arguments; <paramref name="layer"/> names the class in messages.</summary>
    /// <exception cref="ArgumentException"><paramref name="epsilon"/> is negative or not finite.</exception>
    private protected BaseNormalization(string layer, double epsilon, bool center, bool scale,
        Initializer? betaInitializer, Initializer? gammaInitializer, Regularizer? betaRegularizer, Regularizer? gammaRegularizer,
        Constraint? betaConstraint, Constraint? gammaConstraint)
    {
        if (!(epsilon >= 0) || double.IsInfinity(epsilon))
            throw new ArgumentException($"{layer}: epsilon must be a finite number >= 0; got {epsilon}.", nameof(epsilon));
        Epsilon = epsilon;
        Center = center;
        Scale = scale;
        BetaInitializer = betaInitializer ?? new Zeros();
        GammaInitializer = gammaInitializer ?? new Ones();
        BetaRegularizer = betaRegularizer;
        GammaRegularizer = gammaRegularizer;
        BetaConstraint = betaConstraint;
        GammaConstraint = gammaConstraint;
    }

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; }
    /// <summary>Whether the learned offset beta is added.</summary>
    public bool Center { get; }
    /// <summary>Whether the input is multiplied by the learned factor gamma.</summary>
    public bool Scale { get; }
    /// <summary>Initializer of beta (Keras's default: zeros).</summary>
    public Initializer BetaInitializer { get; }
    /// <summary>Initializer of gamma (Keras's default: ones).</summary>
    public Initializer GammaInitializer { get; }
    /// <summary>Penalty on beta, or null.</summary>
    public Regularizer? BetaRegularizer { get; }
    /// <summary>Penalty on gamma, or null.</summary>
    public Regularizer? GammaRegularizer { get; }
    /// <summary>Projection applied to beta after each optimizer update, or null.</summary>
    public Constraint? BetaConstraint { get; }
    /// <summary>Projection applied to gamma after each optimizer update, or null.</summary>
    public Constraint? GammaConstraint { get; }

    /// <summary>The scale gamma, or null before the layer is built or when it has none.</summary>
    public Variable? Gamma => gamma;
    /// <summary>The offset beta, or null before the layer is built or when it has none.</summary>
    public Variable? Beta => beta;

    /// <summary>Creates gamma (when <paramref name="withScale"/>) and then beta (when <paramref name="withOffset"/>) of <paramref name="shape"/>.</summary>
    private protected void AddScaleAndOffset(Shape shape, bool withScale, bool withOffset)
    {
        if (withScale) gamma = AddWeight("gamma", shape, GammaInitializer, GammaRegularizer, constraint: GammaConstraint);
        if (withOffset) beta = AddWeight("beta", shape, BetaInitializer, BetaRegularizer, constraint: BetaConstraint);
    }
}
