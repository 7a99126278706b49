using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// A projection applied to a weight after each optimizer update (Keras's <c>keras.constraints</c>): the optimizer
/// assigns <c>constraint(w)</c> to every trainable variable that carries one, so the weights that are saved or exported
/// already satisfy it. Subclass it and override <see cref="Call"/> for a custom constraint.
/// </summary>
public abstract class Constraint
{
    /// <summary>Keras's <c>backend.epsilon()</c>, added to the norms the norm constraints divide by.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>The Keras class name written as <c>class_name</c> (<c>MaxNorm</c>, <c>NonNeg</c>, ...).</summary>
    public abstract string Name { get; }

    /// <summary>The projected value of weight <paramref name="w"/> (same shape); it must not modify <paramref name="w"/>.</summary>
    public abstract KTensor Call(KTensor w);

    /// <summary>Keras config (constructor arguments under Keras's keys).</summary>
    public abstract IReadOnlyDictionary<string, object?> GetConfig();

    /// <summary>Looks up a constraint by Keras name with Keras's default arguments (<c>"max_norm"</c>, <c>"NonNeg"</c>, ...).</summary>
    public static implicit operator Constraint(string name) => Constraints.Get(name);

    /// <summary>Writes <c>constraint(variable)</c> into <paramref name="variable"/> (Keras's <c>variable.assign(constraint(variable))</c>).</summary>
    internal static void ApplyTo(Variable variable)
    {
        if (variable.Constraint is not { } c) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var projected = c.Call(new KTensor(variable.Value.detach())).Value;
        if (!projected.shape.SequenceEqual(variable.Value.shape))
            throw new InvalidOperationException($"Constraint {c.Name} returned shape {Shape.Of(projected.shape)} for variable '{variable.Path}' "
                + $"of shape {variable.Shape}; a constraint must keep the shape.");
        variable.Assign(projected.to_type(variable.Value.dtype));
    }

    /// <summary>The L2 norms of <paramref name="w"/> over <paramref name="axes"/>, kept as size-1 axes.</summary>
    protected static Tensor Norms(Tensor w, int[] axes) => w.pow(Scalars.Two).sum(axes.Select(a => (long)a).ToArray(), keepdim: true).sqrt();

    /// <summary>Validates Keras's <c>axis</c> argument for weight <paramref name="w"/> and returns it with negative axes resolved.</summary>
    protected int[] ResolveAxes(Tensor w, int[] axes)
    {
        long rank = w.dim();
        return axes.Select(a => a >= -rank && a < rank ? (int)(a < 0 ? a + rank : a)
            : throw new ArgumentException($"Constraint {Name}: axis {a} is out of range for a weight of rank {rank}.")).ToArray();
    }

    /// <summary>Keras writes <c>axis</c> as it was given: one integer or a list.</summary>
    protected static object AxisConfig(int[] axes) => axes.Length == 1 ? axes[0] : axes.ToArray();

    /// <summary>Checks a norm bound: a finite number &gt;= 0.</summary>
    protected static double Bound(double value, string name) =>
        double.IsFinite(value) && value >= 0 ? value
            : throw new ArgumentException($"Invalid value for {name}: expected a finite number >= 0; got {value}.", name);

    /// <summary>Checks Keras's <c>axis</c> argument: at least one axis, none repeated.</summary>
    protected static int[] Axes(int[]? axis, string owner)
    {
        var a = axis ?? [0];
        if (a.Length == 0) throw new ArgumentException($"{owner}: axis needs at least one axis.", nameof(axis));
        if (a.Distinct().Count() != a.Length) throw new ArgumentException($"{owner}: axis lists an axis twice: [{string.Join(", ", a)}].", nameof(axis));
        return a;
    }
}

/// <summary>
/// Keras's <c>MaxNorm(max_value=2, axis=0)</c>: <c>w * clip(n, 0, max_value) / (epsilon + n)</c> with
/// <c>n = sqrt(sum(w^2, axis, keepdims))</c>, so each slice along <c>axis</c> has norm at most <c>max_value</c>.
/// </summary>
public sealed class MaxNormConstraint : Constraint
{
    /// <summary>Creates the constraint; <paramref name="axis"/> may list several axes (null: axis 0).</summary>
    public MaxNormConstraint(double maxValue = 2, int[]? axis = null)
    {
        MaxValue = Bound(maxValue, "max_value");
        Axis = Axes(axis, "MaxNorm");
    }

    /// <summary>The largest norm allowed.</summary>
    public double MaxValue { get; }
    /// <summary>The axes the norms are taken over (for a Dense kernel [in, out], axis 0 constrains each unit's incoming weights).</summary>
    public int[] Axis { get; }
    /// <inheritdoc />
    public override string Name => "MaxNorm";

    /// <inheritdoc />
    public override KTensor Call(KTensor w)
    {
        var norms = Norms(w.Value, ResolveAxes(w.Value, Axis));
        return new KTensor(w.Value * (norms.clamp(0, MaxValue) / (norms + Epsilon)));
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["max_value"] = MaxValue, ["axis"] = AxisConfig(Axis) };
}

/// <summary>
/// Keras's <c>MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0)</c>:
/// <c>w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (epsilon + n)</c>.
/// </summary>
public sealed class MinMaxNormConstraint : Constraint
{
    /// <summary>Creates the constraint; <paramref name="axis"/> may list several axes (null: axis 0).</summary>
    public MinMaxNormConstraint(double minValue = 0.0, double maxValue = 1.0, double rate = 1.0, int[]? axis = null)
    {
        MinValue = Bound(minValue, "min_value");
        MaxValue = Bound(maxValue, "max_value");
        if (MinValue > MaxValue) throw new ArgumentException($"MinMaxNorm: min_value ({minValue}) must not exceed max_value ({maxValue}).", nameof(minValue));
        Rate = double.IsFinite(rate) ? rate : throw new ArgumentException($"MinMaxNorm: rate must be finite; got {rate}.", nameof(rate));
        Axis = Axes(axis, "MinMaxNorm");
    }

    /// <summary>The smallest norm.</summary>
    public double MinValue { get; }
    /// <summary>The largest norm.</summary>
    public double MaxValue { get; }
    /// <summary>How far each step moves the norm into the interval (1: all the way).</summary>
    public double Rate { get; }
    /// <summary>The axes the norms are taken over.</summary>
    public int[] Axis { get; }
    /// <inheritdoc />
    public override string Name => "MinMaxNorm";

    /// <inheritdoc />
    public override KTensor Call(KTensor w)
    {
        var norms = Norms(w.Value, ResolveAxes(w.Value, Axis));
        var desired = norms.clamp(MinValue, MaxValue) * Rate + norms * (1 - Rate);
        return new KTensor(w.Value * (desired / (norms + Epsilon)));
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["min_value"] = MinValue,
        ["max_value"] = MaxValue,
        ["rate"] = Rate,
        ["axis"] = AxisConfig(Axis),
    };
}

/// <summary>Keras's <c>NonNeg()</c>: <c>maximum(w, 0)</c>.</summary>
public sealed class NonNegConstraint : Constraint
{
    /// <inheritdoc />
    public override string Name => "NonNeg";
    /// <inheritdoc />
    public override KTensor Call(KTensor w) => new(w.Value.clamp_min(0));
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>();
}

/// <summary>Keras's <c>UnitNorm(axis=0)</c>: <c>w / (epsilon + sqrt(sum(w^2, axis, keepdims)))</c>.</summary>
public sealed class UnitNormConstraint : Constraint
{
    /// <summary>Creates the constraint; <paramref name="axis"/> may list several axes (null: axis 0).</summary>
    public UnitNormConstraint(int[]? axis = null) => Axis = Axes(axis, "UnitNorm");

    /// <summary>The axes the norms are taken over.</summary>
    public int[] Axis { get; }
    /// <inheritdoc />
    public override string Name => "UnitNorm";
    /// <inheritdoc />
    public override KTensor Call(KTensor w) => new(w.Value / (Norms(w.Value, ResolveAxes(w.Value, Axis)) + Epsilon));
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["axis"] = AxisConfig(Axis) };
}
