namespace OnnxKeras.Layers;

/// <summary>
/// One call of a layer on symbolic tensors in the functional API (Keras's <c>Node</c>): the layer, the tensors it was
/// called on, and the symbolic tensors it produced. A shared layer has one node per call.
/// </summary>
public sealed class Node
{
    private Node(Layer layer, IReadOnlyList<KTensor> inputs)
    {
        Layer = layer;
        Inputs = inputs;
    }

    /// <summary>The layer called.</summary>
    public Layer Layer { get; }

    /// <summary>The symbolic tensors it was called on: the positional ones, then the tensors among <see cref="Kwargs"/>.</summary>
    public IReadOnlyList<KTensor> Inputs { get; }

    /// <summary>
    /// Keras's keyword call arguments of this call (<c>mha(q, v, attention_mask=m, use_causal_mask=True)</c>): values are
    /// booleans, numbers, strings or symbolic tensors; empty for a call with positional tensors only.
    /// </summary>
    public IReadOnlyDictionary<string, object?> Kwargs { get; private set; } = new Dictionary<string, object?>();

    /// <summary>How many of <see cref="Inputs"/> are positional (Keras's <c>args</c>); the rest are tensors of <see cref="Kwargs"/>.</summary>
    public int ArgCount { get; private set; }

    /// <summary>The symbolic tensors it produced.</summary>
    public IReadOnlyList<KTensor> Outputs { get; private set; } = [];

    /// <summary>The nodes that produced this node's inputs (none for an input node).</summary>
    public IEnumerable<Node> ParentNodes => Inputs.Select(t => t.History?.Node).OfType<Node>().Distinct();

    internal static IReadOnlyList<KTensor> Record(Layer layer, IReadOnlyList<KTensor> inputs, IReadOnlyList<Shape> outputShapes)
    {
        var node = new Node(layer, inputs.ToArray()) { ArgCount = inputs.Count };
        node.Outputs = outputShapes.Select((s, i) => KTensor.Symbolic(s, null, new KerasHistory(layer, node, i))).ToArray();
        layer.AddInboundNode(node);
        return node.Outputs;
    }

    /// <summary>A call with keyword arguments: the tensors among them follow the positional ones in <see cref="Inputs"/>.</summary>
    internal static IReadOnlyList<KTensor> Record(Layer layer, IReadOnlyList<KTensor> args, IReadOnlyDictionary<string, object?> kwargs,
        IReadOnlyList<Shape> outputShapes)
    {
        var node = new Node(layer, [.. args, .. kwargs.Values.OfType<KTensor>()])
        {
            ArgCount = args.Count,
            Kwargs = new Dictionary<string, object?>(kwargs, StringComparer.Ordinal),
        };
        node.Outputs = outputShapes.Select((s, i) => KTensor.Symbolic(s, null, new KerasHistory(layer, node, i))).ToArray();
        layer.AddInboundNode(node);
        return node.Outputs;
    }

    /// <summary>The keyword arguments with each symbolic tensor replaced by its value in <paramref name="values"/>.</summary>
    internal IReadOnlyDictionary<string, object?> ResolveKwargs(IReadOnlyDictionary<KTensor, KTensor> values) =>
        Kwargs.ToDictionary(kv => kv.Key, kv => kv.Value is KTensor t ? values[t] : kv.Value, StringComparer.Ordinal);

    /// <summary>An input node: the origin of a <see cref="Keras.Input"/> tensor.</summary>
    internal static KTensor Input(InputLayer layer, Shape shape, string? name)
    {
        var node = new Node(layer, []);
        var t = KTensor.Symbolic(shape, name, new KerasHistory(layer, node, 0));
        node.Outputs = [t];
        layer.AddInboundNode(node);
        return t;
    }

    /// <inheritdoc />
    public override string ToString() => $"<Node {Layer.Name}: {string.Join(", ", Inputs.Select(t => t.Shape))} -> " +
        $"{string.Join(", ", Outputs.Select(t => t.Shape))}>";
}
