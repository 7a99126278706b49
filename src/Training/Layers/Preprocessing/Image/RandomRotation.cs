namespace OnnxKeras.Layers;

/// <summary>
/// Rotates each channels_last image [N, H, W, C] about its centre by a random angle during training only (Keras 3's
/// <c>keras.layers.RandomRotation</c>): the angle is uniform in [lower, upper] x 2 pi, with (lower, upper) from
/// <see cref="Factor"/> (a single <c>f</c> gives (-f, f)); output pixel (x, y) reads the input at
/// <c>(cos a (x - cx) - sin a (y - cy) + cx, sin a (x - cx) + cos a (y - cy) + cy)</c>, <c>cx = (W - 1) / 2</c>,
/// <c>cy = (H - 1) / 2</c>, by <see cref="BaseRandomAffine.Interpolation"/>, points outside the image filled by <see cref="BaseRandomAffine.FillMode"/>. At
/// inference the inputs pass through unchanged, so the layer leaves no trace in an ONNX export. Training outputs are float32.
/// </summary>
/// <example><code>var rotate = new RandomRotation(0.1, fillMode: "constant", seed: 3);   // up to +-36 degrees</code></example>
public sealed class RandomRotation : BaseRandomAffine
{
    /// <summary>Creates the layer with angles in [-factor, factor] x 2 pi.</summary>
    /// <param name="factor">A fraction of a full turn in [-1, 1]; its absolute value bounds the angle both ways.</param>
    /// <param name="fillMode"><c>"reflect"</c> (d c b a | a b c d | d c b a), <c>"wrap"</c>, <c>"constant"</c> or <c>"nearest"</c>.</param>
    /// <param name="interpolation"><c>"bilinear"</c> or <c>"nearest"</c>.</param>
    /// <param name="seed">Seed of the layer's own random stream; null draws from the global generator.</param>
    /// <param name="fillValue">The value outside the image with <c>fillMode: "constant"</c>.</param>
    /// <param name="dataFormat">Only <c>"channels_last"</c> (or null, its default).</param>
    /// <exception cref="ArgumentException">A factor outside [-1, 1], another fill mode, interpolation or data format.</exception>
    public RandomRotation(double factor, string fillMode = "reflect", string interpolation = "bilinear", long? seed = null,
        double fillValue = 0.0, string? dataFormat = null)
        : this([factor], fillMode, interpolation, seed, fillValue, dataFormat)
    {
    }

    /// <summary>Creates the layer with angles in [lower, upper] x 2 pi (the pair is sorted), or as the other constructor for one value.</summary>
    /// <inheritdoc cref="RandomRotation(double, string, string, long?, double, string)"/>
    public RandomRotation(double[] factor, string fillMode = "reflect", string interpolation = "bilinear", long? seed = null,
        double fillValue = 0.0, string? dataFormat = null)
        : base("RandomRotation", fillMode, interpolation, seed, fillValue, dataFormat)
    {
        var (lower, upper) = ImageAugmentation.Factor("RandomRotation", nameof(factor), factor, -1, 1, eachInRange: false);
        Factor = [lower, upper];
    }

    /// <summary>(lower, upper): the angle range as fractions of a full turn.</summary>
    public IReadOnlyList<double> Factor { get; }

    /// <inheritdoc />
    private protected override float[][] Transforms(long n, double h, double w)
    {
        var angles = ImageAugmentation.Uniform(n, Factor[0] * 2 * Math.PI, Factor[1] * 2 * Math.PI, Stream);
        return angles.Select(a =>
        {
            double cos = Math.Cos(a), sin = Math.Sin(a);
            double xOffset = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2;
            double yOffset = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2;
            return new[] { (float)cos, (float)-sin, (float)xOffset, (float)sin, (float)cos, (float)yOffset, 0f, 0f };
        }).ToArray();
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("factor", Factor.ToArray()).With("data_format", "channels_last").With("fill_mode", FillMode)
        .With("fill_value", FillValue).With("interpolation", Interpolation).With("seed", Seed);
}
