using System.Globalization;

namespace OnnxKeras.Saving;

/// <summary>
/// The one rule for configs written by Keras 2 (or 1), whose meanings differ from Keras 3's: Keras 2 defined
/// <c>hard_sigmoid</c> as <c>clip(0.2x + 0.5, 0, 1)</c> (the default <c>recurrent_activation</c> of its LSTM and GRU
/// layers), Keras 3 as <c>relu6(x + 3) / 6</c>. Used by legacy <c>.h5</c> loading and by <c>FromJson</c>/<c>FromYaml</c>.
/// </summary>
internal static class KerasTwo
{
    /// <summary>
    /// Whether a config that Keras <paramref name="kerasVersion"/> wrote has Keras 2's meanings: any version before 3, and
    /// an empty one (a legacy file that records no version predates Keras 3, which always records it).
    /// </summary>
    public static bool IsBeforeKeras3(string kerasVersion)
    {
        var major = kerasVersion.Split('.')[0];
        return !(int.TryParse(major, NumberStyles.None, CultureInfo.InvariantCulture, out int m) && m >= 3);
    }

    /// <summary>
    /// The writer's version recorded in a JSON/YAML config itself: Keras 2's <c>to_json</c>/<c>to_yaml</c> put
    /// <c>keras_version</c> and <c>backend</c> at the top level, Keras 3's <c>to_json</c> neither. Null when absent.
    /// </summary>
    public static string? VersionInConfig(IDictionary<string, object?> root) =>
        root.TryGetValue("keras_version", out var v) && v is not null
            ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? ""   // YAML may give 2.0 as a number
            : root.ContainsKey("backend") ? "" : null;

    /// <summary>The name <see cref="Activations.HardSigmoidKeras2"/> is registered under in saved configs (Keras's <c>package&gt;name</c>).</summary>
    public const string RegisteredHardSigmoid = "onnxkeras>hard_sigmoid_keras2";

    /// <summary>
    /// How a config saves <see cref="Activations.HardSigmoidKeras2"/>: the object Keras 3 itself writes for a function
    /// registered with <c>@keras.saving.register_keras_serializable(package="onnxkeras", name="hard_sigmoid_keras2")</c>.
    /// Keras 3 has no built-in with this meaning (its <c>hard_sigmoid</c> is <c>relu6(x + 3) / 6</c>), so Keras loads the
    /// form when that function is registered and otherwise refuses it ("Could not interpret activation function
    /// identifier") instead of loading it with another meaning; docs/formats.md gives the Python snippet.
    /// </summary>
    public static Dictionary<string, object?> SavedHardSigmoid() => new(StringComparer.Ordinal)
    {
        ["module"] = "builtins",
        ["class_name"] = "function",
        ["config"] = RegisteredHardSigmoid,
        ["registered_name"] = "function",
    };

    /// <summary>A layer config as saved: activation settings that are <see cref="Activations.HardSigmoidKeras2"/> take
    /// <see cref="SavedHardSigmoid"/>.</summary>
    public static LayerConfig ForSaving(LayerConfig config)
    {
        foreach (var key in new[] { "activation", "recurrent_activation" })
        {
            if (config.TryGetValue(key, out var v) && (v is ActivationFunction { Name: "hard_sigmoid_keras2" } || v is "hard_sigmoid_keras2"))
                config[key] = SavedHardSigmoid();
        }
        return config;
    }

    /// <summary>Renames <c>hard_sigmoid</c> in activation settings anywhere in the config tree to <see cref="Activations.HardSigmoidKeras2"/>.</summary>
    public static void KeepKerasTwoActivations(object? tree)
    {
        switch (tree)
        {
            case IDictionary<string, object?> obj:
                foreach (var key in obj.Keys.ToList())
                {
                    if (key is "activation" or "recurrent_activation" && obj[key] is "hard_sigmoid") obj[key] = Activations.HardSigmoidKeras2.Name;
                    else KeepKerasTwoActivations(obj[key]);
                }
                break;
            case IEnumerable<object?> list:
                foreach (var item in list) KeepKerasTwoActivations(item);
                break;
        }
    }
}
