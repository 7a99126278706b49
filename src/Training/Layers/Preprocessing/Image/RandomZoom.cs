namespace OnnxKeras.Layers;

/// <summary>
/// Zooms each channels_last image [N, H, W, C] in or out about its centre by a random amount during training only
/// (Keras 3's <c>keras.layers.RandomZoom</c>): zoom <c>zy</c> uniform in [1 + lower, 1 + upper] from
/// <see cref="HeightFactor"/>, <c>zx</c> likewise from <see cref="WidthFactor"/> (or <c>zx = zy</c> when it is null);
/// output pixel (x, y) reads the input at <c>(zx (x - cx) + cx, zy (y - cy) + cy)</c>, <c>cx = (W - 1) / 2</c>,
/// <c>cy = (H - 1) / 2</c>, so a positive factor zooms out and a negative one zooms in. Points outside the image are filled
/// by <see cref="BaseRandomAffine.FillMode"/>. At inference the inputs pass through unchanged, so the layer leaves no trace in an ONNX
/// export. Training outputs are float32.
/// </summary>
/// <example><code>var zoom = new RandomZoom(0.2, fillMode: "nearest", seed: 5);   // zoom in or out by up to 20%</code></example>
public sealed class RandomZoom : BaseRandomAffine
{
    private readonly double[] height;
    private readonly double[]? width;
    private readonly (double Lower, double Upper) heightRange, widthRange;

    /// <summary>Creates the layer; a factor <c>f</c> in [-1, 1] zooms by up to |f| both ways.</summary>
    /// <param name="heightFactor">Vertical zoom bound(s), fractions in [-1, 1].</param>
    /// <param name="widthFactor">Horizontal zoom bound(s); null keeps the aspect ratio (the vertical zoom is used).</param>
    /// <param name="fillMode"><c>"reflect"</c> (d c b a | a b c d | d c b a), <c>"wrap"</c>, <c>"constant"</c> or <c>"nearest"</c>.</param>
    /// <param name="interpolation"><c>"bilinear"</c> or <c>"nearest"</c>.</param>
    /// <param name="seed">Seed of the layer's own random stream; null draws from the global generator.</param>
    /// <param name="fillValue">The value outside the image with <c>fillMode: "constant"</c>.</param>
    /// <param name="dataFormat">Only <c>"channels_last"</c> (or null, its default).</param>
    /// <exception cref="ArgumentException">A factor outside [-1, 1], another fill mode, interpolation or data format.</exception>
    public RandomZoom(double heightFactor, double? widthFactor = null, string fillMode = "reflect", string interpolation = "bilinear",
        long? seed = null, double fillValue = 0.0, string? dataFormat = null)
        : this([heightFactor], widthFactor is double w ? [w] : null, fillMode, interpolation, seed, fillValue, dataFormat)
    {
    }

    /// <summary>Creates the layer with (lower, upper) pairs (sorted) or single values.</summary>
    /// <inheritdoc cref="RandomZoom(double, double?, string, string, long?, double, string)"/>
    public RandomZoom(double[] heightFactor, double[]? widthFactor = null, string fillMode = "reflect", string interpolation = "bilinear",
        long? seed = null, double fillValue = 0.0, string? dataFormat = null)
        : base("RandomZoom", fillMode, interpolation, seed, fillValue, dataFormat)
    {
        heightRange = ImageAugmentation.Factor("RandomZoom", nameof(heightFactor), heightFactor, -1, 1, eachInRange: true);
        if (widthFactor is not null) widthRange = ImageAugmentation.Factor("RandomZoom", nameof(widthFactor), widthFactor, -1, 1, eachInRange: true);
        height = (double[])heightFactor.Clone();
        width = (double[]?)widthFactor?.Clone();
    }

    /// <summary>The vertical factor as given: one value or a (lower, upper) pair.</summary>
    public IReadOnlyList<double> HeightFactor => height;

    /// <summary>The horizontal factor as given, or null (the vertical zoom is used).</summary>
    public IReadOnlyList<double>? WidthFactor => width;

    /// <inheritdoc />
    private protected override float[][] Transforms(long n, double h, double w)
    {
        var zy = ImageAugmentation.Uniform(n, 1 + heightRange.Lower, 1 + heightRange.Upper, Stream);
        var zx = width is null ? zy : ImageAugmentation.Uniform(n, 1 + widthRange.Lower, 1 + widthRange.Upper, Stream);
        return zy.Select((y, i) => new[]
        {
            (float)zx[i], 0f, (float)((w - 1) / 2 * (1 - zx[i])), 0f, (float)y, (float)((h - 1) / 2 * (1 - y)), 0f, 0f,
        }).ToArray();
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("height_factor", ImageAugmentation.ConfigValue(height)).With("width_factor", width is null ? null : ImageAugmentation.ConfigValue(width))
        .With("fill_mode", FillMode).With("interpolation", Interpolation).With("seed", Seed).With("fill_value", FillValue)
        .With("data_format", "channels_last");
}
