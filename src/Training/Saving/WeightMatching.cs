using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

/// <summary>
/// Matching of stored weights to a model's weighted layers (by Keras's object paths, by name or by position), checking
/// every count and shape before any weight is assigned.
/// </summary>
internal static class WeightMatching
{
    /// <summary>
    /// Matches stored layers to the model's weighted layers, checks every count and shape, then assigns all. A Keras 3
    /// HDF5 file is matched by Keras's object paths when it has a group for every weighted layer of the model; otherwise
    /// (files from earlier OnnxKeras versions, other layouts, <paramref name="byName"/>) by name or by position.
    /// </summary>
    internal static IReadOnlyList<string> Assign(Model model, StoredWeights file, string path, bool byName, bool skipMismatch)
    {
        var layers = WeightFiles.WeightedLayers(model);
        var stored = file.Layers.Where(s => s.Arrays.Count > 0).ToList();
        var pairs = new List<(Layer Layer, StoredLayer Stored)>();
        var warnings = new List<string>();
        if (!byName && !file.ByLayerName && file.Groups is { } groups && MatchByKerasPaths(model, layers, stored.Count, groups) is { } byPath)
        {
            pairs = byPath;
            return AssignPairs(model, pairs, path, skipMismatch, warnings);
        }
        var storedByName = new Dictionary<string, StoredLayer>(StringComparer.Ordinal);
        foreach (var s in stored) storedByName.TryAdd(s.Name, s);
        bool sameNames = layers.Count == stored.Count && layers.All(l => storedByName.ContainsKey(l.Name));
        if (byName || sameNames)
        {
            foreach (var l in layers)
            {
                if (storedByName.TryGetValue(l.Name, out var s)) pairs.Add((l, s));
            }
        }
        else
        {
            if (layers.Count != stored.Count)
                throw new InvalidDataException($"'{path}' holds weights for {stored.Count} layer(s) " +
                    $"({string.Join(", ", stored.Select(s => s.Name))}); model '{model.Name}' has {layers.Count} layer(s) with weights " +
                    $"({string.Join(", ", layers.Select(l => l.Name))}). Pass byName: true to load the layers whose names match.");
            pairs.AddRange(layers.Zip(stored));
        }
        return AssignPairs(model, pairs, path, skipMismatch, warnings);
    }

    /// <summary>
    /// Pairs each weighted layer with the arrays at its Keras paths (its groups' <c>vars/0..n</c>, in weight order); null
    /// when a path is missing or the file holds weights for a different number of layers.
    /// </summary>
    private static List<(Layer Layer, StoredLayer Stored)>? MatchByKerasPaths(Model model, List<Layer> layers, int storedCount,
        IReadOnlyDictionary<string, List<StoredArray>> groups)
    {
        if (storedCount != layers.Count) return null;
        var byLayer = KerasWeightPaths.Walk(model).Layers.ToDictionary(e => e.Layer, e => e.Groups);
        var pairs = new List<(Layer, StoredLayer)>();
        foreach (var layer in layers)
        {
            if (!byLayer.TryGetValue(layer, out var layerGroups) || layerGroups.Count == 0) return null;
            var arrays = new List<StoredArray>();
            foreach (var g in layerGroups.Where(g => g.Variables.Count > 0))
            {
                if (!groups.TryGetValue(g.Path, out var found)) return null;
                arrays.AddRange(found);
            }
            pairs.Add((layer, new StoredLayer(layerGroups[0].Path, arrays)));
        }
        return pairs;
    }

    private static IReadOnlyList<string> AssignPairs(Model model, List<(Layer Layer, StoredLayer Stored)> pairs, string path, bool skipMismatch,
        List<string> warnings)
    {
        var assignments = new List<(Variable Variable, float[] Data)>();
        foreach (var (layer, s) in pairs)
        {
            var ws = layer.Weights;
            string? problem = null;
            if (ws.Count != s.Arrays.Count)
                problem = $"layer '{layer.Name}' ({layer.GetType().Name}) has {ws.Count} weight(s) with shapes " +
                    $"{string.Join(", ", ws.Select(w => w.Shape))}; '{path}' holds {s.Arrays.Count} for layer '{s.Name}' with shapes " +
                    $"{string.Join(", ", s.Arrays.Select(a => WeightFiles.FormatShape(a.Shape)))}";
            else
            {
                for (int i = 0; i < ws.Count && problem is null; i++)
                {
                    if (!ws[i].Value.shape.SequenceEqual(s.Arrays[i].Shape))
                        problem = $"layer '{layer.Name}' ({layer.GetType().Name}): weight '{ws[i].Path}' has shape {ws[i].Shape}; " +
                            $"'{path}' holds shape {WeightFiles.FormatShape(s.Arrays[i].Shape)} ('{s.Arrays[i].Name}' of layer '{s.Name}')";
                }
            }
            if (problem is not null)
            {
                if (!skipMismatch) throw new InvalidDataException($"Cannot load weights: {problem}. Nothing was changed.");
                warnings.Add($"Skipping {problem}.");
                continue;
            }
            for (int i = 0; i < ws.Count; i++) assignments.Add((ws[i], s.Arrays[i].Data));
        }
        foreach (var (v, data) in assignments) v.Assign(data);
        foreach (var w in warnings) Console.Error.WriteLine($"Warning: {w}");
        return warnings;
    }
}
