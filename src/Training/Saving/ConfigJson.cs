using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

/// <summary>
/// Writes layer and model configs as JSON in Keras's vocabulary: snake_case keys, initializers, regularizers and constraints as
/// <c>{"class_name", "config"}</c> objects, activations by name, shapes as arrays with <c>null</c> for unknown dimensions.
/// </summary>
public static class ConfigJson
{
    /// <summary>A model's architecture: class name, name and the serialized layers in graph order.</summary>
    public static string ModelToJson(Model model, bool indented = false)
    {
        var layers = (model.Graph?.Layers ?? model.Layers).Select(l => (object?)LayerRegistry.Serialize(l)).ToList();
        string className = model switch
        {
            Sequential => "Sequential",
            _ when model.Graph is not null && model.GetType() == typeof(Model) => "Functional",
            _ => model.GetType().Name,
        };
        var doc = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["module"] = "keras",
            ["class_name"] = className,
            ["config"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["name"] = model.Name, ["layers"] = layers },
        };
        return Write(doc, indented);
    }

    /// <summary>
    /// Any config value as JSON. Characters such as <c>&gt;</c> (in registered names, <c>package&gt;Name</c>) and non-ASCII
    /// letters are written as they are, as Python's json module does, rather than as <c>\u</c> escapes.
    /// </summary>
    public static string Write(object? value, bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream,
            new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteValue(writer, value);
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case double d: w.WriteNumberValue(d); break;
            case float f: w.WriteNumberValue(f); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case Enum e: w.WriteStringValue(Layer.SnakeCase(e.ToString())); break;
            case ActivationFunction a: w.WriteStringValue(a.Name); break;
            case Shape shape: WriteValue(w, shape.Dims); break;
            case Initializer init:
                WriteObject(w, KerasObject("keras.initializers", init, ClassName(init.Name), init.GetConfig()));
                break;
            case Regularizer reg:
                WriteObject(w, KerasObject("keras.regularizers", reg, reg.Name == "l1_l2" ? "L1L2" : reg.Name.ToUpperInvariant(), reg.GetConfig()));
                break;
            case Constraint constraint:
                WriteObject(w, KerasObject("keras.constraints", constraint, constraint.Name, constraint.GetConfig()));
                break;
            case Layer layer: WriteValue(w, LayerRegistry.Serialize(layer)); break;
            case IDictionary dict:
                w.WriteStartObject();
                foreach (DictionaryEntry kv in dict)
                {
                    w.WritePropertyName(Convert.ToString(kv.Key, CultureInfo.InvariantCulture)!);
                    WriteValue(w, kv.Value);
                }
                w.WriteEndObject();
                break;
            case IEnumerable<KeyValuePair<string, object?>> pairs: WriteObject(w, pairs); break;
            case IEnumerable items:
                w.WriteStartArray();
                foreach (var item in items) WriteValue(w, item);
                w.WriteEndArray();
                break;
            default:
                if (value.GetType().IsPrimitive) w.WriteNumberValue(Convert.ToDouble(value, CultureInfo.InvariantCulture));
                else w.WriteStringValue(value.ToString());
                break;
        }
    }

    private static void WriteObject(Utf8JsonWriter w, IEnumerable<KeyValuePair<string, object?>> pairs)
    {
        w.WriteStartObject();
        foreach (var (k, v) in pairs)
        {
            w.WritePropertyName(k);
            WriteValue(w, v);
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// Keras's object form of a built-in (its Keras module and class name) or of a user's class (its C# class name and
    /// registered name <c>package&gt;Name</c>, module null, as Keras 3 writes a registered class), which
    /// <see cref="KerasObjects"/> reads back.
    /// </summary>
    internal static Dictionary<string, object?> KerasObject(string module, object obj, string builtInClassName, IReadOnlyDictionary<string, object?> config)
    {
        bool builtIn = obj.GetType().Assembly == typeof(ConfigJson).Assembly;
        return new Dictionary<string, object?>
        {
            ["module"] = builtIn ? module : null,
            ["class_name"] = builtIn ? builtInClassName : obj.GetType().Name,
            ["config"] = config,
            ["registered_name"] = builtIn ? null : KerasObjects.RegisteredName(obj.GetType()),
        };
    }

    /// <summary>Keras's class name for an initializer identifier: <c>glorot_uniform</c> to <c>GlorotUniform</c>.</summary>
    private static string ClassName(string snake) => string.Concat(snake.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
}
