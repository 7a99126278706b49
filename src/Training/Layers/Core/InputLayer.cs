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
    /// <paramref name="dtype"/> is the input's type as Keras records it: float32, or int32/int64 for indices (e.g. into an
    /// Embedding); it is written to the config.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension &lt;= 0, or another dtype.</exception>
    public InputLayer(Shape shape, string dtype = "float32")
    {
        if (shape.Any(d => d is <= 0)) throw new ArgumentException($"InputLayer: every per-sample dimension must be a positive number or None; got {shape}.");
        if (!InputDtypes.Contains(dtype)) throw new ArgumentException($"Input dtype must be {string.Join(", ", InputDtypes)}; got '{dtype}'.", nameof(dtype));
        Shape = shape;
        Dtype = dtype;
        Built = true; // as Keras 3's InputLayer: it has no weights to make (a summary shows 0 parameters, not "unbuilt")
    }

    /// <summary>The input types an InputLayer (and <see cref="Keras.Input"/>) takes.</summary>
    internal static readonly string[] InputDtypes = ["float32", "int32", "int64"];

    /// <summary>The input's dtype as Keras records it (float32, int32 or int64).</summary>
    public string Dtype { get; }

    /// <summary>The per-sample shape.</summary>
    public Shape Shape { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => inputs;

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("dtype", Dtype).With("batch_shape", Shape.WithBatch().Dims);
}
