namespace OnnxKeras;

/// <summary>A penalty on a weight that is added to the training loss (Keras's <c>keras.regularizers</c>).</summary>
public abstract class Regularizer
{
    /// <summary>The Keras identifier (<c>l1</c>, <c>l2</c>, <c>l1_l2</c>).</summary>
    public abstract string Name { get; }

    /// <summary>The penalty for weight <paramref name="x"/>, a scalar.</summary>
    public abstract KTensor Compute(KTensor x);

    /// <summary>Keras config (constructor arguments).</summary>
    public abstract IReadOnlyDictionary<string, object?> GetConfig();

    /// <summary>Looks up a regularizer by Keras name with Keras's default factor 0.01.</summary>
    public static implicit operator Regularizer(string name) => Regularizers.Get(name);

    /// <summary>Validates a penalty factor as Keras does: a finite number &gt;= 0.</summary>
    protected static double Factor(double value, string name) =>
        double.IsFinite(value) && value >= 0
            ? value
            : throw new ArgumentException($"Invalid value for {name}: expected a finite factor >= 0; got {value}.", name);
}

/// <summary><c>l1 * sum(|x|)</c>.</summary>
public sealed class L1Regularizer(double l1 = 0.01) : Regularizer
{
    /// <summary>The factor.</summary>
    public double L1 { get; } = Factor(l1, "l1");
    /// <inheritdoc />
    public override string Name => "l1";
    /// <inheritdoc />
    public override KTensor Compute(KTensor x) => Ops.Multiply(Ops.Sum(Ops.Abs(x)), L1);
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["l1"] = L1 };
}

/// <summary><c>l2 * sum(x^2)</c> (no factor 1/2, as in Keras).</summary>
public sealed class L2Regularizer(double l2 = 0.01) : Regularizer
{
    /// <summary>The factor.</summary>
    public double L2 { get; } = Factor(l2, "l2");
    /// <inheritdoc />
    public override string Name => "l2";
    /// <inheritdoc />
    public override KTensor Compute(KTensor x) => Ops.Multiply(Ops.Sum(Ops.Square(x)), L2);
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["l2"] = L2 };
}

/// <summary><c>l1 * sum(|x|) + l2 * sum(x^2)</c>.</summary>
public sealed class L1L2Regularizer(double l1 = 0.0, double l2 = 0.0) : Regularizer
{
    /// <summary>The L1 factor.</summary>
    public double L1 { get; } = Factor(l1, "l1");
    /// <summary>The L2 factor.</summary>
    public double L2 { get; } = Factor(l2, "l2");
    /// <inheritdoc />
    public override string Name => "l1_l2";
    /// <inheritdoc />
    public override KTensor Compute(KTensor x) => Ops.Multiply(Ops.Sum(Ops.Abs(x)), L1) + Ops.Multiply(Ops.Sum(Ops.Square(x)), L2);
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["l1"] = L1, ["l2"] = L2 };
}

/// <summary>Factories with Keras's names: <c>Regularizers.L2(0.01)</c>.</summary>
public static class Regularizers
{
    /// <summary><c>l1 * sum(|x|)</c>.</summary>
    public static Regularizer L1(double l1 = 0.01) => new L1Regularizer(l1);
    /// <summary><c>l2 * sum(x^2)</c>.</summary>
    public static Regularizer L2(double l2 = 0.01) => new L2Regularizer(l2);
    /// <summary>
    /// <c>l1 * sum(|x|) + l2 * sum(x^2)</c>. Both factors default to 0.0 as in Keras 3, where
    /// <c>keras.regularizers.l1_l2</c> is the <c>L1L2</c> class (<c>l1=0.0, l2=0.0</c>); the 0.01 defaults of
    /// tf.keras 2's <c>l1_l2</c> function apply only to the name lookup <c>"l1_l2"</c>.
    /// </summary>
    public static Regularizer L1L2(double l1 = 0.0, double l2 = 0.0) => new L1L2Regularizer(l1, l2);

    /// <summary>
    /// Looks up <c>l1</c>, <c>l2</c> or <c>l1_l2</c> with factor 0.01 (for <c>l1_l2</c> both factors 0.01, as
    /// Keras documents for the string identifier).
    /// </summary>
    public static Regularizer Get(string name) => name switch
    {
        "l1" => L1(),
        "l2" => L2(),
        "l1_l2" => L1L2(0.01, 0.01),
        _ => throw new ArgumentException($"Unknown regularizer '{name}'. Valid names: l1, l2, l1_l2.", nameof(name)),
    };
}
