namespace OnnxKeras.Layers;

/// <summary>
/// Repeats each value of the three spatial axes of [batch, dim1, dim2, dim3, channels] inputs by integer factors
/// (Keras's <c>UpSampling3D</c>: nearest-neighbour upsampling).
/// </summary>
/// <example><code>new UpSampling3D((1, 2, 2))</code></example>
public sealed class UpSampling3D : BaseUpSampling
{
    /// <summary>Creates an UpSampling3D layer (Keras's default size: (2, 2, 2)).</summary>
    public UpSampling3D(IntTuple? size = null, string? dataFormat = null)
        : base(3, (size ?? 2).Expand(3, nameof(UpSampling3D), "size"), dataFormat, "nearest")
    {
    }
}
