using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxKeras;

// keras.ops.image: padding, cropping and resizing the spatial axes of channels_last images [N, *spatial, C] (Keras's
// pad_images, crop_images and resize, as the ZeroPadding, Cropping and UpSampling layers use them).
public static partial class Ops
{
    /// <summary>Pads the spatial axes of channels_last <paramref name="inputs"/> with zeros; one (before, after) pair per spatial axis.</summary>
    public static KTensor ZeroPad(KTensor inputs, (int Before, int After)[] padding) =>
        Emit(new ZeroPadOp(padding), [inputs], () => ZeroPadEager(inputs, padding));

    private static Tensor ZeroPadEager(KTensor inputs, (int Before, int After)[] padding)
    {
        var x = inputs.Value;
        if (padding.Length != x.dim() - 2)
            throw new ArgumentException($"zero_pad: need one (before, after) pair per spatial axis of input {Shape.Of(x.shape)}; got {padding.Length}.");
        var pad = new List<long> { 0, 0 };
        for (int i = padding.Length - 1; i >= 0; i--) pad.AddRange([padding[i].Before, padding[i].After]);
        return F.pad(x, pad.ToArray(), PaddingModes.Constant, 0);
    }

    /// <summary>Crops the spatial axes of channels_last <paramref name="inputs"/>; one (before, after) pair per spatial axis. The result is a view.</summary>
    public static KTensor Crop(KTensor inputs, (int Before, int After)[] cropping) =>
        Emit(new CropOp(cropping), [inputs], () => CropEager(inputs, cropping));

    private static Tensor CropEager(KTensor inputs, (int Before, int After)[] cropping)
    {
        var x = inputs.Value;
        if (cropping.Length != x.dim() - 2)
            throw new ArgumentException($"crop: need one (before, after) pair per spatial axis of input {Shape.Of(x.shape)}; got {cropping.Length}.");
        for (int i = 0; i < cropping.Length; i++)
        {
            long keep = x.shape[1 + i] - cropping[i].Before - cropping[i].After;
            if (keep <= 0)
                throw new ArgumentException($"crop: cropping ({cropping[i].Before}, {cropping[i].After}) leaves nothing of axis {1 + i} " +
                    $"of input {Shape.Of(x.shape)}.");
            x = x.narrow(1 + i, cropping[i].Before, keep);
        }
        return x;
    }

    /// <summary>
    /// Upsamples the spatial axes of channels_last <paramref name="inputs"/> by integer factors: "nearest" repeats each
    /// value (Keras's <c>ops.repeat</c> per axis), "bilinear" interpolates with half-pixel centers (Keras's <c>image.resize</c>).
    /// </summary>
    public static KTensor UpSample(KTensor inputs, int[] size, string interpolation = "nearest") =>
        Emit(new UpSampleOp(size, interpolation), [inputs], () => UpSampleEager(inputs, size, interpolation));

    private static Tensor UpSampleEager(KTensor inputs, int[] size, string interpolation)
    {
        var x = inputs.Value;
        int rank = SpatialRank(x, "upsample");
        if (size.Length != rank) throw new ArgumentException($"upsample: need one factor per spatial axis of input {Shape.Of(x.shape)}; got {size.Length}.");
        if (interpolation == "nearest")
        {
            // [N, H, W, C] -> [N, H, 1, W, 1, C] -> expand -> [N, H*h, W*w, C]: one contiguous copy.
            var shape = new List<long> { x.shape[0] };
            var expanded = new List<long> { x.shape[0] };
            var final = new List<long> { x.shape[0] };
            for (int i = 0; i < rank; i++)
            {
                shape.AddRange([x.shape[1 + i], 1]);
                expanded.AddRange([x.shape[1 + i], size[i]]);
                final.Add(x.shape[1 + i] * size[i]);
            }
            shape.Add(x.shape[^1]);
            expanded.Add(x.shape[^1]);
            final.Add(x.shape[^1]);
            return x.reshape(shape.ToArray()).expand(expanded.ToArray()).reshape(final.ToArray());
        }
        if (interpolation == "bilinear" && rank == 2)
        {
            var y = F.interpolate(ChannelsFirst(x), [x.shape[1] * size[0], x.shape[2] * size[1]], null, InterpolationMode.Bilinear, false, false, false);
            return ChannelsLast(y);
        }
        throw new ArgumentException($"upsample: interpolation must be 'nearest' or (for 2D) 'bilinear'; got '{interpolation}'.");
    }

    /// <summary>
    /// Resizes the spatial axes of channels_last images <paramref name="inputs"/> [N, H, W, C] to
    /// <paramref name="height"/> x <paramref name="width"/> (Keras's <c>ops.image.resize</c> with <c>antialias=False</c>, as
    /// TensorFlow computes it): "bilinear" interpolates with half-pixel centers (source coordinate
    /// <c>(i + 0.5) * in / out - 0.5</c>, clamped to the image), "nearest" takes source pixel <c>floor((i + 0.5) * in / out)</c>.
    /// Exports as ONNX Resize (half_pixel; linear, or nearest with round_prefer_ceil).
    /// </summary>
    /// <exception cref="ArgumentException">Inputs of rank other than 4, sizes below 1, or another interpolation.</exception>
    public static KTensor Resize(KTensor inputs, int height, int width, string interpolation = "bilinear") =>
        Emit(new ResizeOp(height, width, interpolation), [inputs], () => ResizeEager(inputs.Value, height, width, interpolation));

    private static Tensor ResizeEager(Tensor x, int height, int width, string interpolation)
    {
        if (x.dim() != 4) throw new ArgumentException($"resize: inputs must be channels_last images [N, H, W, C]; got shape {Shape.Of(x.shape)}.");
        if (height < 1 || width < 1) throw new ArgumentException($"resize: the size must be at least 1 x 1; got {height} x {width}.");
        if (interpolation == "bilinear")
        {
            var y = F.interpolate(ChannelsFirst(x), [height, width], null, InterpolationMode.Bilinear, false, false, false);
            return ChannelsLast(y).contiguous();
        }
        if (interpolation == "nearest")
        {
            using var rows = NearestSources(x.shape[1], height, x.device);
            using var cols = NearestSources(x.shape[2], width, x.device);
            return x.index_select(1, rows).index_select(2, cols);
        }
        throw new ArgumentException($"resize: interpolation must be 'bilinear' or 'nearest'; got '{interpolation}'.");
    }

    /// <summary>Source pixel of each output pixel for half-pixel nearest resizing: floor((i + 0.5) * in / out), at most in - 1.</summary>
    private static Tensor NearestSources(long inSize, long outSize, Device device)
    {
        var index = new long[outSize];
        for (long i = 0; i < outSize; i++) index[i] = Math.Min(inSize - 1, (long)Math.Floor((i + 0.5) * inSize / outSize));
        return tensor(index, device: device);
    }
}

/// <summary><see cref="Ops.ZeroPad"/>: one (before, after) pair per spatial axis.</summary>
internal sealed record ZeroPadOp((int Before, int After)[] Padding) : OpInfo;
/// <summary><see cref="Ops.Crop"/>: one (before, after) pair per spatial axis.</summary>
internal sealed record CropOp((int Before, int After)[] Cropping) : OpInfo;
/// <summary><see cref="Ops.UpSample"/>: integer factors per spatial axis, "nearest" or "bilinear".</summary>
internal sealed record UpSampleOp(int[] Size, string Interpolation) : OpInfo;
/// <summary><see cref="Ops.Resize"/>: the output height and width, "bilinear" or "nearest".</summary>
internal sealed record ResizeOp(int Height, int Width, string Interpolation) : OpInfo;
