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

    /// <summary>The symbolic tensors it was called on.</summary>
    public IReadOnlyList<KTensor> Inputs { get; }

    /// <summary>The symbolic tensors it produced.</summary>
    public IReadOnlyList<KTensor> Outputs { get; private set; } = [];

    /// <summary>The nodes that produced this node's inputs (none for an input node).</summary>
    public IEnumerable<Node> ParentNodes => Inputs.Select(t => t.History?.Node).OfType<Node>().Distinct();

    internal static IReadOnlyList<KTensor> Record(Layer layer, IReadOnlyList<KTensor> inputs, IReadOnlyList<Shape> outputShapes)
    {
        var node = new Node(layer, inputs.ToArray());
        node.Outputs = outputShapes.Select((s, i) => KTensor.Symbolic(s, null, new KerasHistory(layer, node, i))).ToArray();
        layer.AddInboundNode(node);
        return node.Outputs;
    }

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
