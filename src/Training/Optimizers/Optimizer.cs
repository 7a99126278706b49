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
public abstract class Optimizer : IDisposable
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
    /// Whether optimizers built from now on pack their variables into flat buffers (see <see cref="Apply"/>); on by
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
        if (packed is not null && GradientsInBuffer(variables, packed))
        {
            UpdateWhole(packed.Parameters, Clip([packed.Gradients])[0]!, lr);
        }
        else
        {
            var grads = Clip(variables.Select(v => v.Value.grad).ToArray());
            for (int i = 0; i < variables.Count; i++)
            {
                if (grads[i] is Tensor g) UpdateWhole(variables[i].Value, g, lr, i);
            }
        }
        foreach (var v in variables) Constraint.ApplyTo(v); // Keras 3: variable.assign(variable.constraint(variable)) after the update
        Iterations++;
    }

    private void UpdateWhole(Tensor w, Tensor g, double lr, int? index = null)
    {
        if (WeightDecay is double wd && wd > 0) w.sub_(w * (wd * lr));
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
            p.Gradients.zero_();
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
            throw new InvalidOperationException($"Optimizer '{Name}' was built for a different set of {built.Count} variables; got {variables.Count}. Use a new optimizer for a different model.");
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

    private Tensor?[] Clip(Tensor?[] grads)
    {
        if (ClipValue is double cv)
        {
            for (int i = 0; i < grads.Length; i++) grads[i] = grads[i]?.clamp(-cv, cv);
        }
        else if (ClipNorm is double cn)
        {
            for (int i = 0; i < grads.Length; i++)
            {
                if (grads[i] is not Tensor g) continue;
                var norm = g.square().sum().sqrt();
                grads[i] = g * (cn / torch.maximum(norm, tensor(cn, g.dtype, g.device)));
            }
        }
        else if (GlobalClipNorm is double gn)
        {
            var present = grads.Where(g => g is not null).Select(g => g!.square().sum()).ToArray();
            if (present.Length == 0) return grads;
            var norm = stack(present).sum().sqrt();
            var factor = gn / torch.maximum(norm, tensor(gn, norm.dtype, norm.device));
            for (int i = 0; i < grads.Length; i++) grads[i] = grads[i] is Tensor g ? g * factor : null;
        }
        return grads;
    }

    /// <summary>The state tensors (moments, accumulators) in creation order: per kind, one per variable.</summary>
    internal IReadOnlyList<Tensor> Slots => slots;

    /// <summary>
    /// The state tensors in the order Keras 3 lists an optimizer's variables (after the iteration count and the learning
    /// rate), which is the order of its <c>build()</c>: each <c>add_optimizer_variables</c> call (or, in Keras 3.9, each
    /// loop over the variables) creates its kinds interleaved per model variable (Adam: <c>m0, v0, m1, v1, ...</c>), and
    /// calls follow each other (AMSGrad's <c>vhat0, vhat1, ...</c> after them).
    /// </summary>
    internal IReadOnlyList<Tensor> KerasOrderedSlots => Order(OptimizerStateLayout.Keras).Select(i => slots[i]).ToList();

    /// <summary>
    /// Scalar variables Keras creates after the state in <c>build()</c> (Nadam's <c>u_product</c>); written after the state
    /// and ignored when read (they are recomputed from <see cref="Iterations"/>).
    /// </summary>
    internal virtual IReadOnlyList<float> TrailingKerasScalars => [];

    /// <summary>
    /// The kinds of state (AddSlots calls, by creation index) in the order OnnxKeras files written before the state followed
    /// Keras's order stored them (all of one kind, then the next); the creation order unless an optimizer changed it.
    /// </summary>
    private protected virtual IReadOnlyList<int> OnnxKerasV1KindOrder => Enumerable.Range(0, kindCalls.Count).ToArray();

    /// <summary>Indices into <see cref="Slots"/> in the order <paramref name="layout"/> stores them.</summary>
    private int[] Order(OptimizerStateLayout layout)
    {
        int n = built?.Count ?? 0;
        int kinds = kindCalls.Count;
        var order = new List<int>(slots.Count);
        switch (layout)
        {
            case OptimizerStateLayout.Keras:
                for (int k = 0; k < kinds;)
                {
                    int end = k;
                    while (end < kinds && kindCalls[end] == kindCalls[k]) end++;
                    for (int v = 0; v < n; v++)
                    {
                        for (int j = k; j < end; j++) order.Add(j * n + v);
                    }
                    k = end;
                }
                break;
            case OptimizerStateLayout.KerasGrouped:
                for (int i = 0; i < slots.Count; i++) order.Add(i);
                break;
            default:
                foreach (int k in OnnxKerasV1KindOrder)
                {
                    for (int v = 0; v < n; v++) order.Add(k * n + v);
                }
                break;
        }
        return [.. order];
    }

    /// <summary>Whether the variables were packed into flat buffers (then state arrays end with the whole buffer).</summary>
    protected bool IsPacked => packed is not null;

    /// <summary>True once the state exists (after the first update or <see cref="BuildFor"/>).</summary>
    internal bool IsBuilt => built is not null;

    /// <summary>Creates the state for <paramref name="variables"/> without updating them (before restoring saved state).</summary>
    internal void BuildFor(IReadOnlyList<Variable> variables)
    {
        if (built is not null) return;
        EnsureBuilt(variables);
    }

    /// <summary>
    /// Restores the iteration count and the state from a Keras 3 weights file's <c>optimizer/vars/1..</c>
    /// (<paramref name="stored"/>: everything after the iteration count). Which of the file's variables are the learning
    /// rate (Keras writes it only for a constant rate), the state and trailing scalars (Nadam's <c>u_product</c>), and in
    /// which order the state is stored, is decided by <paramref name="source"/>: files that say they follow Keras's order
    /// are read in it; OnnxKeras files from before are read in their grouped order; other files (Keras's own) are read in
    /// the first of Keras's per-variable order, Keras's grouped order (all of one kind, then the next) and the earlier
    /// OnnxKeras order whose shapes match the optimizer's state exactly. When shapes cannot tell the orders apart (all
    /// trainable variables of one shape) the per-variable order, Keras 3.9's, is taken.
    /// </summary>
    /// <exception cref="InvalidDataException">No reading fits (count or shapes), naming <paramref name="what"/>.</exception>
    internal void RestoreState(long iterations, IReadOnlyList<Saving.StoredArray> stored, OptimizerStateSource source, string what)
    {
        if (built is null) throw new InvalidOperationException("RestoreState needs the state built (BuildFor).");
        int lr = LearningRate is ConstantLearningRate ? 1 : 0;
        int trailing = TrailingKerasScalars.Count;
        var readings = source switch
        {
            OptimizerStateSource.KerasOrder => [(OptimizerStateLayout.Keras, lr, trailing)],
            OptimizerStateSource.OnnxKerasV1 => [(OptimizerStateLayout.OnnxKerasV1, 1, 0)],
            _ => new[] { OptimizerStateLayout.Keras, OptimizerStateLayout.KerasGrouped, OptimizerStateLayout.OnnxKerasV1 }
                .SelectMany(l => new[] { (l, lr, trailing), (l, 1, 0), (l, 0, 0), (l, 1, trailing), (l, 0, trailing) }).Distinct().ToArray(),
        };
        foreach (var (layout, lead, trail) in readings)
        {
            if (stored.Count != lead + slots.Count + trail) continue;
            var order = Order(layout);
            bool fits = true;
            for (int j = 0; j < order.Length && fits; j++)
                fits = stored[lead + j].Shape.SequenceEqual(slots[order[j]].shape) && stored[lead + j].Data.LongLength == slots[order[j]].numel();
            if (!fits) continue;
            using (no_grad())
            {
                for (int j = 0; j < order.Length; j++)
                {
                    var slot = slots[order[j]];
                    using var src = tensor(stored[lead + j].Data, slot.shape, slot.dtype);
                    slot.copy_(src);
                }
            }
            Iterations = iterations;
            OnStateRestored();
            return;
        }
        string Shapes(IEnumerable<long[]> shapes) => string.Join(", ", shapes.Select(Saving.WeightFiles.FormatShape));
        throw new InvalidDataException($"{what}: the saved optimizer variables after the iteration count ({stored.Count}: {Shapes(stored.Select(s => s.Shape))}) do not fit optimizer "
            + $"'{Name}' for this model, whose state is {slots.Count} tensors ({Shapes(KerasOrderedSlots.Select(t => t.shape))} in Keras's order), after the learning rate when it is constant"
            + (trailing > 0 ? $" and followed by {trailing} scalar(s)" : "") + ".");
    }

    /// <summary>Restores the state read from a weights file (see <see cref="RestoreState(long, IReadOnlyList{Saving.StoredArray}, OptimizerStateSource, string)"/>).</summary>
    /// <exception cref="InvalidDataException">No reading fits (count or shapes), naming <paramref name="what"/>.</exception>
    internal void RestoreState(long iterations, Saving.OptimizerVariables stored, string what) => RestoreState(iterations, stored, stored.Source, what);

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

/// <summary>Orders in which a weights file may store an optimizer's state (see <see cref="Optimizer.RestoreState(long, IReadOnlyList{Saving.StoredArray}, OptimizerStateSource, string)"/>).</summary>
internal enum OptimizerStateLayout
{
    /// <summary>Keras 3's: per <c>add_optimizer_variables</c> call, interleaved per model variable (<c>m0, v0, m1, v1, ...</c>).</summary>
    Keras,

    /// <summary>Each kind for all variables, then the next kind, in Keras's kind order (some Keras 3 releases after 3.9).</summary>
    KerasGrouped,

    /// <summary>OnnxKeras files written before the state followed Keras's order: grouped, in OnnxKeras's old kind order.</summary>
    OnnxKerasV1,
}

/// <summary>What a weights file says about the order of its optimizer state.</summary>
internal enum OptimizerStateSource
{
    /// <summary>Nothing: a Keras file, or an OnnxKeras weights file from before; the order is inferred from the shapes.</summary>
    Unknown,

    /// <summary>An OnnxKeras file that marks its state as written in Keras's order.</summary>
    KerasOrder,

    /// <summary>An OnnxKeras <c>.keras</c> file without that mark: the grouped order OnnxKeras wrote before.</summary>
    OnnxKerasV1,
}

/// <summary>Keras's built-in optimizers by name.</summary>
public static class OptimizerRegistry
{
    private static readonly Dictionary<string, Func<Optimizer>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sgd"] = () => new SGD(),
        ["adam"] = () => new Adam(),
        ["adamw"] = () => new AdamW(),
        ["rmsprop"] = () => new RMSprop(),
        ["adagrad"] = () => new Adagrad(),
        ["adadelta"] = () => new Adadelta(),
        ["adamax"] = () => new Adamax(),
        ["nadam"] = () => new Nadam(),
    };

    /// <summary>A new optimizer for a Keras name.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static Optimizer Get(string name) =>
        Factories.TryGetValue(name, out var f) ? f() :
        throw new ArgumentException($"Unknown optimizer '{name}'. Valid names: {string.Join(", ", Factories.Keys.Order())}.", nameof(name));
}
