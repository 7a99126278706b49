namespace OnnxKeras.Layers;

/// <summary>
/// Crops the steps axis of [batch, steps, features] inputs (Keras's <c>Cropping1D</c>). <c>cropping</c> is an int (both
/// ends) or (before, after). The output is a view of the input.
/// </summary>
/// <example><code>new Cropping1D((1, 2))</code></example>
public sealed class Cropping1D : BaseCropping
{
    /// <summary>Creates a Cropping1D layer (Keras's default: 1 at each end).</summary>
    public Cropping1D(IntTuple? cropping = null) : base(1, [ZeroPadding1D.Pair(cropping ?? 1, nameof(Cropping1D), "cropping")], null)
    {
    }
}
