using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Optimizers;

namespace OnnxKeras.Saving;

/// <summary>
/// One kind of object a Keras config holds: its C# base type, the Keras module its built-ins live in, how a built-in is
/// found by its string name (<c>"relu"</c>, <c>"glorot_uniform"</c>; null when the kind has no string form), the keys
/// Keras writes that OnnxKeras does not model but accepts, and which of those it accepts only at their neutral value.
/// <see cref="KerasObjects"/> treats every kind the same way; a new kind is one row in <see cref="All"/>.
/// </summary>
internal sealed record ObjectKind(
    string Name,
    Type BaseType,
    string Module,
    Func<string, object>? ByName,
    IReadOnlySet<string> IgnoredKeys,
    IReadOnlySet<string> NullOnlyKeys)
{
    private static readonly HashSet<string> None = [];

    // Keras writes these for every layer; OnnxKeras computes in float32 and takes shapes from InputLayer/build_config.
    private static readonly HashSet<string> LayerIgnored = ["dtype", "autocast", "batch_input_shape", "batch_shape", "input_dim", "build_input_shape"];

    // Keras arguments OnnxKeras does not implement: accepted when null (Keras's default), refused otherwise, so that loading
    // never drops a setting silently. (A layer whose constructor takes one of them accepts it as usual.)
    private static readonly HashSet<string> LayerNullOnly =
    [
        "kernel_constraint", "bias_constraint", "recurrent_constraint", "depthwise_constraint", "pointwise_constraint",
        "embeddings_constraint", "beta_constraint", "gamma_constraint", "alpha_constraint", "activity_regularizer",
        "lora_rank", "lora_alpha", "quantization_config",
    ];

    private static readonly HashSet<string> OptimizerIgnored = ["name", "use_ema", "ema_momentum", "jit_compile", "is_legacy_optimizer", "decay"];
    private static readonly HashSet<string> OptimizerNullOnly = ["ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps"];

    /// <summary>Every kind, most specific first where base types nest (a Model is a Layer).</summary>
    public static readonly IReadOnlyList<ObjectKind> All =
    [
        new("layer", typeof(OnnxKeras.Layers.Layer), "keras.layers", null, LayerIgnored, LayerNullOnly),
        new("activation", typeof(ActivationFunction), "keras.activations", Activations.Get, None, None),
        new("initializer", typeof(Initializer), "keras.initializers", Initializers.Get, new HashSet<string> { "dtype" }, None),
        new("regularizer", typeof(Regularizer), "keras.regularizers", Regularizers.Get, None, None),
        new("optimizer", typeof(Optimizer), "keras.optimizers", OptimizerRegistry.Get, OptimizerIgnored, OptimizerNullOnly),
        new("learning-rate schedule", typeof(LearningRateSchedule), "keras.optimizers.schedules", null, new HashSet<string> { "name" }, None),
        new("loss", typeof(Loss), "keras.losses", LossRegistry.Get, new HashSet<string> { "name", "dtype" }, None),
        new("metric", typeof(Metric), "keras.metrics", MetricRegistry.Get, new HashSet<string> { "dtype" }, None),
    ];

    /// <summary>Layers and models.</summary>
    public static ObjectKind Layer => All[0];

    /// <summary>The kind of objects of <paramref name="type"/>, or of the values a parameter of that type takes (<see cref="LearningRate"/>: schedules).</summary>
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
                foreach (var t in typeof(ObjectKind).Assembly.GetExportedTypes().Where(t => !t.IsAbstract && BaseType.IsAssignableFrom(t)))
                {
                    builtIns.TryAdd(t.Name, t);
                    if (t.Name.EndsWith(BaseType.Name, StringComparison.Ordinal) && t.Name.Length > BaseType.Name.Length) builtIns.TryAdd(t.Name[..^BaseType.Name.Length], t);
                }
            }
            return builtIns.GetValueOrDefault(className);
        }
    }

    private readonly Dictionary<string, Type> builtIns = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public bool Equals(ObjectKind? other) => ReferenceEquals(this, other);

    /// <inheritdoc />
    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);
}
