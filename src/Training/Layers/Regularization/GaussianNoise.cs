using TorchSharp;

namespace OnnxKeras.Layers;

/// <summary>
/// Adds zero-centered Gaussian noise of standard deviation <see cref="Stddev"/> during training only (Keras's
/// <c>GaussianNoise</c>); passes inputs through unchanged at inference.
/// </summary>
/// <example><code>new GaussianNoise(0.1, seed: 42)</code></example>
public sealed class GaussianNoise : Layer
{
    private readonly torch.Generator? generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="stddev">Standard deviation of the noise, in [0, 1] as Keras requires.</param>
    /// <param name="seed">Seed of the layer's own random stream (reproducible noise); null draws from the global
    /// generator (<see cref="Keras.SetRandomSeed"/>).</param>
    public GaussianNoise(double stddev, long? seed = null)
    {
        if (!(stddev >= 0 && stddev <= 1)) throw new ArgumentException($"GaussianNoise: stddev must be between 0 and 1; got {stddev}.", nameof(stddev));
        Stddev = stddev;
        Seed = seed;
        if (seed is long s) generator = new torch.Generator((ulong)s);
    }

    /// <summary>Standard deviation of the noise.</summary>
    public double Stddev { get; }

    /// <summary>Seed of the layer's random stream, or null.</summary>
    public long? Seed { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (!training || Stddev == 0) return inputs;
        return Ops.Add(inputs, Ops.RandomNormal(inputs.Value.shape, 0.0, Stddev, generator, inputs.Value.device));
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("stddev", Stddev).With("seed", Seed);
}
