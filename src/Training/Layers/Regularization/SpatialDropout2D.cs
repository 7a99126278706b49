using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Spatial 2D dropout (Keras's <c>SpatialDropout2D</c>): during training drops whole feature maps, i.e. sets channel c
/// of a sample to 0 everywhere with probability <see cref="Rate"/>, and scales the kept channels by <c>1 / (1 - rate)</c>;
/// passes inputs through unchanged at inference. Input [batch, height, width, channels].
/// </summary>
/// <example><code>new SpatialDropout2D(0.2)</code></example>
public sealed class SpatialDropout2D : Layer
{
    /// <summary>Creates a spatial dropout layer.</summary>
    public SpatialDropout2D(double rate, string? dataFormat = null, long? seed = null)
    {
        if (rate is < 0 or >= 1 || double.IsNaN(rate)) throw new ArgumentException($"SpatialDropout2D: rate must be in [0, 1); got {rate}.", nameof(rate));
        Rate = rate;
        DataFormat = ConvArgs.DataFormat(dataFormat, nameof(SpatialDropout2D));
        Seed = seed;
        InputSpec = new InputSpec { Rank = 4 };
    }

    /// <summary>Fraction of channels dropped.</summary>
    public double Rate { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }
    /// <summary>Optional seed.</summary>
    public long? Seed { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (!training || Rate == 0) return inputs;
        var x = inputs.Value;
        // One keep/drop draw per (sample, channel), broadcast over height and width.
        var keep = rand([x.shape[0], 1, 1, x.shape[3]], x.dtype, x.device).ge_(Rate);
        return x * keep.to_type(x.dtype).mul_(1.0 / (1.0 - Rate));
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("rate", Rate).With("seed", Seed).With("data_format", DataFormat);
}
