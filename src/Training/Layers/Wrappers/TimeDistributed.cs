namespace OnnxKeras.Layers;

/// <summary>
/// Applies a layer to every timestep of a sequence (Keras's <c>TimeDistributed</c>): an input [batch, time, ...] is
/// folded to [batch * time, ...], the wrapped layer is called once on it, and its output is unfolded to
/// [batch, time, ...]; the same weights serve every timestep. The weights are the wrapped layer's. An input mask
/// ([batch, time]) passes through to the output unchanged; it is not given to the wrapped layer (Keras hands it a
/// per-timestep [batch] mask, which no built-in layer that reads masks can use). Keras 3 calls the layer once per
/// timestep; folding gives the same result for every layer that treats samples independently (all built-in layers
/// except <see cref="BatchNormalization"/> in training, whose batch statistics here span all timesteps).
/// </summary>
/// <example><code>var y = new TimeDistributed(new Dense(8)).Apply(Keras.Input([10, 16]));   // [batch, 10, 8]</code></example>
public sealed class TimeDistributed : Layer
{
    /// <summary>Wraps <paramref name="layer"/>, which must take one input and give one output.</summary>
    /// <param name="layer">The layer to apply to each timestep; it sees inputs [batch, ...] (the time axis removed).</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> is null.</exception>
    public TimeDistributed(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        Layer = layer;
    }

    /// <summary>The wrapped layer.</summary>
    public Layer Layer { get; }

    /// <inheritdoc />
    public override IReadOnlyList<Layer> Sublayers => [Layer];

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <summary>The wrapped layer's input shape: the time axis removed (Keras's <c>_get_child_input_shape</c>).</summary>
    /// <exception cref="ArgumentException">The input has fewer than 3 dimensions.</exception>
    private Shape ChildShape(Shape inputShape) => inputShape.Rank >= 3 ? new([inputShape[0], .. inputShape.Dims[2..]])
        : throw new ArgumentException($"Layer '{Name}' (TimeDistributed) needs an input with at least 3 dimensions [batch, time, ...]; " +
            $"got shape {inputShape}.");

    /// <inheritdoc />
    public override void Build(Shape inputShape) => Layer.EnsureBuilt(ChildShape(inputShape));

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var shape = inputs.Shape;
        var child = ChildShape(shape);
        long time = shape[1]!.Value;
        var rest = child.Dims[1..].Select(d => d!.Value).ToArray();
        if (time == 0 || rest.Contains(0))
            throw new ArgumentException($"Layer '{Name}' (TimeDistributed) cannot fold an input of shape {shape} with an empty " +
                "time or feature axis.");
        // -1 for the batch in both reshapes, so the ops do not depend on the batch size (ONNX export).
        var folded = Ops.Reshape(inputs.WithMask(null), [-1, .. rest]);
        var y = Layer.Apply(folded, training);
        var outRest = y.Shape.Dims[1..].Select(d => d!.Value).ToArray();
        return Ops.Reshape(y, [-1, time, .. outRest]);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        var childOut = Layer.ComputeOutputShape(ChildShape(inputShape));
        return new([childOut[0], inputShape[1], .. childOut.Dims[1..]]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("layer", LayerRegistry.Serialize(Layer));
}
