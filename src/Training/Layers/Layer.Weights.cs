using static TorchSharp.torch;

namespace OnnxKeras.Layers;

// Weights: AddWeight, the size limit, the weight lists, GetWeights/SetWeights.
public abstract partial class Layer
{
    /// <summary>
    /// Creates a weight (Keras's <c>add_weight</c>) in Keras's layout, initialized by <paramref name="initializer"/>
    /// (glorot_uniform by default) on <see cref="Keras.Device"/>. <paramref name="regularizer"/> adds a penalty to the loss;
    /// <paramref name="constraint"/> is applied by the optimizer after each update.
    /// </summary>
    public Variable AddWeight(string name, Shape shape, Initializer? initializer = null, Regularizer? regularizer = null, bool trainable = true,
        Constraint? constraint = null)
    {
        if (!shape.IsFullyDefined)
            throw new ArgumentException($"Layer '{Name}': weight '{name}' needs a fully known shape; got {shape}. Build the layer with a known input size.");
        if (variables.Any(v => v.Name == name)) throw new ArgumentException($"Layer '{Name}' already has a weight named '{name}'.");
        CheckWeightSize(name, shape);
        using var init = (initializer ?? new GlorotUniform()).Generate(shape.ToArray());
        var value = init.to(Keras.Device);
        var v = new Variable(name, $"{Name}/{name}", value, trainable && Trainable, trainable, regularizer, constraint);
        variables.Add(v);
        return v;
    }

    /// <summary>
    /// The most elements one weight may have: 2,147,483,591 (<see cref="Array.MaxLength"/>), because weights are copied
    /// into .NET arrays to be saved, exported and read back.
    /// </summary>
    public const long MaxWeightElements = 2_147_483_591;

    /// <summary>While a model is built from a config (<see cref="Saving.ModelConfig.Deserialize"/>): the byte limit for one weight.</summary>
    [ThreadStatic]
    internal static long? ConfigWeightByteLimit;

    /// <summary>Refuses a weight too large to hold before libtorch is asked to allocate it.</summary>
    private void CheckWeightSize(string name, Shape shape)
    {
        long elements = 1;
        bool overflow = false;
        foreach (var d in shape.Dims)
        {
            if (d is > 0 && elements > MaxWeightElements / d.Value) overflow = true;
            else elements *= d ?? 1;
        }
        string size = overflow ? $"more than {MaxWeightElements:N0} elements" : $"{elements:N0} elements ({elements * sizeof(float):N0} bytes)";
        if (ConfigWeightByteLimit is { } limit && (overflow || elements * sizeof(float) > limit))
            throw new InvalidDataException($"Layer '{Name}': weight '{name}' of shape {shape} would have {size}, more than the " +
                $"{limit:N0} bytes ModelConfig.MaxWeightBytes allows for one weight of a model built from a config. Raise " +
                "ModelConfig.MaxWeightBytes if the config is trusted.");
        if (overflow || elements > MaxWeightElements)
            throw new ArgumentException($"Layer '{Name}': weight '{name}' of shape {shape} would have {size}; one weight holds at most " +
                $"{MaxWeightElements:N0} elements (Layer.MaxWeightElements).");
    }

    /// <summary>This layer's own weights (not its sublayers').</summary>
    protected IReadOnlyList<Variable> OwnWeights => variables;


    /// <summary>All weights: this layer's, then its sublayers' (Keras's order), each once.</summary>
    public IReadOnlyList<Variable> Weights => AllWeights().Distinct().ToList();

    /// <summary>The weights the optimizer updates.</summary>
    public IReadOnlyList<Variable> TrainableWeights => Weights.Where(v => v.Trainable).ToList();

    /// <summary>The weights the optimizer leaves alone (frozen weights, moving statistics).</summary>
    public IReadOnlyList<Variable> NonTrainableWeights => Weights.Where(v => !v.Trainable).ToList();

    private IEnumerable<Variable> AllWeights()
    {
        foreach (var v in variables) yield return v;
        foreach (var l in Sublayers)
        {
            foreach (var v in l.AllWeights()) yield return v;
        }
    }

    /// <summary>Number of scalars in all weights.</summary>
    public long CountParams()
    {
        if (!Built)
            throw new InvalidOperationException($"Layer '{Name}' is not built yet, so its weights do not exist. Call it on data or give " +
                "it an input shape first.");
        return Weights.Sum(v => v.Size);
    }

    /// <summary>Copies of the weights' values in Keras's order and layout.</summary>
    public IReadOnlyList<NDArray> GetWeights() => Weights.Select(v => new NDArray(v.ToArray(), v.Value.shape)).ToList();

    /// <summary>Sets the weights from arrays in Keras's order and layout; every shape must match, and nothing is changed when one does not.</summary>
    public void SetWeights(IReadOnlyList<NDArray> values)
    {
        var ws = Weights;
        if (values.Count != ws.Count) throw new ArgumentException($"Layer '{Name}' has {ws.Count} weights; got {values.Count} arrays.");
        for (int i = 0; i < ws.Count; i++)
        {
            if (!values[i].Shape.SequenceEqual(ws[i].Value.shape))
                throw new ArgumentException($"Layer '{Name}': weight '{ws[i].Path}' has shape {ws[i].Shape}; got an array of shape " +
                    $"({string.Join(", ", values[i].Shape)}).");
        }
        for (int i = 0; i < ws.Count; i++) ws[i].Assign(values[i].Data);
    }
}
