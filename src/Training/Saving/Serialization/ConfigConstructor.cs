using System.Globalization;
using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.RegularExpressions;
using OnnxKeras.Layers;

namespace OnnxKeras.Saving;

/// <summary>
/// The one path from a config to a constructor call, for every kind of object (Keras's <c>cls.from_config(config)</c>,
/// which is <c>cls(**config)</c>): each public constructor parameter takes the config key of its snake_case name
/// (<c>use_bias</c> for <c>useBias</c>; <c>beta_1</c> for <c>beta1</c>; <c>clipnorm</c> for <c>clipNorm</c>); keys left
/// over set public settable properties of the same name (<c>name</c>, <c>trainable</c>, an initializer's <c>seed</c>);
/// keys Keras writes that the kind does not model are accepted (<see cref="ObjectKind.IgnoredKeys"/>) or, for settings
/// OnnxKeras lacks, accepted only when null; any other key is refused as Keras refuses it.
/// </summary>
internal static partial class ConfigConstructor
{
    [GeneratedRegex(@"(?<=[a-z])(\d+)$")]
    private static partial Regex TrailingDigits();

    /// <summary>The config keys a constructor parameter may take, Keras's spelling first.</summary>
    internal static IEnumerable<string> KeysOf(string parameterName)
    {
        string snake = Layer.SnakeCase(parameterName);
        // beta1 -> beta_1 and clipNorm -> clipnorm, global_clipnorm, as Keras writes them.
        string keras = TrailingDigits().Replace(snake, "_$1").Replace("clip_", "clip", StringComparison.Ordinal);
        yield return keras;
        if (keras != snake) yield return snake;
    }

    /// <summary>The Keras config key of a constructor parameter (<c>beta1</c> to <c>beta_1</c>, <c>clipNorm</c> to <c>clipnorm</c>).</summary>
    internal static string KerasKey(string parameterName) => KeysOf(parameterName).First();

    /// <summary>
    /// The config of an object whose public properties mirror its constructor's parameters (optimizers, losses, metrics):
    /// each parameter of the longest public constructor with a public property of the same name, under its Keras key.
    /// </summary>
    internal static Dictionary<string, object?> ConfigFromProperties(object obj)
    {
        var type = obj.GetType();
        var config = new Dictionary<string, object?>(StringComparer.Ordinal);
        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault();
        foreach (var p in ctor?.GetParameters() ?? [])
        {
            var prop = type.GetProperty(char.ToUpperInvariant(p.Name![0]) + p.Name[1..], BindingFlags.Public | BindingFlags.Instance);
            if (prop is null) continue;
            var value = prop.GetValue(obj);
            config[KerasKey(p.Name)] = value is Optimizers.LearningRate lr ? lr.ToConfig() : value;
        }
        return config;
    }

    /// <summary>
    /// Constructs <paramref name="type"/> from <paramref name="config"/>. <paramref name="what"/> names the object in
    /// messages (a layer is named by its config's <c>name</c> and class instead), <paramref name="className"/> the class
    /// as the config names it (<c>MaxNorm</c> for <see cref="MaxNormConstraint"/>; default: the C# class name).
    /// </summary>
    /// <exception cref="InvalidDataException">A key the class does not take, a value of the wrong type, or a required key missing.</exception>
    public static object Construct(Type type, IDictionary<string, object?> config, ObjectKind kind, string what, string? className = null)
    {
        bool layer = typeof(Layer).IsAssignableFrom(type);
        string? layerName = layer && config.TryGetValue("name", out var n) && n is string ln ? ln : null;
        if (layer) what = layerName is not null ? $"layer '{layerName}' ({type.Name})" : $"layer {type.Name}";
        if (layer) Layer.CheckDtype(config, what, type);
        var ctors = type.GetConstructors()
            .OrderByDescending(c => c.GetParameters().Count(p => KeysOf(p.Name!).Any(config.ContainsKey)))
            .ThenByDescending(c => c.GetParameters().Length).ToList();
        if (ctors.Count == 0) throw new InvalidDataException($"{type.Name} has no public constructor, so {what} cannot be rebuilt from its config.");
        // Overloads that match equally well (Dot(int axes) / Dot(int[] axes)) are tried in turn until the values convert.
        ConstructorInfo? chosen = null;
        object?[]? args = null;
        HashSet<string> used = new(StringComparer.Ordinal);
        Exception? firstError = null;
        foreach (var candidate in ctors)
        {
            try
            {
                used.Clear();
                args = candidate.GetParameters().Select(p =>
                {
                    string? key = KeysOf(p.Name!).FirstOrDefault(config.ContainsKey);
                    if (key is not null)
                    {
                        used.Add(key);
                        var value = config[key];
                        return value is null && p.HasDefaultValue && !IsNullable(p.ParameterType)
                            ? p.DefaultValue
                            : ConfigValues.Convert(value, p.ParameterType, $"{what}, key '{key}'");
                    }
                    if (p.HasDefaultValue) return p.DefaultValue;
                    throw new InvalidDataException($"The config of {what} lacks '{KeysOf(p.Name!).First()}', which its constructor needs.");
                }).ToArray();
                chosen = candidate;
                break;
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException)
            {
                firstError ??= e;
                args = null;
            }
        }
        if (chosen is null || args is null) ExceptionDispatchInfo.Throw(firstError!);
        var setters = new List<(PropertyInfo Property, string Key)>();
        var unknown = new List<string>();
        foreach (var key in config.Keys.Where(k => !used.Contains(k)))
        {
            if (Settable(type, key) is { } prop) setters.Add((prop, key));
            else if (kind.NeutralKeys.TryGetValue(key, out var neutral))
            {
                if (neutral.Accepts(config[key])) continue;
                if (!neutral.TrainingOnly)
                    throw new InvalidDataException($"The config of {what} sets '{key}' to {Repr(config[key])}, which OnnxKeras does not " +
                        "implement; loading it would drop that setting, so the config is refused.");
                Console.Error.WriteLine($"Warning: the config of {what} sets '{key}' to {Repr(config[key])}, which OnnxKeras does not " +
                    "implement; it only changes training, so the model loads and predicts as Keras's, but training it here runs without " +
                    "it.");
            }
            else if (!kind.IgnoredKeys.Contains(key)) unknown.Add(key);
        }
        if (unknown.Count > 0)
            throw new InvalidDataException("Unrecognized keyword arguments passed to " +
                $"{className ?? type.Name}{(layerName is not null ? $" (layer '{layerName}')" : "")}: " +
                $"{{{string.Join(", ", unknown.Select(k => $"'{k}': {Repr(config[k])}"))}}}");
        object instance;
        try
        {
            instance = chosen.Invoke(args);
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentException a)
        {
            // The constructor's own check of a value (Dense: units must be positive): say which object it was rebuilding.
            throw new InvalidDataException($"The config of {what} is invalid: {a.Message}", a);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        foreach (var (prop, key) in setters)
        {
            var value = ConfigValues.Convert(config[key], prop.PropertyType, $"{what}, key '{key}'");
            if (value is not null || IsNullable(prop.PropertyType)) prop.SetValue(instance, value);
        }
        if (instance is Layer built && config is LayerConfig layerConfig) built.ApplyBaseConfig(layerConfig, what); // activity_regularizer
        return instance;
    }

    private static bool IsNullable(Type t) => !t.IsValueType || Nullable.GetUnderlyingType(t) is not null;

    /// <summary>A public property with a public setter (or init) whose snake_case name is <paramref name="key"/>.</summary>
    private static PropertyInfo? Settable(Type type, string key)
    {
        string pascal = string.Concat(key.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
        var prop = type.GetProperty(pascal, BindingFlags.Public | BindingFlags.Instance);
        return prop?.SetMethod is { IsPublic: true } ? prop : null;
    }

    /// <summary>A config value as Python writes it in Keras's messages (<c>'text'</c>, <c>None</c>, <c>True</c>,
    /// <c>{'k': 1}</c>), cut at 200 characters.</summary>
    internal static string Repr(object? value)
    {
        var sb = new StringBuilder();
        Write(sb, value, 0);
        return sb.Length <= 200 ? sb.ToString() : sb.ToString(0, 200) + "...";

        static void Write(StringBuilder sb, object? v, int depth)
        {
            if (sb.Length > 200 || depth > 8)
            {
                sb.Append("...");
                return;
            }
            switch (v)
            {
                case null: sb.Append("None"); break;
                case string s: sb.Append('\'').Append(s.Replace("'", "\\'", StringComparison.Ordinal)).Append('\''); break;
                case bool b: sb.Append(b ? "True" : "False"); break;
                case IDictionary<string, object?> d:
                    sb.Append('{');
                    foreach (var (k, x) in d)
                    {
                        if (sb[^1] != '{') sb.Append(", ");
                        sb.Append('\'').Append(k).Append("': ");
                        Write(sb, x, depth + 1);
                    }
                    sb.Append('}');
                    break;
                case System.Collections.IEnumerable list:
                    sb.Append('[');
                    foreach (var x in list)
                    {
                        if (sb[^1] != '[') sb.Append(", ");
                        Write(sb, x, depth + 1);
                    }
                    sb.Append(']');
                    break;
                case IFormattable f: sb.Append(f.ToString(null, CultureInfo.InvariantCulture)); break;
                default: sb.Append(v); break;
            }
        }
    }
}
