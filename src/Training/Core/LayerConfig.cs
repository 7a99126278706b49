namespace OnnxKeras;

/// <summary>
/// A layer's Keras config: the constructor arguments under Keras's snake_case keys
/// (<c>units</c>, <c>use_bias</c>, ...). Serialization writes it as Keras's JSON <c>config</c> object.
/// </summary>
public sealed class LayerConfig : Dictionary<string, object?>
{
    /// <summary>An empty config.</summary>
    public LayerConfig() : base(StringComparer.Ordinal) { }

    /// <summary>Returns this config with <paramref name="key"/> set (fluent).</summary>
    public LayerConfig With(string key, object? value)
    {
        this[key] = value;
        return this;
    }

    /// <summary>Reads a value, converting numbers; <paramref name="fallback"/> when absent.</summary>
    public T Get<T>(string key, T fallback)
    {
        if (!TryGetValue(key, out var v) || v is null) return fallback;
        if (v is T t) return t;
        return (T)Convert.ChangeType(v, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
