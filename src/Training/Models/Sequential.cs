using OnnxKeras.Layers;

namespace OnnxKeras.Models;

/// <summary>
/// A plain stack of layers, each with one input and one output (Keras's <c>Sequential</c>). The input shape comes
/// from a leading <see cref="InputLayer"/>, from the first layer's <see cref="Layer.InputShape"/>, or from the first data seen.
/// </summary>
/// <example><code>
/// var model = new Sequential(
///     new InputLayer([72]),
///     new Dense(32, activation: "relu"),
///     new Dense(10, activation: "softmax"));
/// </code></example>
public sealed class Sequential : Model
{
    private readonly List<Layer> layers = [];
    private Shape? declaredInput;
    private bool inputDeclared; // by an InputLayer or the first layer's InputShape, not learned from the first data
    private InputLayer? inputLayer; // the given InputLayer, or one made when the input shape became known (Keras 3 prepends one)

    /// <summary>Creates a model from layers (an <see cref="InputLayer"/> first declares the input shape).</summary>
    public Sequential(params Layer[] layers)
    {
        foreach (var l in layers) Add(l);
    }

    /// <summary>The layers, in order (the InputLayer is not listed, as in Keras).</summary>
    public override IReadOnlyList<Layer> Layers => layers;

    /// <inheritdoc />
    public override IReadOnlyList<Layer> Sublayers => layers;

    /// <summary>Appends a layer; builds the model when its input shape is known.</summary>
    /// <example><code>
    /// var model = new Sequential();
    /// model.Add(new Dense(64, activation: "relu") { InputShape = [32] });
    /// model.Add(new Dense(10, activation: "softmax"));
    /// </code></example>
    public void Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer is InputLayer input)
        {
            if (layers.Count > 0 || declaredInput is not null) throw new ArgumentException("An InputLayer can only be the first layer of a Sequential model.");
            declaredInput = input.Shape;
            inputDeclared = true;
            inputLayer = input;
            chain = null;
            return;
        }
        if (layers.Contains(layer)) throw new ArgumentException($"Layer '{layer.Name}' is already in model '{Name}'.");
        if (layers.Any(l => l.Name == layer.Name))
            throw new ArgumentException($"Model '{Name}' already has a layer named '{layer.Name}'; layer names must be unique.");
        if (layers.Count == 0 && declaredInput is null && layer.InputShape is not null)
        {
            // Keras 3's Sequential.add: a first layer's input_shape becomes an InputLayer (auto-named "input_layer", ...).
            declaredInput = layer.InputShape;
            inputDeclared = true;
            inputLayer = new InputLayer(layer.InputShape);
        }
        layers.Add(layer);
        InvalidateSublayers();
        chain = null;
        if (declaredInput is not null) BuildFromDeclared();
    }

    /// <summary>Removes the last layer (Keras's <c>pop</c>).</summary>
    /// <example><code>model.Pop();   // removes the last layer</code></example>
    public void Pop()
    {
        if (layers.Count == 0) throw new InvalidOperationException("There are no layers to remove.");
        layers.RemoveAt(layers.Count - 1);
        InvalidateSublayers();
        chain = null;
    }

    private void BuildFromDeclared()
    {
        // Build each layer as it is added, like Keras does once the input shape is known, so shape errors surface at once.
        var shape = declaredInput!.WithBatch();
        foreach (var l in layers)
        {
            l.EnsureBuilt(shape);
            shape = l.ComputeOutputShape(shape);
        }
        Built = true; // as in Keras, a Sequential with a known input shape is built (and rebuilt as layers are added)
    }

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        if (layers.Count == 0) throw new InvalidOperationException($"Sequential model '{Name}' has no layers; add some before training.");
        // A None (null) dimension of the declared shape, e.g. the timesteps of a sequence, accepts any size.
        if (declaredInput is not null && (inputShape.Rank != declaredInput.Rank + 1
            || declaredInput.Zip(inputShape.Skip(1)).Any(p => p.First is long d && p.Second != d)))
            throw new ArgumentException($"Model '{Name}' was declared for inputs of shape {declaredInput.WithBatch()}; got data of shape {inputShape}.");
        var shape = inputShape;
        foreach (var l in layers)
        {
            l.EnsureBuilt(shape);
            shape = l.ComputeOutputShape(shape);
        }
        declaredInput ??= inputShape.Slice(1, inputShape.Rank);
        inputLayer ??= new InputLayer(declaredInput); // Keras 3's Sequential.build prepends InputLayer(batch_shape)
    }

    /// <summary>
    /// The model's InputLayer: the one given (its name kept), or, as Keras 3 does, one named <c>input_layer</c> (then
    /// <c>input_layer_1</c>, ...) made when the input shape became known (a first layer's <see cref="Layer.InputShape"/> or
    /// the first data); null until then. Its name is the model's input name (<see cref="Model.InputNames"/>, ONNX export).
    /// </summary>
    public InputLayer? InputLayer => inputLayer;

    private FunctionalGraph? chain;

    /// <summary>
    /// The model as a layer graph (Keras 3 builds a Sequential as a functional model): an input followed by each layer,
    /// available once the input shape is known. Export and saving walk this graph.
    /// </summary>
    public override FunctionalGraph? Graph
    {
        get
        {
            if (chain is not null || declaredInput is null || layers.Count == 0) return chain;
            inputLayer ??= new InputLayer(declaredInput);
            var input = Node.Input(inputLayer, declaredInput.WithBatch(), inputLayer.Name);
            var x = input;
            foreach (var l in layers) x = l.Apply(x);
            return chain = new FunctionalGraph([input], [x], Name);
        }
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (inputDeclared && declaredInput is not null)
        {
            var shape = inputs.Shape;
            if (shape.Rank != declaredInput.Rank + 1 || !FitsDeclaredInput(shape))
                throw new ArgumentException($"Model '{Name}' was declared for inputs of shape {declaredInput.WithBatch()}; got data of shape {shape}.");
        }
        var x = inputs;
        foreach (var l in layers) x = l.Apply(x, training);
        return x;
    }

    /// <summary>Whether every known dimension of the declared input matches <paramref name="shape"/> (which has the batch axis too).</summary>
    private bool FitsDeclaredInput(Shape shape)
    {
        for (int i = 0; i < declaredInput!.Rank; i++)
        {
            if (declaredInput[i] is long d && d != shape[i + 1]) return false;
        }
        return true;
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => layers.Aggregate(inputShape, (s, l) => l.ComputeOutputShape(s));

    /// <inheritdoc />
    protected override IEnumerable<(Layer Layer, Shape? OutputShape)> SummaryRows()
    {
        Shape? shape = declaredInput?.WithBatch();
        foreach (var l in layers)
        {
            shape = shape is null ? null : l.ComputeOutputShape(shape);
            yield return (l, shape);
        }
    }
}
