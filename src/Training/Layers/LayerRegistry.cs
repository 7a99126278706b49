using System.Reflection;

namespace OnnxKeras.Layers;

/// <summary>
/// Registers a custom class under a name for deserialization (Keras's <c>register_keras_serializable</c>): a layer or model,
/// or an initializer, regularizer, loss, metric, optimizer or learning-rate schedule (<see cref="KerasObjects"/>).
/// Built-in layers are registered under their class names.
/// </summary>
/// <example><code>[RegisterSerializable("MyLayer")] public sealed class MyLayer(int outputDim) : Layer { ... }</code></example>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RegisterSerializableAttribute(string name, string package = "Custom") : Attribute
{
    /// <summary>The registered class name.</summary>
    public string Name { get; } = name;

    /// <summary>The package prefix (Keras writes <c>package&gt;name</c> as the registered name).</summary>
    public string Package { get; } = package;
}

/// <summary>
/// Maps Keras class names to layer types and rebuilds layers from their configs (<see cref="FromConfig(string, LayerConfig)"/>).
/// A layer is rebuilt by calling its public constructor with the config's snake_case keys matched to the constructor's
/// parameter names (<c>use_bias</c> to <c>useBias</c>), converting names of activations, initializers and regularizers.
/// </summary>
public static class LayerRegistry
{
    private static readonly Dictionary<string, Type> Types = new(StringComparer.Ordinal);
    private static readonly Dictionary<Type, string> RegisteredNames = [];
    private static readonly HashSet<Assembly> Scanned = [];

    /// <summary>The package Keras's <c>register_keras_serializable</c> uses when none is given.</summary>
    public const string DefaultPackage = "Custom";

    static LayerRegistry()
    {
        ScanAssembly(typeof(Layer).Assembly);
    }

    /// <summary>
    /// Registers <typeparamref name="T"/> (a layer or a subclassed model) under <paramref name="name"/> (default: its
    /// attribute's name or class name) and the registered name <c>package&gt;name</c> (package default: the attribute's or
    /// <see cref="DefaultPackage"/>), which files written by <c>Save</c> record so that <c>LoadModel</c> can rebuild it.
    /// </summary>
    public static void Register<T>(string? name = null, string? package = null) where T : Layer => Register(typeof(T), name, package);

    /// <summary>Registers a layer or model type (see <see cref="Register{T}(string?, string?)"/>).</summary>
    public static void Register(Type type, string? name = null, string? package = null)
    {
        if (!typeof(Layer).IsAssignableFrom(type)) throw new ArgumentException($"{type.Name} is not a Layer.");
        if (name is not null && name.Contains('>', StringComparison.Ordinal))
            throw new ArgumentException($"A registered class name cannot contain '>'; got '{name}'. Pass the package separately.");
        lock (Types)
        {
            var attr = type.GetCustomAttribute<RegisterSerializableAttribute>();
            string key = name ?? attr?.Name ?? type.Name;
            // Built-in layers are Keras's own classes (module keras.layers, no registered name); user classes get one.
            bool builtIn = type.Assembly == typeof(Layer).Assembly && attr is null && package is null;
            string? registered = builtIn ? null : $"{package ?? attr?.Package ?? DefaultPackage}>{key}";
            foreach (var k in registered is null ? [key] : new[] { key, registered })
            {
                if (Types.TryGetValue(k, out var existing) && existing != type)
                    throw new ArgumentException($"The name '{k}' is already registered for {existing.FullName}; choose another name for {type.FullName}.");
            }
            Types[key] = type;
            if (registered is not null)
            {
                Types[registered] = type;
                RegisteredNames[type] = registered;
            }
        }
    }

    /// <summary>Registers every class with <see cref="RegisterSerializableAttribute"/> in <paramref name="assembly"/>
    /// (and, for this library, every public layer).</summary>
    public static void ScanAssembly(Assembly assembly)
    {
        lock (Types)
        {
            if (!Scanned.Add(assembly)) return;
            KerasObjects.ScanAssembly(assembly); // the other kinds (initializers, losses, ...) marked with the attribute
            foreach (var t in assembly.GetTypes())
            {
                if (t.IsAbstract || !typeof(Layer).IsAssignableFrom(t)) continue;
                if (t.GetCustomAttribute<RegisterSerializableAttribute>() is not null || (assembly == typeof(Layer).Assembly && t.IsPublic)) Register(t);
            }
        }
    }

    /// <summary>
    /// The registered name (<c>package&gt;name</c>) of <paramref name="type"/>, registering it first when it carries
    /// <see cref="RegisterSerializableAttribute"/>; null for built-in layers and for classes that are not registered.
    /// </summary>
    public static string? RegisteredName(Type type)
    {
        lock (Types)
        {
            if (RegisteredNames.TryGetValue(type, out var n)) return n;
            if (type.GetCustomAttribute<RegisterSerializableAttribute>() is null) return null;
            Register(type);
            return RegisteredNames.GetValueOrDefault(type);
        }
    }

    /// <summary>The type registered under <paramref name="className"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message says how to register a custom class.</exception>
    public static Type Resolve(string className) => Resolve(className, null);

    /// <summary>
    /// The type given for <paramref name="registeredName"/> or <paramref name="className"/> in the custom objects of the
    /// current load (<see cref="CustomObjects"/>), else the type registered under <paramref name="registeredName"/>
    /// (<c>package&gt;name</c>, as Keras writes it) or, failing that, under <paramref name="className"/>; classes
    /// marked with <see cref="RegisterSerializableAttribute"/> in loaded
    /// assemblies are found without an explicit <see cref="Register{T}(string?, string?)"/> call.
    /// </summary>
    /// <exception cref="ArgumentException">Neither name is registered; the message says how to register the class.</exception>
    public static Type Resolve(string className, string? registeredName)
    {
        if (KerasObjects.LookupType(registeredName, className, Saving.ObjectKind.Layer) is { } custom) return custom;
        Type? Find()
        {
            lock (Types)
            {
                if (registeredName is not null && Types.TryGetValue(registeredName, out var r)) return r;
                return Types.TryGetValue(className, out var t) ? t : null;
            }
        }
        if (Find() is { } found) return found;
        foreach (var asm in AppDomain.CurrentDomain.GetAssemblies()) ScanAssembly(asm);
        if (Find() is { } scanned) return scanned;
        int sep = registeredName?.IndexOf('>', StringComparison.Ordinal) ?? -1;
        if (sep > 0)
        {
            string package = registeredName![..sep], name = registeredName[(sep + 1)..];
            throw new ArgumentException($"Unknown class '{className}' (registered name '{registeredName}'). Define it in C# and mark it " +
                $"with [RegisterSerializable(\"{name}\", \"{package}\")] or call LayerRegistry.Register<YourClass>(\"{name}\", " +
                $"\"{package}\") before loading, or pass it in customObjects (new CustomObjects {{ [\"{name}\"] = typeof(YourClass) }}).");
        }
        throw new ArgumentException($"Unknown layer class '{className}'. If it is a custom layer or subclassed model, mark its C# class " +
            $"with [RegisterSerializable(\"{className}\")] or call LayerRegistry.Register<YourClass>(\"{className}\") before loading, or " +
            $"pass it in customObjects (new CustomObjects {{ [\"{className}\"] = typeof(YourClass) }}).");
    }

    /// <summary>Rebuilds a layer of the registered class <paramref name="className"/> from its config.</summary>
    public static Layer FromConfig(string className, LayerConfig config) => FromConfig(Resolve(className), config);

    /// <summary>
    /// A layer as Keras's <c>serialize_keras_object</c> writes it inside another config (e.g. Bidirectional's <c>layer</c>):
    /// <c>{"module", "class_name", "config", "registered_name"}</c>. <see cref="Deserialize"/> rebuilds it.
    /// </summary>
    public static Dictionary<string, object?> Serialize(Layer layer)
    {
        // A Sequential or functional model nested in another model is written with its layers, as Keras writes it.
        if (layer is Models.Model model && (model is Models.Sequential || (model.Graph is not null && model.GetType() == typeof(Models.Model))))
            return Saving.ModelConfig.Serialize(model);
        var registered = RegisteredName(layer.GetType());
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["module"] = registered is null ? "keras.layers" : null,
            ["class_name"] = registered is null ? layer.GetType().Name : registered[(registered.IndexOf('>', StringComparison.Ordinal) + 1)..],
            ["config"] = Saving.KerasTwo.ForSaving(layer.GetConfig()),
            ["registered_name"] = registered,
        };
    }

    /// <summary>
    /// Rebuilds a layer (or a nested model) from its serialized form (<see cref="Serialize"/>; a <c>class_name</c> and a
    /// <c>config</c>) through <see cref="KerasObjects"/>, so custom objects of the current load apply.
    /// </summary>
    public static Layer Deserialize(IDictionary<string, object?> serialized) => Saving.ModelConfig.DeserializeLayer(serialized);

    /// <summary>
    /// Rebuilds a layer of <paramref name="type"/> from its config (Keras's <c>from_config</c>) through the one config
    /// constructor (<see cref="KerasObjects"/>): keys the layer does not take are refused as Keras refuses them
    /// (<see cref="InvalidDataException"/>: "Unrecognized keyword arguments passed to Dense (layer 'd'): {'bogus_key': 1}"),
    /// values are checked by type, and <c>name</c> and <c>trainable</c> are set.
    /// </summary>
    public static Layer FromConfig(Type type, LayerConfig config) =>
        (Layer)Saving.ConfigConstructor.Construct(type, config, Saving.ObjectKind.Layer, type.Name);
}
