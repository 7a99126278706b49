using System.Collections;

namespace OnnxKeras;

/// <summary>
/// Objects a config may name that are not built into OnnxKeras, for one load (Keras's <c>custom_objects</c>): passed to
/// <c>Model.FromJson</c>, <c>Model.FromYaml</c>, <c>Model.LoadModel</c> and <see cref="KerasObjects.Deserialize"/>. Each
/// entry maps a name as the config writes it (a class name such as <c>MyLayer</c>, a registered name such as
/// <c>my_package&gt;MyLayer</c>, or an activation's name such as <c>my_relu</c>) to:
/// <list type="bullet">
/// <item>a <see cref="Type"/>: a class of any kind the deserializer knows (a layer or model, initializer, regularizer,
/// loss, metric, optimizer, learning-rate schedule, ...), built from the config with its public constructor;</item>
/// <item>an <see cref="ActivationFunction"/> or a <c>Func&lt;KTensor, KTensor&gt;</c>: an activation;</item>
/// <item>a <c>Func&lt;KTensor, KTensor, KTensor&gt;</c> (labels, predictions to per-sample values): a metric function,
/// which becomes a <see cref="Metrics.MeanMetricWrapper"/> under its name.</item>
/// </list>
/// Entries here take precedence over registered and built-in objects of the same name.
/// </summary>
/// <example><code>
/// var custom = new CustomObjects
/// {
///     ["my_relu"] = new ActivationFunction("my_relu", x => Ops.Relu(x)),
///     ["MyLayer"] = typeof(MyLayer),
/// };
/// var model = Model.FromJson(json, custom);
/// </code></example>
public sealed class CustomObjects : IEnumerable<KeyValuePair<string, object>>
{
    private readonly Dictionary<string, object> entries = new(StringComparer.Ordinal);

    /// <summary>An empty set.</summary>
    public CustomObjects() { }

    /// <summary>The entries of <paramref name="objects"/> (each checked as <see cref="Add"/> does).</summary>
    public CustomObjects(IEnumerable<KeyValuePair<string, object>> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        foreach (var (k, v) in objects) Add(k, v);
    }

    /// <summary>The object under <paramref name="name"/>; setting replaces it (the value is checked as <see cref="Add"/> does).</summary>
    /// <exception cref="KeyNotFoundException">Getting a name that is not present.</exception>
    public object this[string name]
    {
        get => entries[name];
        set => entries[CheckName(name)] = Check(name, value);
    }

    /// <summary>How many entries there are.</summary>
    public int Count => entries.Count;

    /// <summary>Adds <paramref name="value"/> under <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty or already present, or the value is neither a class type nor an activation.</exception>
    public void Add(string name, object value)
    {
        CheckName(name);
        if (entries.ContainsKey(name)) throw new ArgumentException($"Custom object '{name}' is given twice.", nameof(name));
        entries[name] = Check(name, value);
    }

    /// <summary>The object under <paramref name="name"/>, if any.</summary>
    public bool TryGetValue(string name, out object value) => entries.TryGetValue(name, out value!);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static string CheckName(string name) =>
        string.IsNullOrEmpty(name) ? throw new ArgumentException("A custom object needs a non-empty name.", nameof(name)) : name;

    private static object Check(string name, object value) => value switch
    {
        null => throw new ArgumentNullException(nameof(value), $"Custom object '{name}' is null."),
        Type t when t.IsAbstract || t.IsInterface => throw new ArgumentException($"Custom object '{name}' is {t.FullName}, which is " +
            "abstract: give a class the config can construct.", nameof(value)),
        Type t when KerasObjects.KindOf(t) is null => throw new ArgumentException($"Custom object '{name}' is {t.FullName}, which is " +
            $"none of the kinds a config holds ({KerasObjects.KindNames}).", nameof(value)),
        Type or ActivationFunction or Func<KTensor, KTensor> or Func<KTensor, KTensor, KTensor> => value,
        _ => throw new ArgumentException($"Custom object '{name}' is a {value.GetType().Name}; give a Type (a layer, initializer, loss, " +
            "... class), an ActivationFunction or Func<KTensor, KTensor> (an activation), or a Func<KTensor, KTensor, KTensor> (a metric " +
            "function).", nameof(value)),
    };
}
