using System.Globalization;
using System.Reflection;
using System.Text.Json;
using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

/// <summary>
/// Model architecture as Keras 3's JSON config (<c>model.to_json()</c>): <c>Sequential</c> with its layer list (an
/// <c>InputLayer</c> first) and <c>Functional</c> with per-layer <c>inbound_nodes</c> of <c>__keras_tensor__</c> references.
/// Reading also accepts Keras 2's forms (<c>inbound_nodes: [[["name", 0, 0, {}]]]</c>, <c>batch_input_shape</c>,
/// a Sequential config that is a bare layer list, class name <c>Model</c>).
/// </summary>
public static partial class ModelConfig
{

    /// <summary>
    /// The deepest nesting of objects and arrays (the root counts as level 1) that <see cref="ParseJson"/>,
    /// <see cref="FromJson(string)"/> and YAML configs accept: 64, far more than any Keras config uses (a functional
    /// model inside a functional model reaches about 12). Deeper input is refused with <see cref="InvalidDataException"/>
    /// before any recursion could exhaust the stack.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>Parses JSON into config values: objects as dictionaries, arrays as lists, integers as long, other numbers as double.</summary>
    /// <exception cref="ArgumentException">The text is not JSON.</exception>
    /// <exception cref="InvalidDataException">Objects and arrays nest deeper than <see cref="MaxDepth"/> levels.</exception>
    public static object? ParseJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            // The reader itself is not recursive, so it may read deeper than MaxDepth; the conversion below then refuses
            // the config with a message that says why (instead of the reader's generic JsonException).
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = int.MaxValue });
            return Convert(doc.RootElement, 1);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The model config is not valid JSON: {e.Message}", e);
        }
    }

    private static object? Convert(JsonElement e, int depth)
    {
        if (e.ValueKind is (JsonValueKind.Object or JsonValueKind.Array) && depth > MaxDepth)
            throw new InvalidDataException($"The model config nests deeper than {MaxDepth} levels of objects and arrays; a Keras config needs far fewer.");
        return e.ValueKind switch
        {
            JsonValueKind.Object => e.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal),
                (d, p) => { d[p.Name] = Convert(p.Value, depth + 1); return d; }),
            JsonValueKind.Array => e.EnumerateArray().Select(x => Convert(x, depth + 1)).ToList(),
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };
    }

    /// <summary>
    /// Rebuilds a model (new layers, fresh weights) from its Keras config JSON. A config written by Keras 2 (its top-level
    /// <c>keras_version</c> 2.x or <c>backend</c>, as Keras 2's <c>to_json</c> records them) keeps Keras 2's meanings:
    /// its <c>hard_sigmoid</c> becomes <c>hard_sigmoid_keras2</c>, <c>clip(0.2x + 0.5, 0, 1)</c>.
    /// </summary>
    public static Model FromJson(string json) => FromJson(json, null, fileKerasVersion: null);

    /// <summary>
    /// <see cref="FromJson(string)"/> with the custom objects the config names (Keras's <c>custom_objects</c>): custom
    /// layers and models, activations, initializers, ... (see <see cref="KerasObjects"/> for the order names resolve in).
    /// </summary>
    public static Model FromJson(string json, CustomObjects? customObjects) => FromJson(json, customObjects, fileKerasVersion: null);

    /// <summary><see cref="FromJson(string, CustomObjects?)"/> for a config read from a file that records the writer's
    /// Keras version itself (null: the config's own).</summary>
    internal static Model FromJson(string json, CustomObjects? customObjects, string? fileKerasVersion)
    {
        using var scope = KerasObjects.Scope(customObjects);
        if (ParseJson(json) is not Dictionary<string, object?> root)
            throw new ArgumentException("A model config must be a JSON object with 'class_name' and 'config'.");
        if ((fileKerasVersion ?? KerasTwo.VersionInConfig(root)) is { } version && KerasTwo.IsBeforeKeras3(version)) KerasTwo.KeepKerasTwoActivations(root);
        return Deserialize(root);
    }

    /// <summary>
    /// The most bytes one weight (float32) may take while a model is built from a config (<see cref="FromJson(string)"/>,
    /// <c>Model.FromYaml</c>, <c>Model.LoadModel</c>): 1 GiB (1,073,741,824 bytes, 268,435,456 values) by default, so that a
    /// small hostile config cannot make libtorch allocate gigabytes. A larger weight is refused with
    /// <see cref="InvalidDataException"/> naming the layer and the shape, before anything is allocated. Raise it to load a
    /// trusted model with a larger weight (one weight never exceeds <see cref="Layer.MaxWeightElements"/> elements).
    /// </summary>
    public static long MaxWeightBytes
    {
        get => maxWeightBytes;
        set => maxWeightBytes = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxWeightBytes must be positive.");
    }

    private static long maxWeightBytes = 1L << 30;

    /// <summary>
    /// Rebuilds a model from its config object tree (each weight limited to <see cref="MaxWeightBytes"/>), resolving names
    /// through <paramref name="customObjects"/> first (see <see cref="KerasObjects"/>).
    /// </summary>
    public static Model Deserialize(IDictionary<string, object?> root, CustomObjects? customObjects = null)
    {
        using var scope = KerasObjects.Scope(customObjects);
        var outer = Layer.ConfigWeightByteLimit;
        Layer.ConfigWeightByteLimit = Math.Min(MaxWeightBytes, outer ?? long.MaxValue);
        try
        {
            return DeserializeUnlimited(root);
        }
        finally
        {
            Layer.ConfigWeightByteLimit = outer;
        }
    }
}
