namespace OnnxKeras.Layers;

/// <summary>Applies an activation function (Keras's <c>layers.Activation</c>).</summary>
/// <example><code>new Activation("relu")</code></example>
public sealed class Activation(ActivationFunction activation) : Layer
{
    /// <summary>The function.</summary>
    public ActivationFunction Function { get; } = activation ?? throw new ArgumentNullException(nameof(activation));

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Function.Apply(inputs);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("activation", Function.Name);
}
