namespace OnnxKeras.Layers;

/// <summary>
/// Resizes channels_last images [N, H, W, C] to <see cref="Height"/> x <see cref="Width"/> (Keras 3's
/// <c>keras.layers.Resizing</c>), in training and inference alike. <c>"bilinear"</c> (the default) interpolates with
/// half-pixel centers and no antialiasing, as Keras's <c>ops.image.resize</c> on TensorFlow; <c>"nearest"</c> takes
/// the source pixel <c>floor((i + 0.5) * in / out)</c>. With <see cref="CropToAspectRatio"/> the largest centred window of
/// the target aspect ratio is cut out first; with <see cref="PadToAspectRatio"/> the short side is padded evenly with
/// <see cref="FillValue"/> first. Inputs are cast to float32 and the output is float32. Exports as (Slice or Pad +)
/// ONNX Resize (half_pixel), so the exported model takes raw images of any batch size.
/// </summary>
/// <example><code>var resize = new Resizing(64, 64, cropToAspectRatio: true);   // [N, 120, 160, 3] -> [N, 64, 64, 3]</code></example>
public sealed class Resizing : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="height">Output height (at least 1).</param>
    /// <param name="width">Output width (at least 1).</param>
    /// <param name="interpolation"><c>"bilinear"</c> or <c>"nearest"</c>; Keras's <c>"bicubic"</c>, <c>"lanczos3"</c>,
    /// <c>"lanczos5"</c> and <c>"area"</c> are refused.</param>
    /// <param name="cropToAspectRatio">Crop to the target aspect ratio (centred) before resizing.</param>
    /// <param name="padToAspectRatio">Pad to the target aspect ratio (evenly on the short side) before resizing.</param>
    /// <param name="fillMode">The padding's fill mode; only Keras's <c>"constant"</c>.</param>
    /// <param name="fillValue">The padding value.</param>
    /// <param name="dataFormat">Only <c>"channels_last"</c> (or null, its default).</param>
    /// <exception cref="ArgumentException">A size below 1, another interpolation, fill mode or data format, both aspect-ratio options,
    /// or a non-finite fill value.</exception>
    public Resizing(int height, int width, string interpolation = "bilinear", bool cropToAspectRatio = false, bool padToAspectRatio = false,
        string fillMode = "constant", double fillValue = 0.0, string? dataFormat = null)
    {
        ImageLayers.CheckSize("Resizing", height, width);
        if (interpolation is not ("bilinear" or "nearest"))
            throw new ArgumentException($"Resizing: interpolation must be \"bilinear\" or \"nearest\"; got \"{interpolation}\" " +
                "(Keras's bicubic, lanczos and area resizing are not implemented).", nameof(interpolation));
        if (cropToAspectRatio && padToAspectRatio)
            throw new ArgumentException("Resizing: only one of cropToAspectRatio and padToAspectRatio can be true.");
        if (fillMode != "constant")
            throw new ArgumentException($"Resizing: fillMode must be \"constant\" (the only mode Keras supports here); got \"{fillMode}\".", nameof(fillMode));
        if (!double.IsFinite(fillValue)) throw new ArgumentException($"Resizing: fillValue must be finite; got {fillValue}.", nameof(fillValue));
        ImageLayers.CheckDataFormat("Resizing", dataFormat);
        Height = height;
        Width = width;
        Interpolation = interpolation;
        CropToAspectRatio = cropToAspectRatio;
        PadToAspectRatio = padToAspectRatio;
        FillValue = fillValue;
    }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary><c>"bilinear"</c> or <c>"nearest"</c>.</summary>
    public string Interpolation { get; }

    /// <summary>Whether a centred window of the target aspect ratio is cut out before resizing.</summary>
    public bool CropToAspectRatio { get; }

    /// <summary>Whether the short side is padded to the target aspect ratio before resizing.</summary>
    public bool PadToAspectRatio { get; }

    /// <summary>The padding value of <see cref="PadToAspectRatio"/>.</summary>
    public double FillValue { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Inputs that are not [N, H, W, C], or of unknown height or width with an aspect-ratio option.</exception>
    public override void Build(Shape inputShape)
    {
        ImageLayers.CheckImages(this, inputShape, needSize: CropToAspectRatio || PadToAspectRatio);
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var x = Ops.Cast(inputs, "float32");
        long h = x.Value.shape[1], w = x.Value.shape[2];
        if (CropToAspectRatio) x = ImageLayers.CropToAspect(x, h, w, Height, Width);
        else if (PadToAspectRatio) x = PadToAspect(x, h, w);
        return Ops.Resize(x, Height, Width, Interpolation);
    }

    /// <summary>Keras's pad_to_aspect_ratio: the same number of rows (or else columns) of fill before and after.</summary>
    private KTensor PadToAspect(KTensor x, long h, long w)
    {
        long padHeight = Math.Max(h, w * Height / Width), padWidth = Math.Max(w, h * Width / Height);
        int top = (int)((padHeight - h) / 2), left = (int)((padWidth - w) / 2);
        if (top == 0 && left == 0) return x;
        (int, int)[] padding = top > 0 ? [(top, top), (0, 0)] : [(0, 0), (left, left)];
        // Pad(x - fill) + fill puts the fill value in the border; a zero fill needs only the Pad.
        if (FillValue == 0) return Ops.ZeroPad(x, padding);
        return Ops.Add(Ops.ZeroPad(Ops.Add(x, -FillValue), padding), FillValue);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => new(inputShape[0], Height, Width, inputShape[3]);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("height", Height).With("width", Width).With("interpolation", Interpolation)
        .With("crop_to_aspect_ratio", CropToAspectRatio).With("pad_to_aspect_ratio", PadToAspectRatio)
        .With("fill_mode", "constant").With("fill_value", FillValue).With("data_format", "channels_last");
}
