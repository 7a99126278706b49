namespace OnnxKeras.Optimizers;

/// <summary>A learning rate: a constant (implicit from <c>double</c>) or a schedule of the step.</summary>
public abstract class LearningRate
{
    /// <summary>The rate at optimizer step <paramref name="step"/> (0-based).</summary>
    public abstract double At(long step);

    /// <summary>Keras config: a number for constants, a class_name/config object for schedules.</summary>
    public abstract object ToConfig();

    /// <summary>A constant rate.</summary>
    public static implicit operator LearningRate(double value) => new ConstantLearningRate(value);
}

/// <summary>A constant rate; settable so callbacks such as ReduceLROnPlateau can change it.</summary>
public sealed class ConstantLearningRate : LearningRate
{
    private double value;

    /// <summary>Creates a constant rate.</summary>
    public ConstantLearningRate(double value) => Value = value;

    /// <summary>The rate.</summary>
    public double Value
    {
        get => value;
        set => this.value = value >= 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentException($"Learning rate must be a finite number >= 0; got {value}.");
    }

    /// <inheritdoc />
    public override double At(long step) => Value;
    /// <inheritdoc />
    public override object ToConfig() => Value;
}

/// <summary>Base of learning-rate schedules (Keras's <c>LearningRateSchedule</c>).</summary>
public abstract class LearningRateSchedule : LearningRate
{
    /// <summary>Keras class name.</summary>
    protected abstract string ClassName { get; }
    /// <summary>Keras config of the schedule.</summary>
    protected abstract Dictionary<string, object?> Config();
    /// <inheritdoc />
    public override object ToConfig() => new Dictionary<string, object?> { ["class_name"] = ClassName, ["config"] = Config() };
}

/// <summary><c>initial * rate^(step / decaySteps)</c> (the exponent floored when <paramref name="staircase"/>).</summary>
public sealed class ExponentialDecay(double initialLearningRate, long decaySteps, double decayRate, bool staircase = false) : LearningRateSchedule
{
    /// <inheritdoc />
    protected override string ClassName => "ExponentialDecay";
    /// <inheritdoc />
    public override double At(long step)
    {
        double p = (double)step / decaySteps;
        if (staircase) p = Math.Floor(p);
        return initialLearningRate * Math.Pow(decayRate, p);
    }
    /// <inheritdoc />
    protected override Dictionary<string, object?> Config() => new()
    {
        ["initial_learning_rate"] = initialLearningRate,
        ["decay_steps"] = decaySteps,
        ["decay_rate"] = decayRate,
        ["staircase"] = staircase,
    };
}

/// <summary><c>initial / (1 + rate * step / decaySteps)</c> (floored when <paramref name="staircase"/>).</summary>
public sealed class InverseTimeDecay(double initialLearningRate, long decaySteps, double decayRate, bool staircase = false) : LearningRateSchedule
{
    /// <inheritdoc />
    protected override string ClassName => "InverseTimeDecay";
    /// <inheritdoc />
    public override double At(long step)
    {
        double p = (double)step / decaySteps;
        if (staircase) p = Math.Floor(p);
        return initialLearningRate / (1 + decayRate * p);
    }
    /// <inheritdoc />
    protected override Dictionary<string, object?> Config() => new()
    {
        ["initial_learning_rate"] = initialLearningRate,
        ["decay_steps"] = decaySteps,
        ["decay_rate"] = decayRate,
        ["staircase"] = staircase,
    };
}

/// <summary>
/// Cosine decay (no warmup): <c>initial * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decaySteps) / decaySteps)) + alpha)</c>.
/// </summary>
public sealed class CosineDecay(double initialLearningRate, long decaySteps, double alpha = 0.0) : LearningRateSchedule
{
    /// <inheritdoc />
    protected override string ClassName => "CosineDecay";
    /// <inheritdoc />
    public override double At(long step)
    {
        double p = Math.Min(step, decaySteps) / (double)decaySteps;
        return initialLearningRate * ((1 - alpha) * 0.5 * (1 + Math.Cos(Math.PI * p)) + alpha);
    }
    /// <inheritdoc />
    protected override Dictionary<string, object?> Config() =>
        new() { ["initial_learning_rate"] = initialLearningRate, ["decay_steps"] = decaySteps, ["alpha"] = alpha };
}

/// <summary>Piecewise constant: <c>values[i]</c> for <c>boundaries[i-1] &lt; step &lt;= boundaries[i]</c>.</summary>
public sealed class PiecewiseConstantDecay : LearningRateSchedule
{
    private readonly long[] boundaries;
    private readonly double[] values;

    /// <summary>Creates the schedule; needs one more value than boundaries.</summary>
    public PiecewiseConstantDecay(long[] boundaries, double[] values)
    {
        if (values.Length != boundaries.Length + 1)
            throw new ArgumentException($"PiecewiseConstantDecay needs one more value than boundaries; got {boundaries.Length} " +
                $"boundaries and {values.Length} values.");
        this.boundaries = boundaries;
        this.values = values;
    }

    /// <inheritdoc />
    protected override string ClassName => "PiecewiseConstantDecay";
    /// <inheritdoc />
    public override double At(long step)
    {
        for (int i = 0; i < boundaries.Length; i++)
        {
            if (step <= boundaries[i]) return values[i];
        }
        return values[^1];
    }
    /// <inheritdoc />
    protected override Dictionary<string, object?> Config() => new() { ["boundaries"] = boundaries, ["values"] = values };
}
