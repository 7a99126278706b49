namespace OnnxKeras.Layers;

/// <summary>
/// Shifts each channels_last image [N, H, W, C] by a random amount during training only (Keras 3's
/// <c>keras.layers.RandomTranslation</c>): <c>dy</c> uniform in [lower, upper] x H from <see cref="HeightFactor"/>,
/// <c>dx</c> likewise x W from <see cref="WidthFactor"/>; output pixel (x, y) reads the input at <c>(x - dx, y - dy)</c>
/// (a positive shift moves the content right and down), points outside the image filled by <see cref="BaseRandomAffine.FillMode"/>. At
/// inference the inputs pass through unchanged, so the layer leaves no trace in an ONNX export. Training outputs are float32.
/// </summary>
/// <example><code>var shift = new RandomTranslation(0.1, 0.1, fillMode: "constant", seed: 7);   // up to 10% each way</code></example>
public sealed class RandomTranslation : BaseRandomAffine
{
    private readonly double[] height, width;
    private readonly (double Lower, double Upper) heightRange, widthRange;

    /// <summary>Creates the layer; a factor <c>f</c> in [-1, 1] shifts by up to |f| of the size both ways.</summary>
    /// <param name="heightFactor">Vertical shift bound(s), fractions of the height in [-1, 1].</param>
    /// <param name="widthFactor">Horizontal shift bound(s), fractions of the width in [-1, 1].</param>
    /// <param name="fillMode"><c>"reflect"</c> (d c b a | a b c d | d c b a), <c>"wrap"</c>, <c>"constant"</c> or <c>"nearest"</c>.</param>
    /// <param name="interpolation"><c>"bilinear"</c> or <c>"nearest"</c>.</param>
    /// <param name="seed">Seed of the layer's own random stream; null draws from the global generator.</param>
    /// <param name="fillValue">The value outside the image with <c>fillMode: "constant"</c>.</param>
    /// <param name="dataFormat">Only <c>"channels_last"</c> (or null, its default).</param>
    /// <exception cref="ArgumentException">A factor outside [-1, 1], another fill mode, interpolation or data format.</exception>
    public RandomTranslation(double heightFactor, double widthFactor, string fillMode = "reflect", string interpolation = "bilinear",
        long? seed = null, double fillValue = 0.0, string? dataFormat = null)
        : this([heightFactor], [widthFactor], fillMode, interpolation, seed, fillValue, dataFormat)
    {
    }

    /// <summary>Creates the layer with (lower, upper) pairs (sorted) or single values.</summary>
    /// <inheritdoc cref="RandomTranslation(double, double, string, string, long?, double, string)"/>
    public RandomTranslation(double[] heightFactor, double[] widthFactor, string fillMode = "reflect", string interpolation = "bilinear",
        long? seed = null, double fillValue = 0.0, string? dataFormat = null)
        : base("RandomTranslation", fillMode, interpolation, seed, fillValue, dataFormat)
    {
        heightRange = ImageAugmentation.Factor("RandomTranslation", nameof(heightFactor), heightFactor, -1, 1, eachInRange: true);
        widthRange = ImageAugmentation.Factor("RandomTranslation", nameof(widthFactor), widthFactor, -1, 1, eachInRange: true);
        height = (double[])heightFactor.Clone();
        width = (double[])widthFactor.Clone();
    }

    /// <summary>The vertical factor as given: one value or a (lower, upper) pair.</summary>
    public IReadOnlyList<double> HeightFactor => height;

    /// <summary>The horizontal factor as given: one value or a (lower, upper) pair.</summary>
    public IReadOnlyList<double> WidthFactor => width;

    /// <inheritdoc />
    private protected override float[][] Transforms(long n, double h, double w)
    {
        var dy = ImageAugmentation.Uniform(n, heightRange.Lower, heightRange.Upper, Stream);
        var dx = ImageAugmentation.Uniform(n, widthRange.Lower, widthRange.Upper, Stream);
        return dy.Select((y, i) => new[] { 1f, 0f, (float)(-dx[i] * w), 0f, 1f, (float)(-y * h), 0f, 0f }).ToArray();
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("height_factor", ImageAugmentation.ConfigValue(height)).With("width_factor", ImageAugmentation.ConfigValue(width))
        .With("fill_mode", FillMode).With("interpolation", Interpolation).With("seed", Seed).With("fill_value", FillValue)
        .With("data_format", "channels_last");
}
