namespace OnnxKeras.Layers;

/// <summary>
/// Crops the height and width of [batch, height, width, channels] inputs (Keras's <c>Cropping2D</c>). <c>cropping</c> is
/// an int (all sides), (height, width) (symmetric per axis) or ((top, bottom), (left, right)). The output is a view of the input.
/// </summary>
/// <example><code>new Cropping2D(((2, 2), (4, 4)))</code></example>
public sealed class Cropping2D : BaseCropping
{
    /// <summary>Creates a Cropping2D layer (Keras's default: no cropping).</summary>
    public Cropping2D(IntPairs? cropping = null, string? dataFormat = null)
        : base(2, (cropping ?? 0).Expand(2, nameof(Cropping2D), "cropping"), dataFormat)
    {
    }
}
