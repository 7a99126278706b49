namespace OnnxKeras.Layers;

/// <summary>
/// Declares the per-sample input shape of a <see cref="Models.Sequential"/> model (Keras's <c>InputLayer</c> /
/// <c>keras.Input</c> as the first entry), so the model builds before it sees data.
/// </summary>
/// <example><code>var model = new Sequential(new InputLayer([784]), new Dense(10, activation: "softmax"));</code></example>
public sealed class InputLayer : Layer
{
    /// <summary>
    /// Creates an input declaration for samples of <paramref name="shape"/> (without the batch dimension); a null
    /// dimension is unknown until data arrives (Keras's None, e.g. the timesteps of variable-length sequences).
    /// </summary>
    public InputLayer(Shape shape)
    {
        if (shape.Any(d => d is <= 0)) throw new ArgumentException($"InputLayer: every per-sample dimension must be a positive number or None; got {shape}.");
        Shape = shape;
    }

    /// <summary>The per-sample shape.</summary>
    public Shape Shape { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => inputs;

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("batch_shape", Shape.WithBatch().Dims);
}
