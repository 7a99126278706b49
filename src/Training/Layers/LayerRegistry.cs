using System.Reflection;

namespace OnnxKeras.Layers;

/// <summary>
/// Registers a custom layer or model class under a name for deserialization (Keras's
/// <c>register_keras_serializable</c>). Built-in layers are registered under their class names.
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
        if (name is not null && name.Contains('>', StringComparison.Ordinal)) throw new ArgumentException($"A registered class name cannot contain '>'; got '{name}'. Pass the package separately.");
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

    /// <summary>Registers every class with <see cref="RegisterSerializableAttribute"/> in <paramref name="assembly"/> (and, for this library, every public layer).</summary>
    public static void ScanAssembly(Assembly assembly)
    {
        lock (Types)
        {
            if (!Scanned.Add(assembly)) return;
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
    /// The type registered under <paramref name="registeredName"/> (<c>package&gt;name</c>, as Keras writes it) or, failing
    /// that, under <paramref name="className"/>; classes marked with <see cref="RegisterSerializableAttribute"/> in loaded
    /// assemblies are found without an explicit <see cref="Register{T}(string?, string?)"/> call.
    /// </summary>
    /// <exception cref="ArgumentException">Neither name is registered; the message says how to register the class.</exception>
    public static Type Resolve(string className, string? registeredName)
    {
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
            throw new ArgumentException($"Unknown class '{className}' (registered name '{registeredName}'). Define it in C# and mark it with [RegisterSerializable(\"{name}\", \"{package}\")] or call LayerRegistry.Register<YourClass>(\"{name}\", \"{package}\") before loading.");
        }
        throw new ArgumentException($"Unknown layer class '{className}'. If it is a custom layer or subclassed model, mark its C# class with [RegisterSerializable(\"{className}\")] or call LayerRegistry.Register<YourClass>(\"{className}\") before loading.");
    }

    /// <summary>Rebuilds a layer of the registered class <paramref name="className"/> from its config.</summary>
    public static Layer FromConfig(string className, LayerConfig config) => FromConfig(Resolve(className), config);

    /// <summary>
    /// A layer as Keras's <c>serialize_keras_object</c> writes it inside another config (e.g. Bidirectional's <c>layer</c>):
    /// <c>{"module", "class_name", "config", "registered_name"}</c>. <see cref="Deserialize"/> rebuilds it.
    /// </summary>
    public static Dictionary<string, object?> Serialize(Layer layer)
    {
        var registered = RegisteredName(layer.GetType());
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["module"] = registered is null ? "keras.layers" : null,
            ["class_name"] = registered is null ? layer.GetType().Name : registered[(registered.IndexOf('>', StringComparison.Ordinal) + 1)..],
            ["config"] = Saving.KerasTwo.ForSaving(layer.GetConfig()),
            ["registered_name"] = registered,
        };
    }

    /// <summary>Rebuilds a layer from its serialized form (<see cref="Serialize"/>; a <c>class_name</c> and a <c>config</c>).</summary>
    public static Layer Deserialize(IDictionary<string, object?> serialized)
    {
        if (!serialized.TryGetValue("class_name", out var cn) || cn is not string className)
            throw new ArgumentException("A serialized layer needs a 'class_name' string.");
        var config = serialized.TryGetValue("config", out var c) ? c switch
        {
            LayerConfig lc => lc,
            IDictionary<string, object?> d => d.Aggregate(new LayerConfig(), (acc, kv) => acc.With(kv.Key, kv.Value)),
            null => new LayerConfig(),
            _ => throw new ArgumentException($"The config of serialized layer '{className}' must be an object; got {c.GetType().Name}."),
        } : new LayerConfig();
        string? registered = serialized.TryGetValue("registered_name", out var rn) ? rn as string : null;
        return FromConfig(Resolve(className, registered), config);
    }

    /// <summary>Rebuilds a layer of <paramref name="type"/> from its config (Keras's <c>from_config</c>).</summary>
    public static Layer FromConfig(Type type, LayerConfig config)
    {
        var ctors = type.GetConstructors().OrderByDescending(c => c.GetParameters().Count(p => config.ContainsKey(Layer.SnakeCase(p.Name!)))).ToList();
        if (ctors.Count == 0) throw new ArgumentException($"{type.Name} has no public constructor, so it cannot be rebuilt from a config.");
        // Overloads that match equally well (Dot(int axes) / Dot(int[] axes)) are tried in turn until the values convert.
        ConstructorInfo ctor = ctors[0];
        object?[]? args = null;
        Exception? firstError = null;
        string layerName = config.TryGetValue("name", out var n) && n is string ln ? $"layer '{ln}' ({type.Name})" : type.Name;
        Layer.CheckDtype(config, layerName);
        foreach (var candidate in ctors)
        {
            try
            {
                args = candidate.GetParameters().Select(p =>
                {
                    string key = Layer.SnakeCase(p.Name!);
                    if (config.TryGetValue(key, out var value)) return ConfigValues.Convert(value, p.ParameterType, $"{layerName}, key '{key}'");
                    if (p.HasDefaultValue) return p.DefaultValue;
                    throw new ArgumentException($"Config for {type.Name} lacks '{key}', which its constructor needs.");
                }).ToArray();
                ctor = candidate;
                break;
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException)
            {
                firstError ??= e;
            }
        }
        if (args is null) throw firstError!;
        Layer layer;
        try
        {
            layer = (Layer)ctor.Invoke(args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
        var nameProp = typeof(Layer).GetProperty(nameof(Layer.Name))!;
        if (config.TryGetValue("name", out var name) && name is string s) nameProp.SetValue(layer, s);
        if (config.TryGetValue("trainable", out var trainable) && trainable is bool tr) layer.Trainable = tr;
        layer.ApplyBaseConfig(config, layerName);
        return layer;
    }
}

/// <summary>Conversions between config values and constructor argument types.</summary>
internal static class ConfigValues
{
    /// <summary>
    /// <paramref name="value"/> as <paramref name="target"/>. Numbers and booleans are taken only from config numbers and
    /// booleans: a string (<c>"units": "16"</c>), a boolean where a number is expected, a fraction where an integer is
    /// expected (<c>1.5</c>; a whole <c>16.0</c> is taken) or a number out of the type's range is refused with
    /// <see cref="InvalidDataException"/> naming <paramref name="what"/> (the layer and key).
    /// </summary>
    public static object? Convert(object? value, Type target, string what)
    {
        if (value is null) return null;
        var type = Nullable.GetUnderlyingType(target) ?? target;
        if (type.IsInstanceOfType(value)) return value;
        // Keras 3 writes tensor-valued arguments (e.g. Masking's mask_value) as {"class_name": "__tensor__" or
        // "__numpy__", "config": {"value": ..., "dtype": ...}}; a scalar argument takes the single value.
        if (value is IDictionary<string, object?> tensorValue && tensorValue.TryGetValue("class_name", out var tc) && tc is "__tensor__" or "__numpy__"
            && tensorValue.TryGetValue("config", out var tcfg) && tcfg is IDictionary<string, object?> tensorConfig && tensorConfig.TryGetValue("value", out var inner))
        {
            if (!type.IsArray && inner is System.Collections.IEnumerable one and not string)
            {
                var items = one.Cast<object?>().ToList();
                if (items.Count != 1) throw new ArgumentException($"Config value for {what} is a tensor of {items.Count} values; expected a single {type.Name}.");
                inner = items[0];
            }
            return Convert(inner, target, what);
        }
        if (IsInteger(type) || IsReal(type) || type == typeof(bool)) return Scalar(value, type, what);
        try
        {
            if (type == typeof(ActivationFunction) && value is string a) return Activations.Get(a);
            if (type == typeof(ActivationFunction) && value is IDictionary<string, object?> fa) return Saving.KerasTwo.ActivationFrom(fa);
            if (type == typeof(Initializer) && value is string i) return Initializers.Get(i);
            if (type == typeof(Regularizer) && value is string r) return Regularizers.Get(r);
            if (type == typeof(Constraint) && value is string cn) return Constraints.Get(cn);
            if (type == typeof(Constraint) && value is IDictionary<string, object?> sc) return Constraints.FromConfig(sc);
            // Keras's nested {class_name, config} form of initializers and regularizers (configs read from JSON).
            if (type == typeof(Initializer) && value is IDictionary<string, object?> si) return Saving.ModelConfig.InitializerFrom(si);
            if (type == typeof(Regularizer) && value is IDictionary<string, object?> sr) return Saving.ModelConfig.RegularizerFrom(sr);
            if (typeof(Layer).IsAssignableFrom(type) && value is IDictionary<string, object?> serialized)
            {
                var layer = LayerRegistry.Deserialize(serialized);
                return type.IsInstanceOfType(layer) ? layer : throw new ArgumentException($"Config value for {what} is a {layer.GetType().Name}; expected a {type.Name}.");
            }
            if (type == typeof(Shape) && value is System.Collections.IEnumerable dims and not string)
                return new Shape(dims.Cast<object?>().Select(d => Dimension(d, what)).ToArray());
            if (FromImplicitOperator(value, type, what) is { } converted) return converted;
            // Keras accepts a single int where it takes a list of axes (LayerNormalization axis, PReLU shared_axes).
            if (type.IsArray && value is not System.Collections.IEnumerable) return Convert(new[] { value }, type, what);
            if (type.IsArray && value is System.Collections.IEnumerable items)
            {
                var list = items.Cast<object?>().Select(x => Convert(x, type.GetElementType()!, what)).ToArray();
                var arr = Array.CreateInstance(type.GetElementType()!, list.Length);
                for (int k = 0; k < list.Length; k++) arr.SetValue(list[k], k);
                return arr;
            }
            if (type.IsEnum && value is string e) return Enum.Parse(type, e.Replace("_", ""), ignoreCase: true);
            return System.Convert.ChangeType(value, type, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException)
        {
            throw new ArgumentException($"Config value for {what} ({value}) cannot be converted to {type.Name}.", ex);
        }
    }

    private static bool IsInteger(Type t) => t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte)
        || t == typeof(sbyte) || t == typeof(uint) || t == typeof(ulong) || t == typeof(ushort);

    private static bool IsReal(Type t) => t == typeof(double) || t == typeof(float) || t == typeof(decimal);

    private static object Scalar(object value, Type type, string what)
    {
        string expected = type == typeof(bool) ? "true or false" : IsInteger(type) ? $"an integer ({type.Name})" : $"a number ({type.Name})";
        string got = value switch
        {
            string s => $"the string \"{(s.Length <= 40 ? s : s[..40] + "...")}\"",
            bool b => b ? "true" : "false",
            System.Collections.IEnumerable => "a list",
            _ => System.Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "?",
        };
        bool number = value is long or int or double or float or decimal or short or byte or sbyte or uint or ulong or ushort;
        if (value is System.Collections.IEnumerable and not string)
            throw new ArgumentException($"Config value for {what} is {got}; expected {expected}."); // another overload may take a list
        if (type == typeof(bool) ? value is not bool : !number)
            throw new InvalidDataException($"Config value for {what} is {got}; expected {expected}.");
        if (type == typeof(bool)) return value;
        if (IsInteger(type) && value is double or float or decimal)
        {
            double d = System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
            if (double.IsNaN(d) || double.IsInfinity(d) || d != Math.Floor(d))
                throw new InvalidDataException($"Config value for {what} is {got}; expected {expected}, not a fraction.");
        }
        try
        {
            return System.Convert.ChangeType(value, type, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (OverflowException e)
        {
            throw new InvalidDataException($"Config value for {what} is {got}, out of the range of {type.Name}.", e);
        }
    }

    /// <summary>One dimension of a shape in a config: null (unknown) or a non-negative integer.</summary>
    internal static long? Dimension(object? d, string what)
    {
        if (d is null) return null;
        long v = (long)Scalar(d, typeof(long), what);
        return v >= 0 ? v : throw new InvalidDataException($"Config value for {what} has the dimension {v}; dimensions are non-negative (null for unknown).");
    }

    /// <summary>
    /// Argument types that take several forms (IntTuple: an int or an int array) convert through their public implicit
    /// operator from an array (for list values) or from a primitive (for scalar values); null when none applies.
    /// </summary>
    private static object? FromImplicitOperator(object value, Type type, string what)
    {
        if (type.IsPrimitive || type == typeof(string)) return null;
        foreach (var op in type.GetMethods(BindingFlags.Public | BindingFlags.Static))
        {
            if (op.Name != "op_Implicit" || op.ReturnType != type) continue;
            var from = op.GetParameters()[0].ParameterType;
            bool fits = from.IsArray ? value is System.Collections.IEnumerable and not string
                : from.IsPrimitive && value is IConvertible and not string;
            if (fits) return op.Invoke(null, [Convert(value, from, what)]);
        }
        return null;
    }
}
