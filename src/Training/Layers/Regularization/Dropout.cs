using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Sets a fraction <see cref="Rate"/> of inputs to 0 during training and scales the rest by <c>1 / (1 - rate)</c>;
/// passes inputs through unchanged at inference (Keras's <c>Dropout</c>).
/// </summary>
public sealed class Dropout : Layer
{
    /// <summary>Creates a dropout layer.</summary>
    public Dropout(double rate, long? seed = null)
    {
        if (rate is < 0 or >= 1 || double.IsNaN(rate)) throw new ArgumentException($"Dropout: rate must be in [0, 1); got {rate}.", nameof(rate));
        Rate = rate;
        Seed = seed;
    }

    /// <summary>Fraction of inputs dropped.</summary>
    public double Rate { get; }

    /// <summary>Optional seed.</summary>
    public long? Seed { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (!training || Rate == 0) return inputs;
        return nn.functional.dropout(inputs.Value, Rate, training: true);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("rate", Rate).With("seed", Seed);
}
