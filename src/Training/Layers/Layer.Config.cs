using System.Reflection;

namespace OnnxKeras.Layers;

// Base config entries that are not constructor arguments: activity_regularizer and dtype.
public abstract partial class Layer
{
    /// <summary>The dtype policy names a layer config may carry: OnnxKeras computes and stores weights in float32 only.</summary>
    private static readonly string[] SupportedDtypes = ["float32"];

    /// <summary>
    /// Reads the base entries of a Keras layer config that are not constructor arguments (after <c>name</c> and
    /// <c>trainable</c>): <c>activity_regularizer</c> (a name or Keras's <c>{class_name, config}</c> form).
    /// </summary>
    internal void ApplyBaseConfig(LayerConfig config, string what)
    {
        if (config.TryGetValue("activity_regularizer", out var ar) && ar is not null)
            activityRegularizer = (Regularizer?)ConfigValues.Convert(ar, typeof(Regularizer), $"{what}, key 'activity_regularizer'");
    }

    /// <summary>
    /// Checks a layer config's <c>dtype</c>: absent, null, <c>"float32"</c> or Keras 3's policy form
    /// <c>{"class_name": "DTypePolicy", "config": {"name": "float32"}}</c> (tf.keras 2's <c>Policy</c> too) are accepted
    /// (and written back as <c>"float32"</c>); any other dtype is refused rather than silently computed in float32.
    /// A layer type that computes in other dtypes names them with <see cref="ConfigDtypesAttribute"/> (Hashing: Keras
    /// writes int64 for its integer bins).
    /// </summary>
    /// <exception cref="NotSupportedException">Another dtype or policy (float16, bfloat16, mixed_float16, float64, int32, ...), naming the layer.</exception>
    internal static void CheckDtype(IDictionary<string, object?> config, string what, Type? type = null) =>
        DtypeFromConfig(config, what, type?.GetCustomAttribute<ConfigDtypesAttribute>()?.Dtypes ?? SupportedDtypes);

    /// <summary>The config's <c>dtype</c> (a name or a dtype policy) when it is one of <paramref name="allowed"/> (the first when absent).</summary>
    /// <exception cref="NotSupportedException">Any other dtype, naming <paramref name="what"/> and the dtype.</exception>
    internal static string DtypeFromConfig(IDictionary<string, object?> config, string what, string[] allowed)
    {
        if (!config.TryGetValue("dtype", out var dtype) || dtype is null) return allowed[0];
        string? name = dtype switch
        {
            string s => s,
            IDictionary<string, object?> policy when policy.TryGetValue("class_name", out var cn) && cn is "DTypePolicy" or "FloatDTypePolicy" or "Policy"
                && policy.TryGetValue("config", out var pc) && pc is IDictionary<string, object?> pcfg && pcfg.TryGetValue("name", out var n) => n as string,
            _ => null,
        };
        if (name is not null && allowed.Contains(name)) return name;
        string shown = name is not null ? $"'{name}'" : $"the value {Saving.ConfigJson.Write(dtype)}";
        throw new NotSupportedException($"{char.ToUpperInvariant(what[0])}{what[1..]} has dtype {shown}; OnnxKeras supports only "
            + $"{string.Join(", ", allowed)} there (as a name or a DTypePolicy), so it refuses the config rather than compute in another precision.");
    }
}

/// <summary>
/// The dtypes a layer type's config may name (the first is the default), for a layer that does not compute in float32
/// alone; read by <see cref="Layer.CheckDtype"/> before the layer is constructed.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class ConfigDtypesAttribute(params string[] dtypes) : Attribute
{
    /// <summary>The accepted dtype names.</summary>
    public string[] Dtypes { get; } = dtypes;
}
