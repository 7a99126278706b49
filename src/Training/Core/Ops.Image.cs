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
}

/// <summary><see cref="Ops.ZeroPad"/>: one (before, after) pair per spatial axis.</summary>
internal sealed record ZeroPadOp((int Before, int After)[] Padding) : OpInfo;
/// <summary><see cref="Ops.Crop"/>: one (before, after) pair per spatial axis.</summary>
internal sealed record CropOp((int Before, int After)[] Cropping) : OpInfo;
/// <summary><see cref="Ops.UpSample"/>: integer factors per spatial axis, "nearest" or "bilinear".</summary>
internal sealed record UpSampleOp(int[] Size, string Interpolation) : OpInfo;
