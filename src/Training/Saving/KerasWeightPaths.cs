using System.Text.RegularExpressions;
using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

/// <summary>One object's group in a Keras 3 weights file: <c>&lt;Path&gt;/vars</c> (attribute <c>name</c>) holding <c>0..n</c>.</summary>
internal sealed record WeightGroup(string Path, string Name, IReadOnlyList<Variable> Variables, Layer? Owner = null);

/// <summary>
/// Where Keras 3 puts each layer's variables in <c>.weights.h5</c> / <c>model.weights.h5</c> (keras/src/saving/saving_lib.py,
/// <c>_save_state</c>, <c>_walk_saveable</c>, <c>_save_container_state</c>): not by layer name but by the object's path in
/// the tracking tree. The model's own group is <c>vars</c>; a Sequential or functional model's layer list is walked first,
/// as <c>layers</c>, and a list names each element by its snake_case class name with a per-list counter
/// (<c>layers/dense</c>, <c>layers/dense_1</c>, <c>layers/dropout</c>, ...). Attributes name the others
/// (<c>layers/lstm/cell</c>, <c>layers/bidirectional/forward_layer</c>). An object reached twice is written once, at its
/// first path, but still takes its counter slot. Every layer gets a <c>vars</c> group, weights or not, whose attribute
/// <c>name</c> is the layer's name (Keras 3.8 and later write it; loading ignores it).
/// </summary>
internal static partial class KerasWeightPaths
{
    /// <summary>The model's own group (path "") and, for each layer the model tracks, the groups under it in weight order.</summary>
    public static (WeightGroup Root, List<(Layer Layer, List<WeightGroup> Groups)> Layers) Walk(Model model)
    {
        var visited = new HashSet<Layer>(ReferenceEqualityComparer.Instance) { model };
        var root = new WeightGroup("", model.Name, OwnVariables(model));
        var layers = new List<(Layer, List<WeightGroup>)>();
        foreach (var (layer, path) in Named(TrackedLayers(model), "layers"))
        {
            var groups = new List<WeightGroup>();
            Walk(layer, path, visited, groups);
            layers.Add((layer, groups));
        }
        return (root, layers);
    }

    /// <summary>Every group of the model, the root first, in the order Keras visits them.</summary>
    public static List<WeightGroup> AllGroups(Model model)
    {
        var (root, layers) = Walk(model);
        return [root, .. layers.SelectMany(l => l.Groups)];
    }

    private static void Walk(Layer layer, string path, HashSet<Layer> visited, List<WeightGroup> into)
    {
        if (!visited.Add(layer)) return;
        switch (layer)
        {
            case Model m:
                into.Add(new WeightGroup(path, m.Name, OwnVariables(m), m));
                foreach (var (child, childPath) in Named(TrackedLayers(m), $"{path}/layers")) Walk(child, childPath, visited, into);
                break;
            case RecurrentLayer r:
                // keras.layers.LSTM/GRU/SimpleRNN keep their variables in a cell object (attribute `cell`, named e.g. lstm_cell).
                into.Add(new WeightGroup(path, r.Name, []));
                into.Add(new WeightGroup($"{path}/cell", $"{SnakeCase(ClassName(r))}_cell", OwnVariables(r)));
                break;
            case Bidirectional b:
                into.Add(new WeightGroup(path, b.Name, OwnVariables(b)));
                Walk(b.ForwardLayer, $"{path}/forward_layer", visited, into);
                Walk(b.BackwardLayer, $"{path}/backward_layer", visited, into);
                break;
            case MultiHeadAttention mha when mha.Built:
                // Keras 3 reaches the projections through the properties query_dense, key_dense, value_dense and output_dense;
                // listed here in weight order (the file is keyed by path), then the variable-less _dropout_layer and _softmax.
                into.Add(new WeightGroup(path, mha.Name, OwnVariables(mha)));
                Walk(mha.QueryDense, $"{path}/query_dense", visited, into);
                Walk(mha.KeyDense, $"{path}/key_dense", visited, into);
                Walk(mha.ValueDense, $"{path}/value_dense", visited, into);
                Walk(mha.OutputDense, $"{path}/output_dense", visited, into);
                into.Add(new WeightGroup($"{path}/_dropout_layer", "dropout", []));
                into.Add(new WeightGroup($"{path}/_softmax", "softmax", []));
                break;
            default:
                into.Add(new WeightGroup(path, layer.Name, OwnVariables(layer), layer));
                // A custom layer's sublayers: Keras would use the Python attribute names, which C# cannot know; they are
                // named as a tracked list names its elements (the rule a subclassed model's `layers` follows).
                foreach (var (child, childPath) in Named(layer.Sublayers, path)) Walk(child, childPath, visited, into);
                break;
        }
    }

    /// <summary>Keras's <c>_save_container_state</c> names: snake_case class name, then <c>_1</c>, <c>_2</c>, ... per class within one list.</summary>
    private static IEnumerable<(Layer Layer, string Path)> Named(IEnumerable<Layer> layers, string parent)
    {
        var used = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var l in layers)
        {
            string name = SnakeCase(ClassName(l));
            if (used.TryGetValue(name, out int n))
            {
                used[name] = ++n;
                name = $"{name}_{n}";
            }
            else used[name] = 0;
            yield return (l, $"{parent}/{name}");
        }
    }

    /// <summary>
    /// The layers Keras's <c>model.layers</c> lists: a Sequential's without its InputLayer; a functional model's in
    /// Keras's operation order (InputLayers included); a subclassed model's tracked layers.
    /// </summary>
    internal static IReadOnlyList<Layer> TrackedLayers(Model model) => model switch
    {
        Sequential s => s.Layers.Where(l => l is not InputLayer).ToList(),
        { Graph: { } graph } => OperationOrder(graph),
        _ => model.Layers,
    };

    /// <summary>
    /// Keras's functional layer order (keras/src/ops/function.py, <c>map_graph</c>): layers by decreasing depth (the longest
    /// path to an output), ties by first visit in a depth-first walk from the outputs through each call's inputs.
    /// </summary>
    internal static List<Layer> OperationOrder(FunctionalGraph graph)
    {
        var finished = new HashSet<Node>();
        var postOrder = new List<Node>();
        var firstVisit = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        void Visit(Node node)
        {
            if (!finished.Add(node)) return;
            firstVisit.TryAdd(node.Layer, firstVisit.Count);
            foreach (var parent in node.ParentNodes) Visit(parent);
            postOrder.Add(node);
        }
        foreach (var t in graph.Outputs) Visit(t.History!.Node);

        var nodeDepth = new Dictionary<Node, int>();
        var layerDepth = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        for (int i = postOrder.Count - 1; i >= 0; i--)
        {
            var node = postOrder[i];
            int depth = Math.Max(nodeDepth.GetValueOrDefault(node), layerDepth.GetValueOrDefault(node.Layer));
            layerDepth[node.Layer] = depth;
            nodeDepth[node] = depth;
            foreach (var parent in node.ParentNodes) nodeDepth[parent] = Math.Max(depth + 1, nodeDepth.GetValueOrDefault(parent));
        }
        return layerDepth.Keys.OrderByDescending(l => layerDepth[l]).ThenBy(l => firstVisit[l]).ToList();
    }

    /// <summary>The layer's own variables (not its sublayers'), in its weight order.</summary>
    private static List<Variable> OwnVariables(Layer layer)
    {
        var subWeights = layer.Sublayers.SelectMany(s => s.Weights).ToHashSet();
        return layer.Weights.Where(v => !subWeights.Contains(v)).ToList();
    }

    /// <summary>The Python class name: the registered name's class part for registered classes, else the C# class (built-ins carry Keras's names).</summary>
    private static string ClassName(Layer layer)
    {
        var registered = LayerRegistry.RegisteredName(layer.GetType());
        return registered is null ? layer.GetType().Name : registered[(registered.IndexOf('>', StringComparison.Ordinal) + 1)..];
    }

    /// <summary>Keras's <c>naming.to_snake_case</c>: drop non-word characters, then split words with underscores and lowercase.</summary>
    internal static string SnakeCase(string name)
    {
        name = NonWord().Replace(name, "");
        name = CapitalizedWord().Replace(name, "$1_$2");
        return LowerUpper().Replace(name, "$1_$2").ToLowerInvariant();
    }

    [GeneratedRegex(@"\W+")]
    private static partial Regex NonWord();

    [GeneratedRegex("(.)([A-Z][a-z]+)")]
    private static partial Regex CapitalizedWord();

    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex LowerUpper();
}
