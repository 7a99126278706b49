using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Optimizers;

/// <summary>
/// Gradient descent with optional momentum (Keras 3's rule): <c>m = momentum m - lr g</c>, then
/// <c>w += m</c>, or with Nesterov <c>w += momentum m - lr g</c>; plain <c>w -= lr g</c> without momentum.
/// </summary>
public sealed class SGD(LearningRate? learningRate = null, double momentum = 0.0, bool nesterov = false,
    double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
    : Optimizer(learningRate ?? 0.01, weightDecay, clipNorm, clipValue, globalClipNorm)
{
    private Tensor[] m = [];
    /// <summary>Momentum factor in [0, 1].</summary>
    public double Momentum { get; } = momentum is >= 0 and <= 1 ? momentum : throw new ArgumentException($"SGD momentum must be in [0, 1]; got {momentum}.");
    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; } = nesterov;
    /// <inheritdoc />
    public override string Name => "SGD";
    /// <inheritdoc />
    protected override void Build(IReadOnlyList<Variable> variables) => m = Momentum > 0 ? AddSlots() : [];
    /// <inheritdoc />
    protected override void UpdateStep(int i, Tensor w, Tensor g, double lr)
    {
        var minusLr = Num(-lr);
        if (Momentum == 0)
        {
            w.add_(g, alpha: minusLr);
            return;
        }
        var momentum = Num(Momentum);
        m[i].mul_(momentum).add_(g, alpha: minusLr);
        if (Nesterov) w.add_((m[i] * momentum).sub_(g * Num(lr)), alpha: Num(1));
        else w.add_(m[i], alpha: Num(1));
    }
}

/// <summary>
/// Adam with Keras's epsilon placement: <c>alpha = lr sqrt(1 - b2^t) / (1 - b1^t)</c>,
/// <c>m += (g - m)(1 - b1)</c>, <c>v += (g^2 - v)(1 - b2)</c>, <c>w -= alpha m / (sqrt(v) + eps)</c>
/// (PyTorch adds epsilon to the bias-corrected sqrt(v) instead).
/// </summary>
public class Adam(LearningRate? learningRate = null, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, bool amsgrad = false,
    double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
    : Optimizer(learningRate ?? 0.001, weightDecay, clipNorm, clipValue, globalClipNorm)
{
    private Tensor[] m = [], v = [], vhat = [];
    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; } = beta1;
    /// <summary>Decay of the second moment.</summary>
    public double Beta2 { get; } = beta2;
    /// <summary>Added to sqrt(v).</summary>
    public double Epsilon { get; } = epsilon;
    /// <summary>Whether the AMSGrad variant (max of past v) is used.</summary>
    public bool Amsgrad { get; } = amsgrad;
    /// <inheritdoc />
    public override string Name => "adam";
    /// <inheritdoc />
    protected override void Build(IReadOnlyList<Variable> variables)
    {
        // Keras: add_optimizer_variables(var_list, ["momentum", "velocity"]), then "velocity_hat" in a call of its own.
        m = AddSlots();
        v = AddSlots(withPrevious: true);
        vhat = Amsgrad ? AddSlots() : [];
        fusedStep?.Dispose();
        fusedStep = null;
    }
    private Tensor? fusedStep;
    /// <inheritdoc />
    protected override void ReleaseState()
    {
        fusedStep?.Dispose();
        fusedStep = null;
    }
    /// <inheritdoc />
    protected override void UpdateStep(int i, Tensor w, Tensor g, double lr)
    {
        long t = Iterations + 1;
        // The packed buffer (index past the variables) takes libtorch's single-pass kernel when it has one.
        if (IsPacked && i == m.Length - 1 && !Amsgrad && UseFusedKernels && FusedAdam.Available)
        {
            fusedStep ??= zeros(1, ScalarType.Float32, w.device).DetachFromDisposeScope();
            FusedAdam.Step(w, g, m[i], v[i], fusedStep, t, lr, Beta1, Beta2, Epsilon);
            return;
        }
        double alpha = lr * Math.Sqrt(1 - Math.Pow(Beta2, t)) / (1 - Math.Pow(Beta1, t));
        m[i].mul_(Num(Beta1)).add_(g, alpha: Num(1 - Beta1));
        v[i].mul_(Num(Beta2)).addcmul_(g, g, Num(1 - Beta2));
        var vv = v[i];
        if (Amsgrad)
        {
            vhat[i].copy_(torch.maximum(vhat[i], v[i]));
            vv = vhat[i];
        }
        w.addcdiv_(m[i], vv.sqrt().add_(Num(Epsilon)), Num(-alpha));
    }
}

/// <summary>Adam with decoupled weight decay (Keras default 0.004).</summary>
public sealed class AdamW(LearningRate? learningRate = null, double weightDecay = 0.004, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7,
    bool amsgrad = false, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
    : Adam(learningRate, beta1, beta2, epsilon, amsgrad, weightDecay, clipNorm, clipValue, globalClipNorm)
{
    /// <inheritdoc />
    public override string Name => "adamw";
}

/// <summary>
/// RMSprop (Keras 3): <c>v = rho v + (1 - rho) g^2</c>; <c>w -= lr g / sqrt(v + eps)</c> (epsilon inside the root);
/// centered subtracts the squared mean gradient; with momentum the increment goes through <c>m = momentum m + inc</c>.
/// </summary>
public sealed class RMSprop(LearningRate? learningRate = null, double rho = 0.9, double momentum = 0.0, double epsilon = 1e-7, bool centered = false,
    double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
    : Optimizer(learningRate ?? 0.001, weightDecay, clipNorm, clipValue, globalClipNorm)
{
    private Tensor[] vel = [], avg = [], mom = [];
    /// <summary>Discount of the squared-gradient average.</summary>
    public double Rho { get; } = rho;
    /// <summary>Momentum factor.</summary>
    public double Momentum { get; } = momentum;
    /// <summary>Added inside the square root.</summary>
    public double Epsilon { get; } = epsilon;
    /// <summary>Whether the gradient variance (not second moment) normalizes.</summary>
    public bool Centered { get; } = centered;
    /// <inheritdoc />
    public override string Name => "rmsprop";
    /// <inheritdoc />
    protected override void Build(IReadOnlyList<Variable> variables)
    {
        // Keras: "velocity", then "momentum" (momentum > 0), then "average_gradient" (centered), each in a call of its own.
        vel = AddSlots();
        mom = Momentum > 0 ? AddSlots() : [];
        avg = Centered ? AddSlots() : [];
    }
    /// <inheritdoc />
    private protected override IReadOnlyList<int> OnnxKerasV1KindOrder =>
        // Earlier OnnxKeras files stored the average gradients before the momentums.
        [0, .. Centered ? new[] { Momentum > 0 ? 2 : 1 } : [], .. Momentum > 0 ? new[] { 1 } : []];
    /// <inheritdoc />
    protected override void UpdateStep(int i, Tensor w, Tensor g, double lr)
    {
        Scalar rho = Num(Rho), oneMinusRho = Num(1 - Rho), one = Num(1), epsilon = Num(Epsilon);
        vel[i].mul_(rho).add_(g.pow(Scalars.Two), alpha: oneMinusRho);
        Tensor denominator;
        if (Centered)
        {
            avg[i].mul_(rho).add_(g, alpha: oneMinusRho);
            denominator = vel[i].sub(avg[i].pow(Scalars.Two)).add_(epsilon);
        }
        else denominator = vel[i].add(epsilon);
        var increment = g.mul(Num(lr)).div_(denominator.sqrt_());
        if (Momentum > 0)
        {
            mom[i].mul_(Num(Momentum)).add_(increment, alpha: one);
            w.sub_(mom[i]);
        }
        else w.sub_(increment);
    }
}

/// <summary>Adagrad (Keras 3): <c>acc += g^2</c>; <c>w -= lr g / sqrt(acc + eps)</c>; accumulators start at 0.1.</summary>
public sealed class Adagrad(LearningRate? learningRate = null, double initialAccumulatorValue = 0.1, double epsilon = 1e-7,
    double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
    : Optimizer(learningRate ?? 0.001, weightDecay, clipNorm, clipValue, globalClipNorm)
{
    private Tensor[] acc = [];
    /// <summary>Starting value of the accumulators.</summary>
    public double InitialAccumulatorValue { get; } = initialAccumulatorValue;
    /// <summary>Added inside the square root.</summary>
    public double Epsilon { get; } = epsilon;
    /// <inheritdoc />
    public override string Name => "adagrad";
    /// <inheritdoc />
    protected override void Build(IReadOnlyList<Variable> variables) => acc = AddSlots(InitialAccumulatorValue);
    /// <inheritdoc />
    protected override void UpdateStep(int i, Tensor w, Tensor g, double lr)
    {
        var one = Num(1);
        acc[i].add_(g.pow(Scalars.Two), alpha: one);
        w.sub_(g.mul(Num(lr)).div_(acc[i].add(Num(Epsilon)).sqrt_()));
    }
}

/// <summary>
/// Adadelta (Keras 3): <c>Eg = rho Eg + (1 - rho) g^2</c>; <c>d = -sqrt(Ed + eps) / sqrt(Eg + eps) g</c>;
/// <c>Ed = rho Ed + (1 - rho) d^2</c>; <c>w += lr d</c>.
/// </summary>
public sealed class Adadelta(LearningRate? learningRate = null, double rho = 0.95, double epsilon = 1e-7,
    double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
    : Optimizer(learningRate ?? 0.001, weightDecay, clipNorm, clipValue, globalClipNorm)
{
    private Tensor[] eg = [], ed = [];
    /// <summary>Decay rate.</summary>
    public double Rho { get; } = rho;
    /// <summary>Added inside the square roots.</summary>
    public double Epsilon { get; } = epsilon;
    /// <inheritdoc />
    public override string Name => "adadelta";
    /// <inheritdoc />
    protected override void Build(IReadOnlyList<Variable> variables)
    {
        // Keras: add_optimizer_variables(var_list, ["accumulated_grad", "accumulated_delta_var"]).
        eg = AddSlots();
        ed = AddSlots(withPrevious: true);
    }
    /// <inheritdoc />
    protected override void UpdateStep(int i, Tensor w, Tensor g, double lr)
    {
        Scalar rho = Num(Rho), oneMinusRho = Num(1 - Rho), epsilon = Num(Epsilon);
        eg[i].mul_(rho).add_(g.pow(Scalars.Two), alpha: oneMinusRho);
        var delta = -ed[i].add(epsilon).sqrt_() * g / eg[i].add(epsilon).sqrt_();
        ed[i].mul_(rho).add_(delta.pow(Scalars.Two), alpha: oneMinusRho);
        w.add_(delta, alpha: Num(lr));
    }
}

/// <summary>
/// Adamax (Keras 3): <c>m += (g - m)(1 - b1)</c>; <c>u = max(b2 u, |g|)</c>; <c>w -= lr m / ((1 - b1^t)(u + eps))</c>.
/// </summary>
public sealed class Adamax(LearningRate? learningRate = null, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7,
    double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
    : Optimizer(learningRate ?? 0.001, weightDecay, clipNorm, clipValue, globalClipNorm)
{
    private Tensor[] m = [], u = [];
    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; } = beta1;
    /// <summary>Decay of the infinity norm.</summary>
    public double Beta2 { get; } = beta2;
    /// <summary>Added to u.</summary>
    public double Epsilon { get; } = epsilon;
    /// <inheritdoc />
    public override string Name => "adamax";
    /// <inheritdoc />
    protected override void Build(IReadOnlyList<Variable> variables)
    {
        // Keras: add_optimizer_variables(var_list, ["momentum", "norm"]).
        m = AddSlots();
        u = AddSlots(withPrevious: true);
    }
    /// <inheritdoc />
    protected override void UpdateStep(int i, Tensor w, Tensor g, double lr)
    {
        long t = Iterations + 1;
        m[i].mul_(Num(Beta1)).add_(g, alpha: Num(1 - Beta1));
        u[i].copy_(torch.maximum(u[i] * Num(Beta2), g.abs()));
        w.sub_(m[i].mul(Num(lr)).div_(u[i].add(Num(Epsilon)).mul_(Num(1 - Math.Pow(Beta1, t)))));
    }
}

/// <summary>
/// Nadam (Keras 3): momentum schedule <c>u_t = b1 (1 - 0.5 * 0.96^t)</c> with running product,
/// <c>m_hat = u_{t+1} m / (1 - prod_{t+1}) + (1 - u_t) g / (1 - prod_t)</c>, <c>v_hat = v / (1 - b2^t)</c>,
/// <c>w -= lr m_hat / (sqrt(v_hat) + eps)</c>.
/// </summary>
public sealed class Nadam(LearningRate? learningRate = null, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7,
    double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
    : Optimizer(learningRate ?? 0.001, weightDecay, clipNorm, clipValue, globalClipNorm)
{
    private Tensor[] m = [], v = [];
    private double uProduct = 1.0;
    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; } = beta1;
    /// <summary>Decay of the second moment.</summary>
    public double Beta2 { get; } = beta2;
    /// <summary>Added to sqrt(v_hat).</summary>
    public double Epsilon { get; } = epsilon;
    /// <inheritdoc />
    public override string Name => "nadam";
    /// <inheritdoc />
    protected override void Build(IReadOnlyList<Variable> variables)
    {
        // Keras: add_optimizer_variables(var_list, ["momentum", "velocity"]), then the scalar u_product.
        m = AddSlots();
        v = AddSlots(withPrevious: true);
    }
    /// <inheritdoc />
    internal override IReadOnlyList<float> TrailingKerasScalars => [(float)uProduct];
    /// <inheritdoc />
    protected override void BeforeStep() => uProduct *= Beta1 * (1 - 0.5 * Math.Pow(0.96, Iterations + 1));

    /// <inheritdoc />
    protected override void OnStateRestored()
    {
        uProduct = 1.0;
        for (long t = 1; t <= Iterations; t++) uProduct *= Beta1 * (1 - 0.5 * Math.Pow(0.96, t));
    }
    /// <inheritdoc />
    protected override void UpdateStep(int i, Tensor w, Tensor g, double lr)
    {
        long t = Iterations + 1;
        double ut = Beta1 * (1 - 0.5 * Math.Pow(0.96, t));
        double ut1 = Beta1 * (1 - 0.5 * Math.Pow(0.96, t + 1));
        double uProductNext = uProduct * ut1;
        m[i].mul_(Num(Beta1)).add_(g, alpha: Num(1 - Beta1));
        v[i].mul_(Num(Beta2)).addcmul_(g, g, Num(1 - Beta2));
        var mHat = m[i].mul(Num(ut1 / (1 - uProductNext))).add_(g.mul(Num((1 - ut) / (1 - uProduct))), alpha: Num(1));
        var vHat = v[i].div(Num(1 - Math.Pow(Beta2, t)));
        w.sub_(mHat.mul_(Num(lr)).div_(vHat.sqrt_().add_(Num(Epsilon))));
    }
}
