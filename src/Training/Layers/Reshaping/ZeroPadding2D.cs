namespace OnnxKeras.Layers;

/// <summary>
/// Pads the height and width of [batch, height, width, channels] inputs with zeros (Keras's <c>ZeroPadding2D</c>).
/// <c>padding</c> is an int (all sides), (height, width) (symmetric per axis) or ((top, bottom), (left, right)).
/// </summary>
/// <example><code>new ZeroPadding2D(((0, 1), (0, 1)))</code></example>
public sealed class ZeroPadding2D : BaseZeroPadding
{
    /// <summary>Creates a ZeroPadding2D layer (Keras's default padding: 1 on every side).</summary>
    public ZeroPadding2D(IntPairs? padding = null, string? dataFormat = null)
        : base(2, (padding ?? 1).Expand(2, nameof(ZeroPadding2D), "padding"), dataFormat)
    {
    }
}
