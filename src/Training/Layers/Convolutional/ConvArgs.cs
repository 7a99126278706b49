namespace OnnxKeras.Layers;

/// <summary>Validation of the arguments the convolution, pooling and spatial layers share (Keras's standardize_* helpers).</summary>
internal static class ConvArgs
{
    /// <summary>Keras's <c>standardize_data_format</c>: null means channels_last; only channels_last is supported here.</summary>
    public static string DataFormat(string? value, string owner)
    {
        string format = (value ?? "channels_last").ToLowerInvariant();
        if (format == "channels_first")
            throw new ArgumentException($"{owner}: data_format 'channels_first' is not supported; OnnxKeras layers work on channels_last " +
                "inputs [batch, ..., channels].", "dataFormat");
        if (format != "channels_last")
            throw new ArgumentException($"{owner}: data_format must be 'channels_last' or 'channels_first'; got '{value}'.", "dataFormat");
        return format;
    }

    /// <summary>Keras's <c>standardize_padding</c>: lower-cased and one of <paramref name="allowed"/>.</summary>
    public static string Padding(string? value, string owner, params string[] allowed)
    {
        string padding = (value ?? "").ToLowerInvariant();
        if (!allowed.Contains(padding))
            throw new ArgumentException($"{owner}: padding must be one of {string.Join(", ", allowed.Select(a => $"'{a}'"))}; got '{value}'.", "padding");
        return padding;
    }

    /// <summary>Keras's rule that strides above 1 and dilation above 1 cannot be combined.</summary>
    public static void CheckStridesAndDilation(int[] strides, int[] dilation, string owner)
    {
        if (strides.Max() > 1 && dilation.Max() > 1)
            throw new ArgumentException($"{owner}: strides > 1 cannot be combined with dilation_rate > 1; got strides " +
                $"({string.Join(", ", strides)}) and dilation_rate ({string.Join(", ", dilation)}).");
    }

    /// <summary>The known channel count (last axis) of a build shape.</summary>
    public static long Channels(Shape inputShape, Layer layer) =>
        inputShape[^1] ?? throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) needs a known channel (last) " +
            $"dimension; got input shape {inputShape}.");

    /// <summary>
    /// The output shape of a convolution or pooling: per spatial axis <see cref="Ops.ConvOutputLength"/>, checked to be
    /// positive; the last axis becomes <paramref name="channels"/>.
    /// </summary>
    public static Shape ConvOutputShape(Layer layer, Shape inputShape, int[] kernel, int[] strides, string padding, int[] dilation, long? channels)
    {
        int rank = kernel.Length;
        if (inputShape.Rank != rank + 2)
            throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) expects input of rank {rank + 2}; got shape " +
                $"{inputShape} (rank {inputShape.Rank}).");
        var dims = new long?[rank + 2];
        dims[0] = inputShape[0];
        for (int i = 0; i < rank; i++)
        {
            dims[1 + i] = Ops.ConvOutputLength(inputShape[1 + i], kernel[i], padding, strides[i], dilation[i]);
            if (dims[1 + i] is <= 0)
                throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}): input of shape {inputShape} is too small " +
                    $"for kernel/pool size ({string.Join(", ", kernel)}) with padding '{padding}'; the computed output size would be " +
                    $"{dims[1 + i]}.");
        }
        dims[^1] = channels;
        return new Shape(dims);
    }
}
