using System.Text;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

/// <summary>
/// A layer that keeps state in a <c>.keras</c> archive's <c>assets/</c> directory, as Keras 3's <c>save_assets</c> /
/// <c>load_assets</c> do (keras/src/saving/saving_lib.py: the directory is <c>assets/</c> plus the object's path, the same
/// path its variables have in <c>model.weights.h5</c>, e.g. <c>assets/layers/integer_lookup/</c>).
/// </summary>
internal interface IKerasAssets
{
    /// <summary>Whether the layer's state is in assets rather than in its config (an adapted lookup: config vocabulary null).</summary>
    bool UsesAssets { get; }

    /// <summary>Whether loading should look for the layer's assets (its config holds no state).</summary>
    bool ReadsAssets { get; }

    /// <summary>The files to write, by name relative to the layer's asset directory (only called when <see cref="UsesAssets"/>).</summary>
    IEnumerable<(string Name, byte[] Bytes)> SaveAssets();

    /// <summary>
    /// Keras's <c>save_own_variables</c> for state that is no weight: named float arrays written beside the layer's weights
    /// in <c>model.weights.h5</c> (<c>vars/idf_weights</c>), by name relative to the layer's path (only called when
    /// <see cref="UsesAssets"/>).
    /// </summary>
    IEnumerable<(string Name, float[] Values)> SaveVariables();

    /// <summary>Restores the state from the files (null when missing) and the named variables <see cref="SaveVariables"/>
    /// writes (<paramref name="variable"/>: null when missing). Throws InvalidDataException for a missing or damaged file.</summary>
    void LoadAssets(Func<string, byte[]?> read, Func<string, float[]?> variable, string where);
}

/// <summary>Writes and reads the <c>assets/</c> entries of a <c>.keras</c> archive (see <see cref="IKerasAssets"/>).</summary>
internal static class KerasAssets
{
    /// <summary>The archive's assets directory (Keras's <c>_ASSETS_DIRNAME</c>).</summary>
    public const string Directory = "assets";

    /// <summary>
    /// The model's config as a <c>.keras</c> archive's <c>config.json</c> holds it: <see cref="ModelConfig.Serialize"/>, then
    /// each layer whose state goes to assets (<see cref="IKerasAssets.UsesAssets"/>: an adapted lookup) gets
    /// <c>vocabulary: null</c>, as Keras writes it. Elsewhere (GetConfig, JSON, legacy .h5) the adapted vocabulary stays
    /// in the config. Layers are paired with their serialized configs by walking the model and the config tree together
    /// (a model's layers, then each layer's sublayers by name), so nested layers are found wherever a config holds them.
    /// </summary>
    public static Dictionary<string, object?> SerializeForArchive(Model model)
    {
        var tree = ModelConfig.Serialize(model);
        ClearAssetState(model, tree);
        return tree;
    }

    /// <summary>Nulls the vocabulary of <paramref name="layer"/>'s config when it lives in assets, then does the same for every
    /// layer serialized inside that config, matched to the layer's sublayers (or a model's layers) by name.</summary>
    private static void ClearAssetState(Layers.Layer layer, IDictionary<string, object?> serialized)
    {
        if (serialized.TryGetValue("config", out var c) && c is IDictionary<string, object?> config)
        {
            if (layer is IKerasAssets { UsesAssets: true })
            {
                // Keras's get_config writes the vocabulary and idf_weights given to the constructor: none for an adapted layer.
                if (config.ContainsKey("vocabulary")) config["vocabulary"] = null;
                if (config.ContainsKey("idf_weights")) config["idf_weights"] = null;
            }
            var children = layer is Model model ? [.. model.Graph?.Layers ?? [], .. model.Layers] : layer.Sublayers;
            foreach (var nested in SerializedLayers(config))
            {
                if (!(nested.TryGetValue("config", out var nc) && nc is IDictionary<string, object?> nestedConfig
                    && nestedConfig.TryGetValue("name", out var n) && n is string name))
                    continue;
                // Names within one layer are unique (Keras requires it of a model's layers); should two sublayers share one,
                // that config keeps its vocabulary, which Keras and this reader both load (the given vocabulary wins).
                var matches = children.Where(l => l.Name == name).Distinct().Take(2).ToList();
                if (matches.Count == 1) ClearAssetState(matches[0], nested);
            }
        }
    }

    /// <summary>The serialized objects (<c>class_name</c> and <c>config</c>) directly inside a config: in its values, lists
    /// and plain dictionaries, not inside another serialized object.</summary>
    private static IEnumerable<IDictionary<string, object?>> SerializedLayers(object? value)
    {
        switch (value)
        {
            case IDictionary<string, object?> d when d.ContainsKey("class_name") && d.TryGetValue("config", out var c) && c is IDictionary<string, object?>:
                yield return d;
                break;
            case IDictionary<string, object?> d:
                foreach (var v in d.Values)
                    foreach (var x in SerializedLayers(v)) yield return x;
                break;
            case IEnumerable<object?> list:
                foreach (var v in list)
                    foreach (var x in SerializedLayers(v)) yield return x;
                break;
        }
    }

    /// <summary>Every asset layer of the model with its object path (<c>layers/integer_lookup</c>; its weights' path) and its
    /// archive directory (<c>assets/&lt;object path&gt;</c>).</summary>
    public static IEnumerable<(IKerasAssets Layer, string Path, string Dir)> Layers(Model model) =>
        KerasWeightPaths.AllGroups(model).Where(g => g.Owner is IKerasAssets)
            .Select(g => ((IKerasAssets)g.Owner!, g.Path, g.Path.Length == 0 ? Directory : $"{Directory}/{g.Path}"));

    /// <summary>The zip entries (name, bytes) the model's asset layers write.</summary>
    public static List<(string Name, byte[] Bytes)> Entries(Model model) =>
        [.. Layers(model).Where(l => l.Layer.UsesAssets).SelectMany(l => l.Layer.SaveAssets().Select(f => ($"{l.Dir}/{f.Name}", f.Bytes)))];

    /// <summary>Restores every asset layer from <paramref name="entries"/> (zip entry name to bytes) and the named variables
    /// of <c>model.weights.h5</c> (<paramref name="variables"/>: <c>&lt;object path&gt;/&lt;name&gt;</c> to values).</summary>
    public static void Load(Model model, IReadOnlyDictionary<string, byte[]> entries, IReadOnlyDictionary<string, StoredArray>? variables,
        string path)
    {
        foreach (var (layer, objectPath, dir) in Layers(model).Where(l => l.Layer.ReadsAssets).ToList())
        {
            layer.LoadAssets(name => entries.GetValueOrDefault($"{dir}/{name}"),
                name => variables?.GetValueOrDefault(objectPath.Length == 0 ? name : $"{objectPath}/{name}")?.Data,
                $"'{path}': layer '{((Layers.Layer)layer).Name}' ({dir})");
        }
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Keras's <c>vocabulary.txt</c>: the tokens joined by "\n" (no newline at the end), UTF-8 without a BOM.</summary>
    public static byte[] WriteLines(IEnumerable<string> lines) => Strict.GetBytes(string.Join("\n", lines));

    /// <summary>
    /// Reads Keras's <c>vocabulary.txt</c> as <c>load_assets</c> does: UTF-8 text split as Python's <c>str.splitlines</c>,
    /// trailing empty lines dropped. Throws InvalidDataException for a missing file or invalid UTF-8.
    /// </summary>
    public static List<string> ReadLines(byte[]? bytes, string name, string where)
    {
        if (bytes is null)
            throw new InvalidDataException($"{where}: the archive has no '{name}': the layer's config has no vocabulary, so Keras keeps " +
                "it in that asset file; the file is missing (a damaged or incomplete .keras file?).");
        string text;
        try
        {
            text = Strict.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{where}: '{name}' is not valid UTF-8 text: {e.Message}", e);
        }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var lines = new List<string>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is not ('\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')) continue;
            lines.Add(text[start..i]);
            if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
            start = i + 1;
        }
        if (start < text.Length) lines.Add(text[start..]);
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }
}
