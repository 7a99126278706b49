namespace OnnxKeras.Layers;

/// <summary>
/// Upsamples the height and width of [batch, height, width, channels] inputs by integer factors (Keras's
/// <c>UpSampling2D</c>): "nearest" repeats rows and columns, "bilinear" interpolates with half-pixel centers.
/// </summary>
/// <example><code>new UpSampling2D(size: 2)</code></example>
public sealed class UpSampling2D : BaseUpSampling
{
    /// <summary>Creates an UpSampling2D layer (Keras's defaults: size (2, 2), nearest interpolation).</summary>
    public UpSampling2D(IntTuple? size = null, string? dataFormat = null, string interpolation = "nearest")
        : base(2, (size ?? 2).Expand(2, nameof(UpSampling2D), "size"), dataFormat, CheckInterpolation(interpolation))
    {
    }

    private static string CheckInterpolation(string interpolation)
    {
        var value = (interpolation ?? "").ToLowerInvariant();
        if (value is not ("nearest" or "bilinear"))
            throw new ArgumentException($"UpSampling2D: interpolation must be 'nearest' or 'bilinear'; got '{interpolation}'.", nameof(interpolation));
        return value;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("interpolation", Interpolation);
}
