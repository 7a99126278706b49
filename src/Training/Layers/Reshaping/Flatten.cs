namespace OnnxKeras.Layers;

/// <summary>Flattens each sample to one dimension: [batch, d1, d2, ...] to [batch, d1*d2*...] (Keras's <c>Flatten</c>, channels_last order).</summary>
public sealed class Flatten : Layer
{
    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Flatten(inputs);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        var rest = inputShape.Slice(1, inputShape.Rank);
        return new Shape(inputShape[0], rest.NumElements);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("data_format", "channels_last");
}
