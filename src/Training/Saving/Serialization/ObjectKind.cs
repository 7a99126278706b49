using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Optimizers;

namespace OnnxKeras.Saving;

/// <summary>
/// A Keras argument OnnxKeras does not implement, accepted in a config only at a value that means "off" (Keras's default),
/// so that loading never drops a setting silently: another value is refused, or, for settings that only change training
/// (<paramref name="TrainingOnly"/>: e.g. a <c>seed</c>), accepted with a warning on standard error.
/// </summary>
internal sealed record NeutralKey(object?[] Values, bool TrainingOnly = false)
{
    /// <summary>Whether <paramref name="value"/> is one of <see cref="Values"/> (numbers compare by value: 0 is 0.0).</summary>
    public bool Accepts(object? value) => Values.Any(v => v is null ? value is null
        : v is double d ? value is long or int or double && System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) == d
        : v.Equals(value));
}

/// <summary>
/// One kind of object a Keras config holds: its C# base type, the Keras module its built-ins live in, how a built-in is
/// found by its string name (<c>"relu"</c>, <c>"glorot_uniform"</c>; null when the kind has no string form), the keys
/// Keras writes that change nothing in OnnxKeras (accepted with any value), and the arguments OnnxKeras lacks, accepted
/// only at their neutral value (<see cref="NeutralKey"/>).
/// <see cref="KerasObjects"/> treats every kind the same way; a new kind is one row in <see cref="All"/>.
/// </summary>
internal sealed record ObjectKind(
    string Name,
    Type BaseType,
    string Module,
    Func<string, object>? ByName,
    Func<IEnumerable<string>> Names,
    IReadOnlySet<string> IgnoredKeys,
    IReadOnlyDictionary<string, NeutralKey> NeutralKeys)
{
    private static readonly HashSet<string> None = [];
    private static readonly Dictionary<string, NeutralKey> NoNeutral = [];
    private static readonly NeutralKey Null = new([null]);

    // Keras writes these for every layer: dtype (checked by Layer.CheckDtype: float32 only) and activity_regularizer (read by
    // Layer.ApplyBaseConfig) are base settings; shapes come from InputLayer/build_config. The
    // recurrent layers' implementation and unroll, and Keras 2's Embedding input_length, change how Keras computes, not what;
    // Keras 2's Lambda module and output_shape_module only say where Python finds the function.
    private static readonly HashSet<string> LayerIgnored =
        [
            "dtype", "autocast", "batch_input_shape", "batch_shape", "input_dim", "build_input_shape", "implementation", "unroll", "input_length",
            "activity_regularizer", "module", "output_shape_module",
        ];

    // Keras arguments OnnxKeras does not implement (a layer whose constructor takes one accepts it as usual).
    private static readonly Dictionary<string, NeutralKey> LayerNeutral = new(StringComparer.Ordinal)
    {
        ["kernel_constraint"] = Null,
        ["bias_constraint"] = Null,
        ["recurrent_constraint"] = Null,
        ["depthwise_constraint"] = Null,
        ["pointwise_constraint"] = Null,
        ["embeddings_constraint"] = Null,
        ["beta_constraint"] = Null,
        ["gamma_constraint"] = Null,
        ["alpha_constraint"] = Null,
        ["lora_rank"] = Null,
        ["lora_alpha"] = Null,
        ["quantization_config"] = Null,
        ["noise_shape"] = Null,
        ["data_format"] = new(["channels_last"]),
        ["stateful"] = new([false]),
        ["time_major"] = new([false]),
        ["dropout"] = new([0.0], TrainingOnly: true),
        ["recurrent_dropout"] = new([0.0], TrainingOnly: true),
        ["seed"] = new([null], TrainingOnly: true),
        // Keras 2's Lambda: a function given by name ("function_type": "function"), an output shape as a value ("raw").
        ["function_type"] = new(["function"]),
        ["output_shape_type"] = new(["raw"]),
    };

    // Keras's default reduction (Keras 2: "auto") is the one OnnxKeras's losses apply.
    private static readonly Dictionary<string, NeutralKey> LossNeutral =
        new(StringComparer.Ordinal) { ["reduction"] = new(["sum_over_batch_size", "auto", null]) };

    private static readonly HashSet<string> OptimizerIgnored = ["name", "use_ema", "ema_momentum", "jit_compile", "is_legacy_optimizer", "decay"];
    private static readonly Dictionary<string, NeutralKey> OptimizerNeutral = new(StringComparer.Ordinal)
    {
        ["ema_overwrite_frequency"] = Null,
        ["loss_scale_factor"] = Null,
        ["gradient_accumulation_steps"] = Null,
    };

    // OptimizerRegistry's names are its classes' names in lower case (it ignores case).
    private static IEnumerable<string> OptimizerNames =>
        typeof(Optimizer).Assembly.GetExportedTypes().Where(t => !t.IsAbstract && typeof(Optimizer).IsAssignableFrom(t)).Select(t => t.Name.ToLowerInvariant());

    /// <summary>Every kind, most specific first where base types nest (a Model is a Layer).</summary>
    public static readonly IReadOnlyList<ObjectKind> All =
    [
        new("layer", typeof(OnnxKeras.Layers.Layer), "keras.layers", null, () => [], LayerIgnored, LayerNeutral),
        new("activation", typeof(ActivationFunction), "keras.activations", Activations.Get, () => Activations.Names, None, NoNeutral),
        new("initializer", typeof(Initializer), "keras.initializers", Initializers.Get, () => Initializers.Names, new HashSet<string> { "dtype" }, NoNeutral),
        new("constraint", typeof(Constraint), "keras.constraints", Constraints.Get, () => ["max_norm", "min_max_norm", "non_neg", "unit_norm"],
            None, NoNeutral),
        new("regularizer", typeof(Regularizer), "keras.regularizers", Regularizers.Get, () => ["l1", "l2", "l1_l2"], None, NoNeutral),
        new("optimizer", typeof(Optimizer), "keras.optimizers", OptimizerRegistry.Get, () => OptimizerNames, OptimizerIgnored, OptimizerNeutral),
        new("learning-rate schedule", typeof(LearningRateSchedule), "keras.optimizers.schedules", null, () => [], new HashSet<string> { "name" }, NoNeutral),
        new("loss", typeof(Loss), "keras.losses", LossRegistry.Get, () => LossRegistry.Names, new HashSet<string> { "name", "dtype", "fn" }, LossNeutral),
        new("metric", typeof(Metric), "keras.metrics", MetricRegistry.Get, () => MetricRegistry.Names, new HashSet<string> { "dtype" }, NoNeutral),
    ];

    /// <summary>Layers and models.</summary>
    public static ObjectKind Layer => All[0];

    /// <summary>The kind of objects of <paramref name="type"/>, or of the values a parameter of that type takes
    /// (<see cref="LearningRate"/>: schedules).</summary>
    public static ObjectKind? Of(Type type) =>
        All.FirstOrDefault(k => k.BaseType.IsAssignableFrom(type)) ?? All.FirstOrDefault(k => type != typeof(object) && type.IsAssignableFrom(k.BaseType));

    /// <summary>
    /// The library's public class of this kind named <paramref name="className"/> (Keras's class name): the type of that
    /// name, or with the base type's name appended (<c>TruncatedNormal</c> is <see cref="TruncatedNormalInitializer"/>,
    /// <c>L1L2</c> is <see cref="L1L2Regularizer"/>); null when there is none.
    /// </summary>
    public Type? BuiltInClass(string className)
    {
        if (ReferenceEquals(this, Layer)) return null; // layers resolve through LayerRegistry
        lock (builtIns)
        {
            if (builtIns.Count == 0)
            {
                foreach (var t in BuiltInClasses())
                {
                    builtIns.TryAdd(t.Name, t);
                    if (t.Name.EndsWith(BaseType.Name, StringComparison.Ordinal) && t.Name.Length > BaseType.Name.Length)
                        builtIns.TryAdd(t.Name[..^BaseType.Name.Length], t);
                }
            }
            return builtIns.GetValueOrDefault(className);
        }
    }

    /// <summary>The library's public, non-abstract classes of this kind.</summary>
    public IEnumerable<Type> BuiltInClasses() =>
        typeof(ObjectKind).Assembly.GetExportedTypes().Where(t => !t.IsAbstract && BaseType.IsAssignableFrom(t)).OrderBy(t => t.Name, StringComparer.Ordinal);

    private readonly Dictionary<string, Type> builtIns = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public bool Equals(ObjectKind? other) => ReferenceEquals(this, other);

    /// <inheritdoc />
    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);
}
