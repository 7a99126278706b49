namespace OnnxKeras;

/// <summary>
/// Factories with Keras's names (<c>Constraints.MaxNorm(2)</c>) and the lookups that rebuild a constraint from a name or
/// from Keras's serialized <c>{"module": "keras.constraints", "class_name", "config"}</c> form.
/// </summary>
public static class Constraints
{
    /// <summary>Keras's <c>MaxNorm(max_value=2, axis=0)</c>; pass several axes for a convolution kernel (e.g. <c>[0, 1, 2]</c>).</summary>
    public static Constraint MaxNorm(double maxValue = 2, params int[] axis) => new MaxNormConstraint(maxValue, axis.Length == 0 ? null : axis);

    /// <summary>Keras's <c>MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0)</c>.</summary>
    public static Constraint MinMaxNorm(double minValue = 0.0, double maxValue = 1.0, double rate = 1.0, params int[] axis) =>
        new MinMaxNormConstraint(minValue, maxValue, rate, axis.Length == 0 ? null : axis);

    /// <summary>Keras's <c>NonNeg()</c>.</summary>
    public static Constraint NonNeg() => new NonNegConstraint();

    /// <summary>Keras's <c>UnitNorm(axis=0)</c>.</summary>
    public static Constraint UnitNorm(params int[] axis) => new UnitNormConstraint(axis.Length == 0 ? null : axis);

    /// <summary>
    /// A constraint by Keras name with its default arguments: <c>max_norm</c>/<c>MaxNorm</c>, <c>min_max_norm</c>/<c>MinMaxNorm</c>,
    /// <c>non_neg</c>/<c>NonNeg</c>, <c>unit_norm</c>/<c>UnitNorm</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Any other name.</exception>
    public static Constraint Get(string name) => name switch
    {
        "max_norm" or "MaxNorm" => MaxNorm(),
        "min_max_norm" or "MinMaxNorm" => MinMaxNorm(),
        "non_neg" or "NonNeg" => NonNeg(),
        "unit_norm" or "UnitNorm" => UnitNorm(),
        _ => throw new ArgumentException($"Unknown constraint '{name}'. Valid names: max_norm, min_max_norm, non_neg, unit_norm "
            + "(or their class names MaxNorm, MinMaxNorm, NonNeg, UnitNorm).", nameof(name)),
    };

    /// <summary>
    /// A constraint from Keras's serialized form <c>{"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}</c>
    /// (Keras 2 and 3; the config's keys are the constructor's), through the one deserializer (<see cref="KerasObjects"/>,
    /// so registered and custom constraints resolve too). Keys a constraint does not have are refused rather than dropped.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown class.</exception>
    /// <exception cref="InvalidDataException">A key the constraint does not take, or a value of the wrong kind.</exception>
    public static Constraint FromConfig(IDictionary<string, object?> serialized) =>
        KerasObjects.Deserialize<Constraint>(serialized) ?? throw new ArgumentException("A serialized constraint cannot be null.");
}
