using OnnxKeras.Layers;

namespace OnnxKeras.Models;

/// <summary>
/// The layer graph of a functional model (and, once built, of a <see cref="Sequential"/>): inputs, outputs and the
/// layer calls between them in an order where every call comes after the calls that feed it. Export, saving and
/// Summary walk this one graph.
/// </summary>
public sealed class FunctionalGraph
{
    internal FunctionalGraph(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor> outputs, string modelName)
    {
        if (inputs.Count == 0) throw new ArgumentException($"Model '{modelName}' needs at least one input.");
        if (outputs.Count == 0) throw new ArgumentException($"Model '{modelName}' needs at least one output.");
        foreach (var t in inputs)
        {
            if (!t.IsSymbolic || t.History?.Layer is not InputLayer)
                throw new ArgumentException($"Model '{modelName}': inputs must be tensors returned by Keras.Input(...); got {t}.");
        }
        foreach (var t in outputs)
        {
            if (!t.IsSymbolic || t.History is null)
                throw new ArgumentException($"Model '{modelName}': outputs must be symbolic tensors produced by calling layers on " +
                    $"Keras.Input tensors; got {t}.");
        }
        if (inputs.Distinct().Count() != inputs.Count) throw new ArgumentException($"Model '{modelName}': the same input is given twice.");
        Inputs = inputs.ToArray();
        Outputs = outputs.ToArray();

        var inputNodes = new HashSet<Node>(inputs.Select(t => t.History!.Node));
        var order = new List<Node>();
        var state = new Dictionary<Node, bool>(); // false: on the stack, true: done
        foreach (var t in outputs) Visit(t.History!.Node, null);
        Nodes = order;

        void Visit(Node node, Node? consumer)
        {
            if (state.TryGetValue(node, out bool done))
            {
                if (!done) throw new ArgumentException($"Model '{modelName}': the graph has a cycle through layer '{node.Layer.Name}'.");
                return;
            }
            if (node.Layer is InputLayer && !inputNodes.Contains(node))
            {
                var needed = consumer is null ? "an output" : $"layer '{consumer.Layer.Name}'";
                throw new ArgumentException($"Graph disconnected in model '{modelName}': {needed} depends on input '{node.Layer.Name}' " +
                    $"{node.Outputs[0].Shape}, which is not among the model's inputs " +
                    $"({string.Join(", ", inputs.Select(i => i.History!.Layer.Name))}). Pass it in the inputs list.");
            }
            state[node] = false;
            foreach (var parent in node.ParentNodes) Visit(parent, node);
            state[node] = true;
            order.Add(node);
        }

        foreach (var n in inputNodes)
        {
            if (!state.ContainsKey(n)) throw new ArgumentException($"Model '{modelName}': input '{n.Layer.Name}' is not used to compute any output.");
        }
        Layers = order.Select(n => n.Layer).Distinct().ToList();
        var duplicate = Layers.GroupBy(l => l.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Model '{modelName}': the name '{duplicate.Key}' is used by {duplicate.Count()} different " +
                "layers; layer names must be unique.");
    }

    /// <summary>The symbolic inputs.</summary>
    public IReadOnlyList<KTensor> Inputs { get; }

    /// <summary>The symbolic outputs.</summary>
    public IReadOnlyList<KTensor> Outputs { get; }

    /// <summary>Every layer call, inputs first, each after the calls it depends on.</summary>
    public IReadOnlyList<Node> Nodes { get; }

    /// <summary>The distinct layers (InputLayers included, as in Keras 3), in graph order.</summary>
    public IReadOnlyList<Layer> Layers { get; }

    /// <summary>Runs the graph eagerly on <paramref name="inputs"/> (one per model input, in order).</summary>
    internal IReadOnlyList<KTensor> Run(IReadOnlyList<KTensor> inputs, bool training)
    {
        if (inputs.Count != Inputs.Count)
            throw new ArgumentException($"The model takes {Inputs.Count} input(s) " +
                $"({string.Join(", ", Inputs.Select(i => $"{i.Name} {i.Shape}"))}); got {inputs.Count}.");
        var values = new Dictionary<KTensor, KTensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < inputs.Count; i++)
        {
            var expected = Inputs[i].Shape;
            var actual = inputs[i].Shape;
            // Traced inputs (export) may vary axes the exporter was told are dynamic; everything else must fit.
            bool traced = inputs[i].Tracer is not null;
            if (actual.Rank != expected.Rank || (!traced && expected.Zip(actual).Any(p => p.First is long e && p.Second != e)))
                throw new ArgumentException($"Input '{Inputs[i].Name}' expects shape {expected}; got {actual}.");
            values[Inputs[i]] = inputs[i];
        }
        foreach (var node in Nodes)
        {
            if (node.Layer is InputLayer) continue;
            var args = node.Inputs.Take(node.ArgCount).Select(t => values[t]).ToList();
            var outs = node.Kwargs.Count == 0 ? node.Layer.ApplyMany(args, training)
                : node.Layer.ApplyWithKwargs(args, node.ResolveKwargs(values), training);
            for (int k = 0; k < outs.Count; k++) values[node.Outputs[k]] = outs[k];
        }
        return Outputs.Select(t => values[t]).ToList();
    }
}
