namespace OnnxKeras.Layers;

/// <summary>
/// Pads the three spatial axes of [batch, dim1, dim2, dim3, channels] inputs with zeros (Keras's <c>ZeroPadding3D</c>).
/// <c>padding</c> is an int (all sides), (d1, d2, d3) (symmetric per axis) or ((before, after), (before, after), (before, after)).
/// </summary>
/// <example><code>new ZeroPadding3D(((1, 0), (0, 1), (2, 2)))</code></example>
public sealed class ZeroPadding3D : BaseZeroPadding
{
    /// <summary>Creates a ZeroPadding3D layer (Keras's default padding: 1 on every side).</summary>
    public ZeroPadding3D(IntPairs? padding = null, string? dataFormat = null)
        : base(3, (padding ?? 1).Expand(3, nameof(ZeroPadding3D), "padding"), dataFormat)
    {
    }
}
