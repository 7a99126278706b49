namespace OnnxKeras.Layers;

/// <summary>Repeats each step of [batch, steps, features] inputs <see cref="BaseUpSampling.Size"/> times (Keras's <c>UpSampling1D</c>).</summary>
/// <example><code>new UpSampling1D(size: 3)</code></example>
public sealed class UpSampling1D : BaseUpSampling
{
    /// <summary>Creates an UpSampling1D layer (Keras's default size: 2).</summary>
    /// <exception cref="ArgumentException"><paramref name="size"/> is not positive.</exception>
    public UpSampling1D(int size = 2) : base(1, new IntTuple(size).Expand(1, nameof(UpSampling1D), "size"), null, "nearest")
    {
    }
}
