using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Optimizers;

/// <summary>
/// Base of the optimizers, with Keras 3's semantics: gradients are clipped (<see cref="ClipNorm"/> per
/// variable, <see cref="GlobalClipNorm"/> over all, <see cref="ClipValue"/> elementwise), decoupled weight
/// decay <c>w -= w * weight_decay * lr</c> is applied, then each optimizer's update rule runs with the learning
/// rate of the current step (a constant or a <see cref="LearningRateSchedule"/> of <see cref="Iterations"/>).
/// Converts implicitly from a Keras name with default hyperparameters (<c>"adam"</c>).
/// </summary>
public abstract partial class Optimizer : IDisposable
{
    private readonly List<Tensor> slots = [];
    // For each kind of state (one AddSlots call), the Keras add_optimizer_variables call that creates it (see AddSlots).
    private readonly List<int> kindCalls = [];
    private IReadOnlyList<Variable>? built;
    private PackedVariables? packed;
    private readonly List<Tensor> wholeSlots = [];

    /// <summary>Sets the shared hyperparameters.</summary>
    protected Optimizer(LearningRate learningRate, double? weightDecay, double? clipNorm, double? clipValue, double? globalClipNorm)
    {
        if (new[] { clipNorm, clipValue, globalClipNorm }.Count(x => x is not null) > 1)
            throw new ArgumentException("Only one of clipNorm, clipValue and globalClipNorm can be set.");
        if (clipNorm is <= 0 || clipValue is <= 0 || globalClipNorm is <= 0) throw new ArgumentException("Clipping thresholds must be positive.");
        if (weightDecay is < 0) throw new ArgumentException($"weightDecay must be >= 0; got {weightDecay}.");
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        ClipNorm = clipNorm;
        ClipValue = clipValue;
        GlobalClipNorm = globalClipNorm;
    }

    /// <summary>
    /// Whether optimizers built from now on pack their variables into flat buffers (see <see cref="Apply(IReadOnlyList{Variable})"/>); on by
    /// default. Turning it off keeps one update per variable, e.g. to compare speed or to keep variables separate tensors.
    /// </summary>
    public static bool PackVariables { get; set; } = true;

    /// <summary>
    /// Whether packed optimizers may use libtorch's single-pass kernels (Adam and AdamW: <c>torch._fused_adam_</c>)
    /// instead of the op-by-op rule; on by default, used only where the loaded libtorch has them.
    /// </summary>
    public static bool UseFusedKernels { get; set; } = true;

    /// <summary>The Keras identifier, e.g. <c>adam</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The learning rate: a constant or a schedule of the step.</summary>
    public LearningRate LearningRate { get; set; }

    /// <summary>Decoupled weight decay factor, or null.</summary>
    public double? WeightDecay { get; }

    /// <summary>Each gradient is rescaled so its L2 norm is at most this.</summary>
    public double? ClipNorm { get; }

    /// <summary>Gradients are clipped elementwise to [-v, v].</summary>
    public double? ClipValue { get; }

    /// <summary>All gradients are rescaled together so their joint L2 norm is at most this.</summary>
    public double? GlobalClipNorm { get; }

    /// <summary>Number of updates applied so far.</summary>
    public long Iterations { get; protected set; }

    /// <summary>The learning rate for the next update.</summary>
    public double CurrentLearningRate => LearningRate.At(Iterations);

    /// <summary>
    /// Applies one update to <paramref name="variables"/> from the gradients libtorch accumulated in them
    /// (variables without a gradient are skipped), then projects each variable that has a <see cref="Variable.Constraint"/>
    /// (Keras 3's optimizer does the same after applying gradients).
    /// </summary>
    /// <remarks>
    /// When the variables share one dtype and device, the first call packs them, their gradients and the optimizer's state
    /// into one flat buffer each (the variables become views into it), so that each update is a handful of whole-buffer
    /// operations instead of several per variable; results are those of the per-variable rule up to floating-point
    /// reassociation. A step in which some variable has no gradient runs per variable, with Keras's semantics.
    /// </remarks>
    public void Apply(IReadOnlyList<Variable> variables)
    {
        EnsureBuilt(variables);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double lr = CurrentLearningRate;
        BeforeStep();
        try
        {
            if (packed is not null && GradientsInBuffer(variables, packed))
            {
                UpdateWhole(packed.Parameters, Clips ? Clip([packed.Gradients])[0]! : packed.Gradients, lr);
            }
            else
            {
                var grads = Clip(variables.Select(v => v.Value.grad).ToArray());
                for (int i = 0; i < variables.Count; i++)
                {
                    if (grads[i] is Tensor g) UpdateWhole(variables[i].Value, g, lr, i);
                }
            }
        }
        finally
        {
            foreach (var s in stepScalars) s.Dispose();
            stepScalars.Clear();
        }
        foreach (var v in variables) Constraint.ApplyTo(v); // Keras 3: variable.assign(variable.constraint(variable)) after the update
        Iterations++;
    }

    private void UpdateWhole(Tensor w, Tensor g, double lr, int? index = null)
    {
        if (WeightDecay is double wd && wd > 0) w.sub_(w * Num(wd * lr));
        UpdateStep(index ?? built!.Count, w, g, lr);
    }

    /// <summary>
    /// Readies the gradients for the next backward pass (Fit calls it before each one): with packed variables it zeroes the
    /// flat gradient buffer and, unless <paramref name="viewsBound"/> says an earlier step of the same Fit did, makes each
    /// variable's gradient its view, so that backward accumulates straight into the buffer; otherwise it clears the
    /// gradients. Returns whether the gradients are the buffer's views.
    /// </summary>
    internal bool PrepareGradients(IReadOnlyList<Variable> variables, bool viewsBound)
    {
        if (packed is { Verified: true } p && SameVariables(variables))
        {
            // fill_(0) rather than zero_(): the same zeros, but TorchSharp 0.107.0's zero_ costs about twice as much per call
            // (1-2 us even on a small buffer; bench/NOTES.md, "Fit's per-step overhead"), and this runs every step.
            p.Gradients.fill_(Scalars.Zero);
            if (!viewsBound)
            {
                for (int i = 0; i < variables.Count; i++) variables[i].Value.grad = p.GradientViews[i];
            }
            p.Bound = true;
            return true;
        }
        foreach (var v in variables) v.Value.grad = null;
        return false;
    }

    /// <summary>
    /// True when this step's gradients are in the flat buffer: bound by <see cref="PrepareGradients"/>, or copied in when
    /// every variable has one. The first such check also confirms that all variables receive gradients (a model whose
    /// first step leaves some variable without gradient keeps the per-variable path, as do steps without binding).
    /// </summary>
    private static bool GradientsInBuffer(IReadOnlyList<Variable> variables, PackedVariables p)
    {
        if (p.Bound)
        {
            p.Bound = false;
            return true;
        }
        var grads = new Tensor[variables.Count];
        for (int i = 0; i < grads.Length; i++)
        {
            if (variables[i].Value.grad is not Tensor g) return false;
            grads[i] = g;
        }
        for (int i = 0; i < grads.Length; i++) p.GradientViews[i].copy_(grads[i]);
        p.Verified = true;
        return true;
    }

    private void EnsureBuilt(IReadOnlyList<Variable> variables)
    {
        if (built is null)
        {
            built = variables.ToList();
            packed = PackVariables ? PackedVariables.TryPack(variables, perVariableClipping: ClipNorm is not null) : null;
            Build(variables);
        }
        else if (!SameVariables(variables))
        {
            throw new InvalidOperationException($"Optimizer '{Name}' was built for a different set of {built.Count} variables; got " +
                $"{variables.Count}. Use a new optimizer for a different model.");
        }
    }

    private bool SameVariables(IReadOnlyList<Variable> variables)
    {
        if (built is null || built.Count != variables.Count) return false;
        for (int i = 0; i < variables.Count; i++)
        {
            if (!ReferenceEquals(built[i], variables[i])) return false;
        }
        return true;
    }

    /// <summary>Whether any clipping is set (else <see cref="Clip"/> returns the gradients as they are).</summary>
    private bool Clips => ClipValue is not null || ClipNorm is not null || GlobalClipNorm is not null;

    private Tensor?[] Clip(Tensor?[] grads)
    {
        if (ClipValue is double cv)
        {
            for (int i = 0; i < grads.Length; i++) grads[i] = grads[i]?.clamp(Num(-cv), Num(cv));
        }
        else if (ClipNorm is double cn)
        {
            for (int i = 0; i < grads.Length; i++)
            {
                if (grads[i] is not Tensor g) continue;
                var norm = g.pow(Scalars.Two).sum().sqrt();
                grads[i] = g * (cn / torch.maximum(norm, tensor(cn, g.dtype, g.device)));
            }
        }
        else if (GlobalClipNorm is double gn)
        {
            var present = grads.Where(g => g is not null).Select(g => g!.pow(Scalars.Two).sum()).ToArray();
            if (present.Length == 0) return grads;
            var norm = stack(present).sum().sqrt();
            var factor = gn / torch.maximum(norm, tensor(gn, norm.dtype, norm.device));
            for (int i = 0; i < grads.Length; i++) grads[i] = grads[i] is Tensor g ? g * factor : null;
        }
        return grads;
    }

    private readonly List<Scalar> stepScalars = [];

    /// <summary>
    /// <paramref name="value"/> as a <see cref="Scalar"/> that lives until the end of the current update, for numbers
    /// passed to ops in <see cref="UpdateStep"/> (<c>m.mul_(Num(Beta1))</c>). TorchSharp converts a plain number into a
    /// Scalar that only a garbage collection frees; on large parameter buffers those blocks fragment the native heap
    /// between collections (docs/training.md, "Memory between collections").
    /// </summary>
    /// <param name="value">The number.</param>
    protected Scalar Num(double value)
    {
        Scalar s = value;
        stepScalars.Add(s);
        return s;
    }

    /// <summary>Recomputes state that is derived from <see cref="Iterations"/> after a restore.</summary>
    protected virtual void OnStateRestored() { }

    /// <summary>Creates the optimizer's state for <paramref name="variables"/> (use <see cref="AddSlots"/>).</summary>
    protected abstract void Build(IReadOnlyList<Variable> variables);

    /// <summary>Runs before the per-variable updates of a step.</summary>
    protected virtual void BeforeStep() { }

    /// <summary>
    /// Updates <paramref name="w"/> in place from gradient <paramref name="g"/> with learning rate <paramref name="lr"/>.
    /// <paramref name="index"/> selects the state in the arrays <see cref="AddSlots"/> returned: a variable's index, or the
    /// number of variables for the whole flat buffer (the rules are elementwise, so one rule serves both).
    /// </summary>
    protected abstract void UpdateStep(int index, Tensor w, Tensor g, double lr);

    /// <summary>
    /// Creates one kind of state (e.g. first moments) filled with <paramref name="value"/>: one tensor per variable, in
    /// the variables' order, and, when the variables are packed, the whole flat buffer last (the per-variable tensors are
    /// its views).
    /// </summary>
    /// <param name="value">The initial value.</param>
    /// <param name="withPrevious">
    /// True when Keras creates this kind in the same <c>add_optimizer_variables</c> call as the previous kind (one loop over
    /// the variables), so that its files interleave them per variable (Adam's momentum and velocity); false when Keras's
    /// <c>build()</c> creates it in a call of its own. Call AddSlots in the order of Keras's <c>build()</c>.
    /// </param>
    protected Tensor[] AddSlots(double value = 0.0, bool withPrevious = false)
    {
        var variables = built ?? throw new InvalidOperationException("AddSlots is called from Build.");
        kindCalls.Add(kindCalls.Count == 0 ? 0 : withPrevious ? kindCalls[^1] : kindCalls[^1] + 1);
        if (packed is null)
        {
            var each = variables.Select(v => full_like(v.Value, value).detach().requires_grad_(false).DetachFromDisposeScope()).ToArray();
            slots.AddRange(each);
            return each;
        }
        var whole = full_like(packed.Parameters, value).DetachFromDisposeScope();
        var views = packed.ViewsOf(whole);
        slots.AddRange(views);
        wholeSlots.Add(whole);
        return [.. views, whole];
    }

    /// <summary>Releases state an optimizer keeps outside <see cref="AddSlots"/> (called by <see cref="Dispose"/>).</summary>
    protected virtual void ReleaseState() { }

    /// <summary>Releases the state tensors.</summary>
    public void Dispose()
    {
        ReleaseState();
        foreach (var s in slots) s.Dispose();
        foreach (var s in wholeSlots) s.Dispose();
        slots.Clear();
        wholeSlots.Clear();
        kindCalls.Clear();
        packed?.Dispose();
        packed = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>Looks up an optimizer by Keras name with default hyperparameters.</summary>
    public static implicit operator Optimizer(string name) => OptimizerRegistry.Get(name);

    /// <summary>Keras config (hyperparameters).</summary>
    public virtual IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["name"] = Name,
        ["learning_rate"] = LearningRate.ToConfig(),
        ["weight_decay"] = WeightDecay,
        ["clipnorm"] = ClipNorm,
        ["global_clipnorm"] = GlobalClipNorm,
        ["clipvalue"] = ClipValue,
    };
}
