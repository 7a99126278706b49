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
    private IReadOnlyList<Variable>? built;

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
    /// (variables without a gradient are skipped).
    /// </summary>
    public void Apply(IReadOnlyList<Variable> variables)
    {
        if (built is null)
        {
            built = variables.ToList();
            Build(variables);
        }
        else if (built.Count != variables.Count || !built.Zip(variables).All(p => ReferenceEquals(p.First, p.Second)))
        {
            throw new InvalidOperationException($"Optimizer '{Name}' was built for a different set of {built.Count} variables; got {variables.Count}. Use a new optimizer for a different model.");
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var grads = variables.Select(v => v.Value.grad).ToArray();
        Clip(grads);
        double lr = CurrentLearningRate;
        BeforeStep();
        for (int i = 0; i < variables.Count; i++)
        {
            if (grads[i] is not Tensor g) continue;
            var w = variables[i].Value;
            if (WeightDecay is double wd && wd > 0) w.sub_(w * (wd * lr));
            UpdateStep(i, w, g, lr);
        }
        Iterations++;
    }

    private void Clip(Tensor?[] grads)
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
            if (present.Length == 0) return;
            var norm = stack(present).sum().sqrt();
            var factor = gn / torch.maximum(norm, tensor(gn, norm.dtype, norm.device));
            for (int i = 0; i < grads.Length; i++) grads[i] = grads[i] is Tensor g ? g * factor : null;
        }
    }

    /// <summary>The state tensors (moments, accumulators) in creation order: per kind, one per variable (Keras 3's order).</summary>
    internal IReadOnlyList<Tensor> Slots => slots;

    /// <summary>True once the state exists (after the first update or <see cref="BuildFor"/>).</summary>
    internal bool IsBuilt => built is not null;

    /// <summary>Creates the state for <paramref name="variables"/> without updating them (before restoring saved state).</summary>
    internal void BuildFor(IReadOnlyList<Variable> variables)
    {
        if (built is not null) return;
        built = variables.ToList();
        Build(variables);
    }

    /// <summary>Restores the iteration count and the state tensors saved from an optimizer of the same kind.</summary>
    /// <exception cref="InvalidDataException">The saved state does not fit (count or sizes), naming <paramref name="what"/>.</exception>
    internal void RestoreState(long iterations, IReadOnlyList<float[]> values, string what)
    {
        if (values.Count != slots.Count)
            throw new InvalidDataException($"{what}: the saved optimizer state has {values.Count} tensors; optimizer '{Name}' for this model has {slots.Count}.");
        for (int i = 0; i < slots.Count; i++)
        {
            if (values[i].LongLength != slots[i].numel())
                throw new InvalidDataException($"{what}: saved optimizer tensor {i} holds {values[i].LongLength} values; '{Name}' needs {slots[i].numel()}.");
        }
        using (no_grad())
        {
            for (int i = 0; i < slots.Count; i++)
            {
                using var src = tensor(values[i], slots[i].shape, slots[i].dtype);
                slots[i].copy_(src);
            }
        }
        Iterations = iterations;
        OnStateRestored();
    }

    /// <summary>Recomputes state that is derived from <see cref="Iterations"/> after a restore.</summary>
    protected virtual void OnStateRestored() { }

    /// <summary>Creates the optimizer's state for <paramref name="variables"/> (use <see cref="AddSlot"/>).</summary>
    protected abstract void Build(IReadOnlyList<Variable> variables);

    /// <summary>Runs before the per-variable updates of a step.</summary>
    protected virtual void BeforeStep() { }

    /// <summary>Updates variable <paramref name="index"/> in place from gradient <paramref name="g"/> with learning rate <paramref name="lr"/>.</summary>
    protected abstract void UpdateStep(int index, Tensor w, Tensor g, double lr);

    /// <summary>Creates a state tensor like <paramref name="like"/> filled with <paramref name="value"/>.</summary>
    protected Tensor AddSlot(Variable like, double value = 0.0)
    {
        var t = full_like(like.Value, value).detach().requires_grad_(false).DetachFromDisposeScope();
        slots.Add(t);
        return t;
    }

    /// <summary>Releases the state tensors.</summary>
    public void Dispose()
    {
        foreach (var s in slots) s.Dispose();
        slots.Clear();
        GC.SuppressFinalize(this);
    }

    /// <summary>Looks up an optimizer by Keras name with default hyperparameters.</summary>
    public static implicit operator Optimizer(string name) => OptimizerRegistry.Get(name);

    /// <summary>Keras config (hyperparameters).</summary>
    public virtual IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["name"] = Name, ["learning_rate"] = LearningRate.ToConfig(), ["weight_decay"] = WeightDecay,
        ["clipnorm"] = ClipNorm, ["global_clipnorm"] = GlobalClipNorm, ["clipvalue"] = ClipValue,
    };
}

/// <summary>Keras's built-in optimizers by name.</summary>
public static class OptimizerRegistry
{
    private static readonly Dictionary<string, Func<Optimizer>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sgd"] = () => new SGD(), ["adam"] = () => new Adam(), ["adamw"] = () => new AdamW(), ["rmsprop"] = () => new RMSprop(),
        ["adagrad"] = () => new Adagrad(), ["adadelta"] = () => new Adadelta(), ["adamax"] = () => new Adamax(), ["nadam"] = () => new Nadam(),
    };

    /// <summary>A new optimizer for a Keras name.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static Optimizer Get(string name) =>
        Factories.TryGetValue(name, out var f) ? f() :
        throw new ArgumentException($"Unknown optimizer '{name}'. Valid names: {string.Join(", ", Factories.Keys.Order())}.", nameof(name));
}
