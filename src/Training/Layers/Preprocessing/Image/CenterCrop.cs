namespace OnnxKeras.Layers;

/// <summary>
/// Cuts the central <see cref="Height"/> x <see cref="Width"/> window out of channels_last images [N, H, W, C] (Keras 3's
/// <c>keras.layers.CenterCrop</c>), in training and inference alike: the window starts at row <c>(H - height) / 2</c> and
/// column <c>(W - width) / 2</c> (rounded down). As in Keras 3, an image smaller than the target on either axis is instead
/// cropped to the target aspect ratio (the largest centred window) and resized to the target with bilinear interpolation
/// (Keras's <c>smart_resize</c>). Inputs are cast to float32. Height and width must be known. Exports as ONNX Slice (or
/// Slice + Resize).
/// </summary>
/// <example><code>var crop = new CenterCrop(24, 24);   // [N, 28, 28, 1] -> rows and columns 2..25</code></example>
public sealed class CenterCrop : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="height">Output height (at least 1).</param>
    /// <param name="width">Output width (at least 1).</param>
    /// <param name="dataFormat">Only <c>"channels_last"</c> (or null, its default).</param>
    /// <exception cref="ArgumentException">A size below 1 or another data format.</exception>
    public CenterCrop(int height, int width, string? dataFormat = null)
    {
        ImageLayers.CheckSize("CenterCrop", height, width);
        ImageLayers.CheckDataFormat("CenterCrop", dataFormat);
        Height = height;
        Width = width;
    }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Inputs that are not [N, H, W, C] of known height and width.</exception>
    public override void Build(Shape inputShape) => ImageLayers.CheckImages(this, inputShape, needSize: true);

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var x = Ops.Cast(inputs, "float32");
        long h = x.Value.shape[1], w = x.Value.shape[2];
        if (h >= Height && w >= Width)
        {
            int top = (int)((h - Height) / 2), left = (int)((w - Width) / 2);
            if (h == Height && w == Width) return x;
            return Ops.Crop(x, [(top, (int)(h - Height - top)), (left, (int)(w - Width - left))]);
        }
        return Ops.Resize(ImageLayers.CropToAspect(x, h, w, Height, Width), Height, Width, "bilinear");
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => new(inputShape[0], Height, Width, inputShape[3]);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("height", Height).With("width", Width).With("data_format", "channels_last");
}
