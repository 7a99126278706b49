using System.Reflection;
using OnnxKeras.Layers;
using OnnxKeras.Saving;

namespace OnnxKeras;

/// <summary>
/// The one deserializer for every object a Keras config holds (Keras 3's <c>deserialize_keras_object</c>): layers and
/// models, activations, initializers, regularizers, optimizers, learning-rate schedules, losses and metrics. A value is
/// a built-in's string name (<c>"relu"</c>, <c>"he_normal"</c>) or Keras's object form
/// <c>{"module", "class_name", "config", "registered_name"}</c>. Names are resolved, in this order, through the
/// <see cref="CustomObjects"/> of the current load (by registered name, class name, or a function's name), the registry
/// of <see cref="Register(Type, string?, string?)"/> (Keras's <c>register_keras_serializable</c>: registered names
/// <c>package&gt;Name</c>), then the library's built-ins. A class is constructed with its public constructor from the
/// config's snake_case keys; a key the class does not take is refused as Keras refuses it ("Unrecognized keyword arguments
/// passed to Dense: {'bogus_key': 1}"), and values are checked by type (<see cref="InvalidDataException"/> naming the object
/// and key).
/// </summary>
public static class KerasObjects
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, object> ByRegisteredName = new(StringComparer.Ordinal);
    private static readonly Dictionary<(ObjectKind Kind, string Name), object> ByShortName = [];
    private static readonly Dictionary<object, string> RegisteredNames = [];

    [ThreadStatic]
    private static CustomObjects? current;

    /// <summary>The package <c>register_keras_serializable</c> uses when none is given: <c>Custom</c>.</summary>
    public const string DefaultPackage = "Custom";

    /// <summary>The kinds of objects a config holds, by name (<c>layer</c>, <c>activation</c>, <c>initializer</c>, ...).</summary>
    public static IReadOnlyList<string> Kinds => ObjectKind.All.Select(k => k.Name).ToList();

    /// <summary>The library's built-in classes of <paramref name="kind"/> (one of <see cref="Kinds"/>), e.g. every layer.</summary>
    /// <exception cref="ArgumentException">An unknown kind.</exception>
    public static IReadOnlyList<Type> BuiltInClasses(string kind) => Kind(kind).BuiltInClasses().ToList();

    /// <summary>The string names of <paramref name="kind"/>'s built-ins (<c>relu</c>, <c>glorot_uniform</c>,
    /// <c>mse</c>, ...); empty for kinds without string names (layers, schedules).</summary>
    /// <exception cref="ArgumentException">An unknown kind.</exception>
    public static IReadOnlyList<string> BuiltInNames(string kind) => Kind(kind).Names().Order(StringComparer.Ordinal).ToList();

    private static ObjectKind Kind(string name) =>
        ObjectKind.All.FirstOrDefault(k => k.Name == name) ?? throw new ArgumentException($"Unknown kind '{name}'; the kinds are {KindNames}.", nameof(name));

    internal static string KindNames => string.Join(", ", Kinds);

    internal static ObjectKind? KindOf(Type type) => ObjectKind.Of(type);

    /// <summary>Registers <typeparamref name="T"/> (see <see cref="Register(Type, string?, string?)"/>).</summary>
    public static void Register<T>(string? name = null, string? package = null) where T : class => Register(typeof(T), name, package);

    /// <summary>
    /// Registers a class of any kind (a layer or model, initializer, regularizer, loss, metric, optimizer, learning-rate
    /// schedule, ...) under <c>package&gt;name</c> (name default: its <see cref="RegisterSerializableAttribute"/> name or
    /// class name; package default: the attribute's or <see cref="DefaultPackage"/>), and under <c>name</c> for configs that
    /// give only a class name. Classes marked with <see cref="RegisterSerializableAttribute"/> are registered without this call.
    /// </summary>
    /// <exception cref="ArgumentException">The type is abstract or of no known kind, the name contains '&gt;', or the
    /// name is taken by another type.</exception>
    public static void Register(Type type, string? name = null, string? package = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (typeof(Layer).IsAssignableFrom(type))
        {
            LayerRegistry.Register(type, name, package);
            return;
        }
        var kind = ObjectKind.Of(type);
        if (kind is null || type.IsAbstract)
            throw new ArgumentException($"{type.FullName} cannot be registered: it is " +
                $"{(type.IsAbstract ? "abstract" : $"none of the kinds a config holds ({KindNames})")}.", nameof(type));
        var attr = type.GetCustomAttribute<RegisterSerializableAttribute>();
        Add(kind, type, name ?? attr?.Name ?? type.Name, package ?? attr?.Package ?? DefaultPackage);
    }

    /// <summary>
    /// Registers an activation under <c>package&gt;name</c> and its <see cref="ActivationFunction.Name"/>, so a config that
    /// names it (<c>"activation": "my_relu"</c>, as Keras writes a custom activation) loads without custom objects.
    /// </summary>
    /// <exception cref="ArgumentException">The name is a built-in activation's, contains '&gt;', or is taken by another activation.</exception>
    public static void Register(ActivationFunction activation, string? package = null)
    {
        ArgumentNullException.ThrowIfNull(activation);
        if (Activations.Names.Contains(activation.Name))
            throw new ArgumentException($"'{activation.Name}' is a built-in activation; register yours under another name.", nameof(activation));
        Add(ObjectKind.Of(typeof(ActivationFunction))!, activation, activation.Name, package ?? DefaultPackage);
    }

    private static void Add(ObjectKind kind, object value, string name, string package)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('>', StringComparison.Ordinal))
            throw new ArgumentException($"A registered name must be non-empty and cannot contain '>'; got '{name}'. Pass the package " +
                "separately.", nameof(name));
        string registered = $"{package}>{name}";
        lock (Gate)
        {
            if (ByRegisteredName.TryGetValue(registered, out var old) && !old.Equals(value))
                throw new ArgumentException($"The name '{registered}' is already registered for {Describe(old)}; choose another name for {Describe(value)}.");
            if (ByShortName.TryGetValue((kind, name), out var oldShort) && !oldShort.Equals(value))
                throw new ArgumentException($"The {kind.Name} name '{name}' is already registered for {Describe(oldShort)}; choose " +
                    $"another name for {Describe(value)}.");
            ByRegisteredName[registered] = value;
            ByShortName[(kind, name)] = value;
            RegisteredNames[value] = registered;
        }
    }

    private static string Describe(object o) => o is Type t ? t.FullName! : $"activation '{o}'";

    /// <summary>The registered name (<c>package&gt;name</c>) of a class or activation, or null when it is not registered.</summary>
    public static string? RegisteredName(object typeOrActivation)
    {
        ArgumentNullException.ThrowIfNull(typeOrActivation);
        if (typeOrActivation is Type t && typeof(Layer).IsAssignableFrom(t)) return LayerRegistry.RegisteredName(t);
        lock (Gate)
        {
            if (RegisteredNames.TryGetValue(typeOrActivation, out var n)) return n;
        }
        if (typeOrActivation is Type type && type.GetCustomAttribute<RegisterSerializableAttribute>() is not null && !type.IsAbstract)
        {
            Register(type);
            return RegisteredName(type);
        }
        return null;
    }

    /// <summary>Registers every class marked with <see cref="RegisterSerializableAttribute"/> in <paramref name="assembly"/>.</summary>
    internal static void ScanAssembly(Assembly assembly)
    {
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types.OfType<Type>().ToArray();
        }
        foreach (var t in types)
        {
            if (t.IsAbstract || typeof(Layer).IsAssignableFrom(t) || t.GetCustomAttribute<RegisterSerializableAttribute>() is null || ObjectKind.Of(t) is null)
                continue;
            Register(t);
        }
    }

    /// <summary>
    /// Rebuilds an object of type <typeparamref name="T"/> (or of its kind) from a config value: a built-in's name, a
    /// registered or custom name, or Keras's <c>{"class_name", "config", ...}</c> form. Null gives null.
    /// </summary>
    /// <example><code>
    /// var init = KerasObjects.Deserialize&lt;Initializer&gt;(
    ///     new Dictionary&lt;string, object?&gt; { ["class_name"] = "HeNormal", ["config"] = new Dictionary&lt;string, object?&gt;() });
    /// var act = KerasObjects.Deserialize&lt;ActivationFunction&gt;("my_relu", new CustomObjects { ["my_relu"] = myRelu });
    /// </code></example>
    /// <exception cref="ArgumentException">A name no custom object, registration or built-in resolves; the message says how to provide it.</exception>
    /// <exception cref="InvalidDataException">A key the class does not take, or a value of the wrong type or range.</exception>
    public static T? Deserialize<T>(object? config, CustomObjects? customObjects = null) where T : class
    {
        var kind = ObjectKind.Of(typeof(T)) ?? throw new ArgumentException($"{typeof(T).Name} is none of the kinds a config holds ({KindNames}).");
        using var scope = Scope(customObjects);
        var value = Deserialize(config, kind, $"{kind.Name}");
        return value is null or T ? (T?)value : throw new InvalidDataException($"The config describes a {value.GetType().Name}; expected a {typeof(T).Name}.");
    }

    /// <summary>
    /// Makes <paramref name="customObjects"/> visible to every deserialization on this thread until disposed (Keras's
    /// <c>custom_object_scope</c>); nested scopes see the outer entries too, the inner taking precedence.
    /// </summary>
    internal static IDisposable Scope(CustomObjects? customObjects)
    {
        var outer = current;
        if (customObjects is not null && customObjects.Count > 0)
            current = outer is null ? customObjects : new CustomObjects(outer.Where(kv => !customObjects.TryGetValue(kv.Key, out _)).Concat(customObjects));
        return new Restore(outer);
    }

    private sealed class Restore(CustomObjects? outer) : IDisposable
    {
        public void Dispose() => current = outer;
    }

    /// <summary>The value as an object of <paramref name="kind"/>; <paramref name="what"/> names where it stands (for messages).</summary>
    internal static object? Deserialize(object? value, ObjectKind kind, string what)
    {
        switch (value)
        {
            case null:
                return null;
            case var v when kind.BaseType.IsInstanceOfType(v):
                return v;
            case string name:
                return FromName(name, kind, what);
            case IDictionary<string, object?> d:
                return FromObject(d, kind, what);
            case System.Collections.IList { Count: 3 } dump when dump[0] is string && kind.BaseType == typeof(ActivationFunction):
                // Keras 2's Lambda writes a Python lambda as [bytecode, defaults, closure] (func_dump).
                throw new InvalidDataException($"Config value for {what} is a Python lambda (Keras 2's [bytecode, defaults, closure]), which " +
                    "OnnxKeras cannot run. Give the function a name in Python, define it in C# under that name, and register it " +
                    "(KerasObjects.Register) or pass it in customObjects.");
            default:
                throw new InvalidDataException($"Config value for {what} is {ConfigConstructor.Repr(value)}; expected the {kind.Name}'s " +
                    $"name or its {{\"class_name\", \"config\"}} object.");
        }
    }

    private static object FromName(string name, ObjectKind kind, string what)
    {
        if (Lookup(name, kind) is { } found) return Materialize(found, kind, null, name, what);
        if (kind.ByName is not null && kind.Names().Contains(name)) return kind.ByName(name);
        ScanLoadedAssemblies();
        if (Lookup(name, kind) is { } scanned) return Materialize(scanned, kind, null, name, what);
        if (kind.ByName is null) throw Unknown(kind, name, null);
        try
        {
            return kind.ByName(name);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{e.Message} {Hint(kind, name)}", e);
        }
    }

    /// <summary>A custom object (current scope) or registration for <paramref name="name"/> that is of <paramref name="kind"/>.</summary>
    private static object? Lookup(string? name, ObjectKind kind) => name is null ? null : Find(name, kind);

    /// <summary>Registers classes marked with [RegisterSerializable] in assemblies loaded since the last scan (only
    /// when a name is not found otherwise).</summary>
    private static void ScanLoadedAssemblies()
    {
        foreach (var asm in AppDomain.CurrentDomain.GetAssemblies()) LayerRegistry.ScanAssembly(asm);
    }

    private static object? Find(string name, ObjectKind kind)
    {
        if (current is { } custom && custom.TryGetValue(name, out var c) && Fits(c, kind)) return c;
        lock (Gate)
        {
            if (ByRegisteredName.TryGetValue(name, out var r) && Fits(r, kind)) return r;
            if (ByShortName.TryGetValue((kind, name), out var s)) return s;
        }
        return null;
    }

    /// <summary>The class given in the current custom objects for <paramref name="registeredName"/> or
    /// <paramref name="className"/>, if it is of <paramref name="kind"/>.</summary>
    internal static Type? LookupType(string? registeredName, string className, ObjectKind kind)
    {
        var custom = current;
        if (custom is null) return null;
        foreach (var n in new[] { registeredName, className })
        {
            if (n is not null && custom.TryGetValue(n, out var c) && c is Type t && kind.BaseType.IsAssignableFrom(t)) return t;
        }
        return null;
    }

    private static bool Fits(object o, ObjectKind kind) => o switch
    {
        Type t => kind.BaseType.IsAssignableFrom(t),
        ActivationFunction or Func<KTensor, KTensor> => kind.BaseType == typeof(ActivationFunction),
        Func<KTensor, KTensor, KTensor> => kind.BaseType == typeof(Metrics.Metric),
        _ => false,
    };

    private static object FromObject(IDictionary<string, object?> d, ObjectKind kind, string what)
    {
        if (kind.BaseType == typeof(Layer)) return ModelConfig.DeserializeLayer(d);
        string className = d.TryGetValue("class_name", out var cn) && cn is string s ? s
            : throw new InvalidDataException($"Config value for {what} is an object without a 'class_name' string; a serialized {kind.Name} needs one.");
        var inner = d.TryGetValue("config", out var cfg) ? cfg : null;
        string? registered = d.TryGetValue("registered_name", out var rn) ? rn as string : null;
        if (className == "__lambda__")
            throw new InvalidDataException($"Config value for {what} is a Python lambda (its bytecode), which OnnxKeras cannot run. Give the " +
                "function a name in Python, define it in C# under that name, and register it (KerasObjects.Register) or pass it in customObjects.");
        if (className == "function")
        {
            // Keras 3's form of a function: {"class_name": "function", "config": "my_relu", "registered_name": "pkg>my_relu" or "function"}.
            string fn = inner as string ?? throw new InvalidDataException($"Config value for {what} is a function without its name in 'config'.");
            if (fn == KerasTwo.RegisteredHardSigmoid && kind.BaseType == typeof(ActivationFunction)) return Activations.HardSigmoidKeras2;
            return Lookup(registered, kind) is { } byRegistered ? Materialize(byRegistered, kind, null, fn, what) : FromName(fn, kind, what);
        }
        var config = inner switch
        {
            null => new Dictionary<string, object?>(StringComparer.Ordinal),
            IDictionary<string, object?> c => c,
            _ => throw new InvalidDataException($"The config of {kind.Name} '{className}' must be an object; got {ConfigConstructor.Repr(inner)}."),
        };
        object? found = Lookup(registered, kind) ?? Lookup(className, kind) ?? kind.BuiltInClass(className);
        if (found is null)
        {
            ScanLoadedAssemblies();
            found = Lookup(registered, kind) ?? Lookup(className, kind) ?? throw Unknown(kind, className, registered);
        }
        return Materialize(found, kind, config, className, what);
    }

    private static object Materialize(object found, ObjectKind kind, IDictionary<string, object?>? config, string name, string what) => found switch
    {
        Type t => ConfigConstructor.Construct(t, config ?? new Dictionary<string, object?>(), kind, $"{kind.Name} {name}", name),
        ActivationFunction a => a,
        Func<KTensor, KTensor> f => new ActivationFunction(name, f),
        Func<KTensor, KTensor, KTensor> m => new Metrics.MeanMetricWrapper(name, m),
        _ => throw new InvalidOperationException($"Custom object for {what} is a {found.GetType().Name}."),
    };

    private static ArgumentException Unknown(ObjectKind kind, string name, string? registered) =>
        new($"Could not locate {kind.Name} " +
            $"'{name}'{(registered is null || registered == name ? "" : $" (registered name '{registered}')")}. " +
            $"{Hint(kind, registered ?? name)}");

    private static string Hint(ObjectKind kind, string name)
    {
        int sep = name.IndexOf('>', StringComparison.Ordinal);
        string package = sep > 0 ? name[..sep] : DefaultPackage, shortName = sep > 0 ? name[(sep + 1)..] : name;
        string register = kind.BaseType == typeof(ActivationFunction)
            ? $"KerasObjects.Register(new ActivationFunction(\"{shortName}\", ...), \"{package}\")"
            : $"mark its class with [RegisterSerializable(\"{shortName}\", \"{package}\")] or call " +
                $"KerasObjects.Register<YourClass>(\"{shortName}\", \"{package}\")";
        return $"If it is a custom {kind.Name}, pass it in customObjects (new CustomObjects {{ [\"{shortName}\"] = ... }}) or {register} before loading.";
    }
}
