namespace OnnxKeras.Layers;

/// <summary>Checks and steps shared by the image preprocessing layers (channels_last [N, H, W, C] images).</summary>
internal static class ImageLayers
{
    public static void CheckSize(string layer, int height, int width)
    {
        if (height < 1) throw new ArgumentException($"{layer}: height must be at least 1; got {height}.", nameof(height));
        if (width < 1) throw new ArgumentException($"{layer}: width must be at least 1; got {width}.", nameof(width));
    }

    /// <summary>Keras's data_format: only channels_last (the default, null) is implemented.</summary>
    public static void CheckDataFormat(string layer, string? dataFormat)
    {
        if (dataFormat is not (null or "channels_last"))
            throw new ArgumentException($"{layer}: dataFormat must be \"channels_last\" (images [N, H, W, C]); got \"{dataFormat}\" " +
                "(channels_first is not implemented).", nameof(dataFormat));
    }

    /// <summary>Rank 4 with the batch, as Keras's batched images; height and width known when <paramref name="needSize"/>.</summary>
    public static void CheckImages(Layer layer, Shape inputShape, bool needSize)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) takes channels_last images [batch, height, width, channels]; " +
                $"got shape {inputShape}.");
        if (needSize && (inputShape[1] is null || inputShape[2] is null))
            throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) needs images of known height and width here; got shape {inputShape}.");
    }

    /// <summary>
    /// Keras's crop_to_aspect_ratio (and smart_resize's crop): the largest centred window of aspect ratio
    /// <paramref name="targetHeight"/> : <paramref name="targetWidth"/>, sizes and start rounded down as Keras's int() does.
    /// </summary>
    public static KTensor CropToAspect(KTensor x, long h, long w, int targetHeight, int targetWidth)
    {
        long cropHeight = Math.Max(Math.Min(h, w * targetHeight / targetWidth), 1);
        long cropWidth = Math.Max(Math.Min(w, h * targetWidth / targetHeight), 1);
        long top = (h - cropHeight) / 2, left = (w - cropWidth) / 2;
        if (cropHeight == h && cropWidth == w) return x;
        return Ops.Crop(x, [((int)top, (int)(h - top - cropHeight)), ((int)left, (int)(w - left - cropWidth))]);
    }
}
