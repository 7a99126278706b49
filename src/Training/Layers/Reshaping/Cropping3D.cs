namespace OnnxKeras.Layers;

/// <summary>
/// Crops the three spatial axes of [batch, dim1, dim2, dim3, channels] inputs (Keras's <c>Cropping3D</c>). <c>cropping</c>
/// is an int (all sides), (d1, d2, d3) (symmetric per axis) or three (before, after) pairs. The output is a view of the input.
/// </summary>
/// <example><code>new Cropping3D(((1, 1), (0, 2), (1, 0)))</code></example>
public sealed class Cropping3D : BaseCropping
{
    /// <summary>Creates a Cropping3D layer (Keras's default: 1 on every side).</summary>
    public Cropping3D(IntPairs? cropping = null, string? dataFormat = null)
        : base(3, (cropping ?? 1).Expand(3, nameof(Cropping3D), "cropping"), dataFormat)
    {
    }
}
