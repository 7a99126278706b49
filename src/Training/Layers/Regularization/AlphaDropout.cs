using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Dropout that keeps the mean and variance of SELU activations (Keras's <c>AlphaDropout</c>), during training only:
/// each element is kept with probability <c>1 - rate</c> or set to <c>alpha' = -alpha * scale</c> (SELU's negative
/// saturation, about -1.7581), then the result is mapped by <c>a * x + b</c> with
/// <c>a = ((1 - rate) * (1 + rate * alpha'^2))^-0.5</c> and <c>b = -a * alpha' * rate</c>. At inference and in the
/// ONNX export the layer is the identity.
/// </summary>
/// <example><code>new AlphaDropout(0.1, noiseShape: new Shape(null, 1, null), seed: 3)</code></example>
public sealed class AlphaDropout : Layer
{
    /// <summary>SELU's alpha (Keras's constant).</summary>
    public const double SeluAlpha = 1.6732632423543772848170429916717;
    /// <summary>SELU's scale (Keras's constant).</summary>
    public const double SeluScale = 1.0507009873554804934193349852946;

    private readonly Generator? generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="rate">Drop probability, in [0, 1) (1 would make the affine correction infinite).</param>
    /// <param name="noiseShape">Shape of the keep/drop mask, batch axis included, broadcast over the input: each entry is
    /// null (the input's size), the input's size or 1 (e.g. <c>(null, 1, null)</c> for one mask per sequence).</param>
    /// <param name="seed">Seed of the layer's own random stream; null draws from the global generator (<see cref="Keras.SetRandomSeed"/>).</param>
    /// <exception cref="ArgumentException"><paramref name="rate"/> is outside [0, 1).</exception>
    public AlphaDropout(double rate, Shape? noiseShape = null, long? seed = null)
    {
        if (!(rate >= 0 && rate < 1)) throw new ArgumentException($"AlphaDropout: rate must be in [0, 1); got {rate}.", nameof(rate));
        Rate = rate;
        NoiseShape = noiseShape;
        Seed = seed;
        if (seed is long s) generator = new Generator((ulong)s);
    }

    /// <summary>Drop probability.</summary>
    public double Rate { get; }
    /// <summary>Shape of the keep/drop mask (null entries: the input's size), or null for the input's shape.</summary>
    public Shape? NoiseShape { get; }
    /// <summary>Seed of the layer's random stream, or null.</summary>
    public long? Seed { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><see cref="NoiseShape"/> does not broadcast to the input's shape.</exception>
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (!training || Rate == 0) return inputs;
        var x = inputs.Value;
        var noise = MaskShape(x.shape);
        var uniform = rand(noise, ScalarType.Float32, CPU, generator: generator ?? Keras.Generator).to(x.device);
        var kept = uniform.ge(Rate).to_type(x.dtype);
        double alphaP = -SeluAlpha * SeluScale;
        double a = Math.Pow((1 - Rate) * (1 + Rate * alphaP * alphaP), -0.5);
        double b = -a * alphaP * Rate;
        var dropped = x * kept + (1 - kept) * alphaP;
        return dropped * a + b;
    }

    private long[] MaskShape(long[] input)
    {
        if (NoiseShape is null) return input;
        if (NoiseShape.Rank != input.Length)
        {
            throw new ArgumentException(
                $"Layer '{Name}' (AlphaDropout): noise_shape {NoiseShape} has rank {NoiseShape.Rank}; the input {Shape.Of(input)} has rank {input.Length}.");
        }
        var shape = new long[input.Length];
        for (int i = 0; i < input.Length; i++)
        {
            shape[i] = NoiseShape[i] ?? input[i];
            if (shape[i] != input[i] && shape[i] != 1)
            {
                throw new ArgumentException($"Layer '{Name}' (AlphaDropout): noise_shape {NoiseShape} does not broadcast to the input shape "
                    + $"{Shape.Of(input)}: each entry must be None, 1 or the input's size.");
            }
        }
        return shape;
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer.</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("rate", Rate).With("seed", Seed).With("noise_shape", NoiseShape?.Dims);
}
