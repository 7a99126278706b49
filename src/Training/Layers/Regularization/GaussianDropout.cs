using TorchSharp;

namespace OnnxKeras.Layers;

/// <summary>
/// Multiplies inputs by 1-centered Gaussian noise of standard deviation <c>sqrt(rate / (1 - rate))</c> during training
/// only (Keras's <c>GaussianDropout</c>); passes inputs through unchanged at inference and in the ONNX export.
/// </summary>
/// <example><code>new GaussianDropout(0.2, seed: 7)</code></example>
public sealed class GaussianDropout : Layer
{
    private readonly torch.Generator? generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="rate">Drop probability, in [0, 1) (1 would make the noise infinite).</param>
    /// <param name="seed">Seed of the layer's own random stream; null draws from the global generator (<see cref="Keras.SetRandomSeed"/>).</param>
    /// <exception cref="ArgumentException"><paramref name="rate"/> is outside [0, 1).</exception>
    public GaussianDropout(double rate, long? seed = null)
    {
        if (!(rate >= 0 && rate < 1)) throw new ArgumentException($"GaussianDropout: rate must be in [0, 1); got {rate}.", nameof(rate));
        Rate = rate;
        Seed = seed;
        if (seed is long s) generator = new torch.Generator((ulong)s);
    }

    /// <summary>Drop probability.</summary>
    public double Rate { get; }
    /// <summary>Seed of the layer's random stream, or null.</summary>
    public long? Seed { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (!training || Rate == 0) return inputs;
        double stddev = Math.Sqrt(Rate / (1.0 - Rate));
        return Ops.Multiply(inputs, Ops.RandomNormal(inputs.Value.shape, 1.0, stddev, generator, inputs.Value.device));
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each element alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("rate", Rate).With("seed", Seed);
}
