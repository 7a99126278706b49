using OnnxKeras.Layers;
using OnnxKeras.Models;
using PureHDF;

namespace OnnxKeras.Saving;

/// <summary>
/// Keras 2's legacy <c>.h5</c> weights layout (<c>model_weights/&lt;layer&gt;/&lt;layer&gt;/kernel:0</c> with
/// <c>layer_names</c>/<c>weight_names</c> attributes): reading it, writing it as a weights file, and filling it into a
/// legacy whole-model file.
/// </summary>
internal static class LegacyWeightsH5
{
    /// <summary>
    /// Writes <paramref name="model"/>'s weights to <paramref name="path"/> (atomically) as Keras 2's <c>save_weights</c>
    /// writes an <c>.h5</c> file (<c>save_weights_to_hdf5_group(f, model.layers)</c>): the layout of <see cref="FillGroup"/>
    /// at the file's root, attributes <c>layer_names</c>, <c>backend</c> and <c>keras_version</c> included. Keras 2's
    /// <c>load_weights</c> (and Keras 3's legacy reader) read it; so does <see cref="Read"/>.
    /// </summary>
    internal static void Save(Model model, string path)
    {
        var file = new H5File();
        FillGroup(file, WeightFiles.KerasLayers(model), KerasArchive.FormatKerasVersion, KerasArchive.Backend);
        AtomicFile.Write(path, s => file.Write(s));
    }

    /// <summary>The layers that <paramref name="root"/>'s <c>layer_names</c> lists, each with the arrays its <c>weight_names</c> lists.</summary>
    internal static List<StoredLayer> Read(IH5Group root, string what)
    {
        var layerNames = WeightsH5.ReadStrings(root, "layer_names")
            ?? throw new InvalidDataException($"'{what}': legacy weights group has no 'layer_names' attribute.");
        var result = new List<StoredLayer>();
        foreach (var name in layerNames)
        {
            if (!root.LinkExists(name)) throw new InvalidDataException($"'{what}': layer '{name}' is listed in 'layer_names' but has no group.");
            var g = root.Group(name);
            var weightNames = WeightsH5.ReadStrings(g, "weight_names") ?? [];
            var arrays = new List<StoredArray>();
            foreach (var wn in weightNames)
            {
                IH5Group cur = g;
                var parts = wn.Split('/');
                foreach (var p in parts[..^1]) cur = cur.Group(p);
                arrays.Add(WeightsH5.ReadArray(cur.Dataset(parts[^1]), $"{name}/{wn}", what));
            }
            result.Add(new StoredLayer(name, arrays));
        }
        return result;
    }

    /// <summary>
    /// Keras 2's legacy weights layout (<c>save_weights_to_hdf5_group</c>), filled into <paramref name="group"/>: attributes
    /// <c>layer_names</c> (every layer of the model, weights or not), <c>backend</c> and <c>keras_version</c>; one group
    /// per layer with a <c>weight_names</c> attribute (<c>dense/kernel:0</c>, ...; an empty float64 array for a layer
    /// without weights, as Keras writes it) and each weight as a dataset at its name's path
    /// (<c>dense/dense/kernel:0</c>). Weights are in the layer's order, which for every built-in layer is Keras 2's
    /// trainable-then-non-trainable order (BatchNormalization: gamma, beta, moving_mean, moving_variance).
    /// </summary>
    /// <remarks>
    /// h5py stores those name lists as fixed-length string arrays; PureHDF writes strings as variable-length only
    /// (its fixed-length option applies to every string in the file, <c>model_config</c> included), so these are
    /// variable-length string arrays, which h5py returns as <c>str</c>: Keras 3 and tf.keras (2.4 and later) decode both.
    /// </remarks>
    internal static void FillGroup(H5Group group, IReadOnlyList<Layer> layers, string kerasVersion, string backend)
    {
        var duplicate = layers.GroupBy(l => l.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"Two layers are named '{duplicate.Key}'; the legacy .h5 layout keys layers by name, so names must be unique.");
        SetStringList(group.Attributes, "layer_names", layers.Select(l => l.Name).ToList());
        group.Attributes["backend"] = new H5Attribute(backend);
        group.Attributes["keras_version"] = new H5Attribute(kerasVersion);
        foreach (var layer in layers)
        {
            var g = new H5Group();
            var names = new List<string>();
            foreach (var v in layer.Weights)
            {
                // Keras 2 names a weight by its variable's name: the owning layer's name, the weight's, and ":0".
                string baseName = v.Path.StartsWith(layer.Name + "/", StringComparison.Ordinal) ? v.Path : $"{layer.Name}/{v.Path}";
                string name = $"{baseName}:0";
                for (int k = 1; names.Contains(name); k++) name = $"{baseName}_{k}:0";
                names.Add(name);
                var parts = name.Split('/');
                var at = g;
                foreach (var part in parts[..^1])
                {
                    if (!at.TryGetValue(part, out var child)) at[part] = child = new H5Group();
                    at = child as H5Group ?? throw new InvalidOperationException($"Layer '{layer.Name}': weight name '{name}' collides " +
                        "with another weight's path.");
                }
                at[parts[^1]] = new H5Dataset(v.ToArray(), fileDims: v.Value.shape.Select(d => (ulong)d).ToArray());
            }
            if (names.Count == 0) g.Attributes["weight_names"] = new H5Attribute(Array.Empty<double>(), dimensions: [0]);
            else SetStringList(g.Attributes, "weight_names", names);
            group[layer.Name] = g;
        }
    }

    /// <summary>
    /// A list of names as a string-array attribute, split into <c>name0</c>, <c>name1</c>, ... as Keras does when one
    /// attribute would pass HDF5's 64 KB object-header limit (each variable-length entry takes 16 bytes there).
    /// </summary>
    private static void SetStringList(IDictionary<string, object> attributes, string name, IReadOnlyList<string> values)
    {
        const int perChunk = 2048;
        if (values.Count <= perChunk)
        {
            attributes[name] = new H5Attribute(values.ToArray());
            return;
        }
        for (int k = 0; k * perChunk < values.Count; k++)
            attributes[$"{name}{k}"] = new H5Attribute(values.Skip(k * perChunk).Take(perChunk).ToArray());
    }
}
