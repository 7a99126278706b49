using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Normalizes its inputs per feature along <see cref="Axis"/> (Keras's <c>BatchNormalization</c>).
/// In training (<c>Fit</c>, or <c>training: true</c>) it uses the batch's mean and biased variance over every other axis
/// and updates the moving statistics in place: <c>moving = moving * momentum + batch_stat * (1 - momentum)</c>.
/// In inference (<c>Evaluate</c>, <c>Predict</c>) it uses the moving statistics. As in Keras 3, a frozen layer
/// (<c>Trainable = false</c>) always runs in inference mode and leaves its moving statistics alone.
/// Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance (non-trainable).
/// </summary>
/// <example><code>new BatchNormalization(momentum: 0.9, epsilon: 1e-5)</code></example>
public sealed class BatchNormalization : BaseNormalization
{
    private Variable? movingMean;
    private Variable? movingVariance;
    private int channelAxis;
    private int[] reductionAxes = [];

    /// <summary>Creates a batch normalization layer with Keras's defaults.</summary>
    /// <param name="axis">The feature axis (normalized per entry of it); -1 is the last (channels_last).</param>
    /// <param name="momentum">Momentum of the moving averages, in [0, 1].</param>
    /// <param name="epsilon">Added to the variance before the square root; must be &gt;= 0.</param>
    /// <param name="center">Whether to add the learned offset beta.</param>
    /// <param name="scale">Whether to multiply by the learned factor gamma.</param>
    /// <param name="betaInitializer">Initializer of beta (zeros).</param>
    /// <param name="gammaInitializer">Initializer of gamma (ones).</param>
    /// <param name="movingMeanInitializer">Initializer of the moving mean (zeros).</param>
    /// <param name="movingVarianceInitializer">Initializer of the moving variance (ones).</param>
    /// <param name="betaRegularizer">Penalty on beta.</param>
    /// <param name="gammaRegularizer">Penalty on gamma.</param>
    /// <param name="synchronized">Keras's cross-replica statistics; only supported by Keras's TensorFlow backend, so it must be false.</param>
    /// <param name="betaConstraint">Projection applied to beta after each optimizer update.</param>
    /// <param name="gammaConstraint">Projection applied to gamma after each optimizer update.</param>
    public BatchNormalization(int axis = -1, double momentum = 0.99, double epsilon = 1e-3, bool center = true, bool scale = true,
        Initializer? betaInitializer = null, Initializer? gammaInitializer = null,
        Initializer? movingMeanInitializer = null, Initializer? movingVarianceInitializer = null,
        Regularizer? betaRegularizer = null, Regularizer? gammaRegularizer = null, bool synchronized = false,
        Constraint? betaConstraint = null, Constraint? gammaConstraint = null)
        : base("BatchNormalization", epsilon, center, scale, betaInitializer, gammaInitializer, betaRegularizer, gammaRegularizer,
            betaConstraint, gammaConstraint)
    {
        if (!(momentum >= 0 && momentum <= 1))
            throw new ArgumentException($"BatchNormalization: momentum must be in [0, 1]; got {momentum}.", nameof(momentum));
        if (synchronized)
            throw new ArgumentException("BatchNormalization: synchronized=true is only supported by Keras's TensorFlow backend; " +
                "OnnxKeras trains on one device.", nameof(synchronized));
        Axis = axis;
        Momentum = momentum;
        MovingMeanInitializer = movingMeanInitializer ?? new Zeros();
        MovingVarianceInitializer = movingVarianceInitializer ?? new Ones();
    }

    /// <summary>The feature axis.</summary>
    public int Axis { get; }
    /// <summary>Momentum of the moving averages.</summary>
    public double Momentum { get; }
    /// <summary>Initializer of the moving mean.</summary>
    public Initializer MovingMeanInitializer { get; }
    /// <summary>Initializer of the moving variance.</summary>
    public Initializer MovingVarianceInitializer { get; }

    /// <summary>The moving mean [features] (non-trainable; after build).</summary>
    public Variable MovingMean => movingMean ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The moving variance [features] (non-trainable; after build).</summary>
    public Variable MovingVariance => movingVariance ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        int rank = inputShape.Rank;
        int a = Axis < 0 ? Axis + rank : Axis;
        if (a < 0 || a >= rank)
            throw new ArgumentException($"Layer '{Name}' (BatchNormalization): axis {Axis} is out of range for input shape {inputShape} (rank {rank}).");
        long features = inputShape[a] ?? throw new ArgumentException($"Layer '{Name}' (BatchNormalization) needs a known size on axis " +
            $"{Axis}; got input shape {inputShape}.");
        Shape shape = Shape.Of(features);
        AddScaleAndOffset(shape, withScale: Scale, withOffset: Center);
        movingMean = AddWeight("moving_mean", shape, MovingMeanInitializer, trainable: false);
        movingVariance = AddWeight("moving_variance", shape, MovingVarianceInitializer, trainable: false);
        channelAxis = a;
        reductionAxes = Enumerable.Range(0, rank).Where(i => i != a).ToArray();
        InputSpec = new InputSpec { Rank = rank, Axes = new Dictionary<int, long> { [a] = features } };
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        KTensor mean, variance;
        if (training && Trainable)
        {
            (mean, variance) = Ops.Moments(inputs, reductionAxes);
            UpdateMovingStatistics(mean, variance);
        }
        else
        {
            mean = movingMean!;
            variance = movingVariance!;
        }
        return Ops.BatchNormalization(inputs, mean, variance, channelAxis,
            beta is null ? null : (KTensor)beta, gamma is null ? null : (KTensor)gamma, Epsilon);
    }

    /// <summary>Keras's update, outside the gradient: <c>moving = moving * momentum + batch_stat * (1 - momentum)</c>.</summary>
    private void UpdateMovingStatistics(KTensor mean, KTensor variance)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var m = movingMean!.Value;
        var v = movingVariance!.Value;
        // Disposed scalars, not plain numbers (and add with alpha 1, exactly +): docs/training.md, "Memory between collections".
        using Scalar momentum = Momentum, rest = 1.0 - Momentum, one = 1;
        m.copy_((m * momentum).add_(mean.Value.detach() * rest, alpha: one));
        v.copy_((v * momentum).add_(variance.Value.detach() * rest, alpha: one));
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("axis", Axis).With("momentum", Momentum).With("epsilon", Epsilon).With("center", Center).With("scale", Scale)
        .With("beta_initializer", BetaInitializer).With("gamma_initializer", GammaInitializer)
        .With("moving_mean_initializer", MovingMeanInitializer).With("moving_variance_initializer", MovingVarianceInitializer)
        .With("beta_regularizer", BetaRegularizer).With("gamma_regularizer", GammaRegularizer)
        .With("beta_constraint", BetaConstraint).With("gamma_constraint", GammaConstraint).With("synchronized", false);
}
