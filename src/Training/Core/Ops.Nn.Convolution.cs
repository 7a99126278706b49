using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxKeras;

// keras.ops.nn, continued: convolution and pooling ops (Keras's keras.ops.conv, depthwise_conv, separable_conv, conv_transpose, max_pool,
// average_pool) on channels_last tensors [N, *spatial, C] with kernels in Keras's layout.
//
// Layout: libtorch convolves [N, C, *spatial]. x.permute(0, 3, 1, 2) of a contiguous NHWC tensor is a view whose
// memory is torch's channels_last format; libtorch's conv and pooling run natively on it and return channels_last
// results, so permuting back gives a contiguous NHWC tensor: no copies between consecutive layers. 1D inputs run as
// 2D with a height of 1. Keras's "same" padding (TensorFlow's rule, the extra pixel at the end) is passed to libtorch
// when it is symmetric and applied with an explicit pad when it is not.
public static partial class Ops
{
    /// <summary>
    /// Keras's "same" padding along one axis as (before, after): total <c>max((ceil(in/s) - 1) * s + (k - 1) * d + 1 - in, 0)</c>,
    /// split evenly with the extra pixel at the end (TensorFlow's rule).
    /// </summary>
    public static (long Before, long After) SamePadding(long inputLength, long kernelSize, long stride, long dilation = 1)
    {
        long effective = (kernelSize - 1) * dilation + 1;
        long output = (inputLength + stride - 1) / stride;
        long total = Math.Max((output - 1) * stride + effective - inputLength, 0);
        return (total / 2, total - total / 2);
    }

    /// <summary>
    /// Keras's output length of a convolution or pooling along one axis: "valid" <c>floor((in - (k-1)*d - 1) / s) + 1</c>,
    /// "same" and "causal" <c>ceil(in / s)</c>; null for an unknown input length; may be &lt;= 0 when the input is too small.
    /// </summary>
    public static long? ConvOutputLength(long? inputLength, long kernelSize, string padding, long stride, long dilation = 1)
    {
        if (inputLength is not long n) return null;
        long effective = (kernelSize - 1) * dilation + 1;
        return padding switch
        {
            "valid" => n < effective ? 0 : (n - effective) / stride + 1,
            "same" or "causal" => (n + stride - 1) / stride,
            _ => throw new ArgumentException($"padding must be 'valid', 'same' or 'causal'; got '{padding}'."),
        };
    }

    /// <summary>
    /// Keras's output length of a transposed convolution along one axis (TensorFlow's rule): "valid"
    /// <c>(in - 1) * s + max(k_eff, s)</c> or <c>(in - 1) * s + k_eff + output_padding</c>; "same" <c>in * s</c> or
    /// <c>(in - 1) * s + k_eff % 2 + output_padding</c>, with <c>k_eff = (k - 1) * d + 1</c>.
    /// </summary>
    public static long? ConvTransposeOutputLength(long? inputLength, long kernelSize, string padding, long stride, long? outputPadding = null,
        long dilation = 1)
    {
        if (inputLength is not long n) return null;
        long effective = (kernelSize - 1) * dilation + 1;
        return padding switch
        {
            "valid" => (n - 1) * stride + (outputPadding is long op ? effective + op : Math.Max(effective, stride)),
            "same" => outputPadding is long op ? (n - 1) * stride + effective % 2 + op : n * stride,
            _ => throw new ArgumentException($"padding must be 'valid' or 'same'; got '{padding}'."),
        };
    }

    /// <summary>
    /// N-D convolution (Keras's <c>ops.conv</c>) of channels_last <paramref name="inputs"/> [N, *spatial, C_in] (1 to 3
    /// spatial axes) with <paramref name="kernel"/> in Keras's layout [*kernel_size, C_in / groups, C_out]; the number of
    /// groups is <c>C_in / kernel.shape[-2]</c>. Optional <paramref name="bias"/> [C_out]. Padding "valid", "same"
    /// (extra pixel at the end) or, for 1D, "causal" (all padding before). Returns [N, *out_spatial, C_out].
    /// </summary>
    public static KTensor Conv(KTensor inputs, KTensor kernel, KTensor? bias = null, int[]? strides = null, string padding = "valid",
        int[]? dilationRate = null) =>
        Emit(new ConvOp(strides, padding, dilationRate), bias is null ? [inputs, kernel] : [inputs, kernel, bias],
            () => ConvEager(inputs, kernel, bias, strides, padding, dilationRate));

    private static Tensor ConvEager(KTensor inputs, KTensor kernel, KTensor? bias, int[]? strides, string padding, int[]? dilationRate)
    {
        var x = inputs.Value;
        var k = kernel.Value;
        int rank = SpatialRank(x, "conv");
        if (k.dim() != rank + 2)
            throw new ArgumentException($"conv: a kernel for {rank} spatial axes must have rank {rank + 2}; got shape {Shape.Of(k.shape)}.");
        long channels = x.shape[^1], kernelIn = k.shape[^2];
        if (channels % kernelIn != 0)
            throw new ArgumentException($"conv: the input channels ({channels}) must be a multiple of the kernel's input channels " +
                $"({kernelIn}); input {Shape.Of(x.shape)}, kernel {Shape.Of(k.shape)}.");
        var s = PerAxis(strides, rank, "strides");
        var d = PerAxis(dilationRate, rank, "dilation_rate");
        var pads = new (long Before, long After)[rank];
        for (int i = 0; i < rank; i++)
        {
            pads[i] = padding switch
            {
                "valid" => (0, 0),
                "same" => SamePadding(x.shape[1 + i], k.shape[i], s[i], d[i]),
                "causal" when rank == 1 => ((k.shape[0] - 1) * d[0], 0),
                _ => throw new ArgumentException($"conv: padding must be 'valid', 'same'{(rank == 1 ? " or 'causal'" : "")}; got '{padding}'."),
            };
        }
        if (rank == 1) (x, k, s, d, pads) = (x.unsqueeze(1), k.unsqueeze(0), [1, .. s], [1, .. d], [(0, 0), .. pads]);
        var y = Convolve(ChannelsFirst(x), TorchKernel(k), bias?.Value, s, pads, d, channels / kernelIn);
        y = ChannelsLast(y);
        return rank == 1 ? y.squeeze(1) : y;
    }

    /// <summary>
    /// Depthwise convolution (Keras's <c>ops.depthwise_conv</c>): each input channel is convolved with its own
    /// <c>depth_multiplier</c> filters. <paramref name="kernel"/> in Keras's layout [*kernel_size, C_in, depth_multiplier];
    /// output channel <c>c * depth_multiplier + m</c> comes from input channel c and filter m.
    /// </summary>
    public static KTensor DepthwiseConv(KTensor inputs, KTensor kernel, KTensor? bias = null, int[]? strides = null, string padding = "valid",
        int[]? dilationRate = null)
    {
        var k = kernel.Value;
        long[] grouped = [.. k.shape[..^2], 1, k.shape[^2] * k.shape[^1]];
        return Conv(inputs, k.reshape(grouped), bias, strides, padding, dilationRate);
    }

    /// <summary>
    /// Separable convolution (Keras's <c>ops.separable_conv</c>): a depthwise convolution with
    /// <paramref name="depthwiseKernel"/> [*kernel_size, C_in, depth_multiplier] followed by a 1x1 convolution with
    /// <paramref name="pointwiseKernel"/> [1, ..., 1, C_in * depth_multiplier, C_out], then the bias.
    /// </summary>
    public static KTensor SeparableConv(KTensor inputs, KTensor depthwiseKernel, KTensor pointwiseKernel, KTensor? bias = null,
        int[]? strides = null, string padding = "valid", int[]? dilationRate = null) =>
        Conv(DepthwiseConv(inputs, depthwiseKernel, null, strides, padding, dilationRate), pointwiseKernel, bias);

    /// <summary>
    /// Transposed convolution (Keras's <c>ops.conv_transpose</c>) of channels_last <paramref name="inputs"/>
    /// [N, *spatial, C_in] with <paramref name="kernel"/> in Keras's layout [*kernel_size, C_out, C_in]. The output size
    /// and the cropping follow TensorFlow (see <see cref="ConvTransposeOutputLength"/>); with "same" the extra pixel is
    /// cropped at the end, as the gradient of a "same" convolution.
    /// </summary>
    public static KTensor ConvTranspose(KTensor inputs, KTensor kernel, KTensor? bias = null, int[]? strides = null, string padding = "valid",
        int[]? outputPadding = null, int[]? dilationRate = null) =>
        Emit(new ConvTransposeOp(strides, padding, outputPadding, dilationRate), bias is null ? [inputs, kernel] : [inputs, kernel, bias],
            () => ConvTransposeEager(inputs, kernel, bias, strides, padding, outputPadding, dilationRate));

    /// <summary>
    /// The cropping of a transposed convolution per spatial axis, as (before, after) amounts removed from libtorch's full
    /// output (negative after: extra output at the end). Shared by the eager op and the ONNX export.
    /// </summary>
    internal static (long Before, long After)[] ConvTransposeCrops(long[] inputSpatial, long[] kernelSpatial, string padding, long[] strides,
        long[]? outputPadding, long[] dilation)
    {
        var crops = new (long Before, long After)[inputSpatial.Length];
        for (int i = 0; i < inputSpatial.Length; i++)
        {
            long n = inputSpatial[i], effective = (kernelSpatial[i] - 1) * dilation[i] + 1, full = (n - 1) * strides[i] + effective;
            long output = ConvTransposeOutputLength(n, kernelSpatial[i], padding, strides[i], outputPadding?[i], dilation[i])!.Value;
            long before = padding == "same" ? Math.Max((n - 1) * strides[i] + effective - output, 0) / 2 : 0;
            crops[i] = (before, full - output - before);
        }
        return crops;
    }

    private static Tensor ConvTransposeEager(KTensor inputs, KTensor kernel, KTensor? bias, int[]? strides, string padding, int[]? outputPadding,
        int[]? dilationRate)
    {
        var x = inputs.Value;
        var k = kernel.Value;
        int rank = SpatialRank(x, "conv_transpose");
        if (k.dim() != rank + 2 || k.shape[^1] != x.shape[^1])
            throw new ArgumentException($"conv_transpose: kernel of shape {Shape.Of(k.shape)} does not fit input of shape " +
                $"{Shape.Of(x.shape)} (expected [*kernel_size, out, {x.shape[^1]}]).");
        if (padding is not ("valid" or "same")) throw new ArgumentException($"conv_transpose: padding must be 'valid' or 'same'; got '{padding}'.");
        var s = PerAxis(strides, rank, "strides");
        var d = PerAxis(dilationRate, rank, "dilation_rate");
        long[]? op = outputPadding is null ? null : PerAxis(outputPadding, rank, "output_padding", allowZero: true);
        var torchPad = new long[rank];
        var torchOutPad = new long[rank];
        var crops = ConvTransposeCrops(x.shape[1..^1], k.shape[..rank], padding, s, op, d);
        for (int i = 0; i < rank; i++)
        {
            var (before, after) = crops[i];
            if (after >= 0)
            {
                // libtorch's padding crops both sides equally; crop the rest with a slice.
                torchPad[i] = Math.Min(before, after);
                crops[i] = (before - torchPad[i], after - torchPad[i]);
            }
            else
            {
                torchOutPad[i] = -after; // before is 0 here; libtorch's output_padding extends the end
                crops[i] = (0, 0);
            }
        }
        if (rank == 1)
            (x, k, s, d, torchPad, torchOutPad, crops) =
                (x.unsqueeze(1), k.unsqueeze(0), [1, .. s], [1, .. d], [0, .. torchPad], [0, .. torchOutPad], [(0, 0), .. crops]);
        var xf = ChannelsFirst(x);
        var w = TorchKernel(k); // [in, out, *k]: libtorch's transposed-convolution weight layout
        var y = w.dim() == 4
            ? F.conv_transpose2d(xf, w, bias?.Value, s, torchPad, torchOutPad, d, 1)
            : F.conv_transpose3d(xf, w, bias?.Value, s, torchPad, torchOutPad, d, 1);
        for (int i = 0; i < crops.Length; i++)
        {
            if (crops[i] != (0, 0)) y = y.narrow(2 + i, crops[i].Before, y.shape[2 + i] - crops[i].Before - crops[i].After);
        }
        y = ChannelsLast(y);
        return rank == 1 ? y.squeeze(1) : y;
    }

    /// <summary>
    /// Max pooling (Keras's <c>ops.max_pool</c>) over 1 to 3 spatial axes of channels_last <paramref name="inputs"/>.
    /// <paramref name="strides"/> default to <paramref name="poolSize"/>; with "same" the padding (extra at the end) never wins the max.
    /// </summary>
    public static KTensor MaxPool(KTensor inputs, int[] poolSize, int[]? strides = null, string padding = "valid") =>
        Emit(new MaxPoolOp(poolSize, strides, padding), [inputs], () => Pool(inputs, poolSize, strides, padding, max: true));

    /// <summary>
    /// Average pooling (Keras's <c>ops.average_pool</c>) over 1 to 3 spatial axes of channels_last <paramref name="inputs"/>.
    /// With "same" the padded positions are not counted: each output averages only the input values under its window
    /// (TensorFlow's rule).
    /// </summary>
    public static KTensor AveragePool(KTensor inputs, int[] poolSize, int[]? strides = null, string padding = "valid") =>
        Emit(new AveragePoolOp(poolSize, strides, padding), [inputs], () => Pool(inputs, poolSize, strides, padding, max: false));

    /// <summary>Mean over the spatial axes of channels_last <paramref name="inputs"/> [N, *spatial, C] (kept with size
    /// 1 when <paramref name="keepDims"/>).</summary>
    public static KTensor GlobalAveragePool(KTensor inputs, bool keepDims = false) =>
        Emit(new GlobalAveragePoolOp(keepDims), [inputs], () => inputs.Value.mean(SpatialAxes(inputs.Value), keepDims));

    /// <summary>Maximum over the spatial axes of channels_last <paramref name="inputs"/> [N, *spatial, C] (kept with
    /// size 1 when <paramref name="keepDims"/>).</summary>
    public static KTensor GlobalMaxPool(KTensor inputs, bool keepDims = false) =>
        Emit(new GlobalMaxPoolOp(keepDims), [inputs], () => inputs.Value.amax(SpatialAxes(inputs.Value), keepDims));

    // ---- helpers ----------------------------------------------------------------------------------

    private static Tensor Pool(KTensor inputs, int[] poolSize, int[]? strides, string padding, bool max)
    {
        var x = inputs.Value;
        string name = max ? "max_pool" : "average_pool";
        int rank = SpatialRank(x, name);
        var k = PerAxis(poolSize, rank, "pool_size");
        var s = strides is null ? k : PerAxis(strides, rank, "strides");
        var pads = new (long Before, long After)[rank];
        for (int i = 0; i < rank; i++)
        {
            pads[i] = padding switch
            {
                "valid" => (0, 0),
                "same" => SamePadding(x.shape[1 + i], k[i], s[i]),
                _ => throw new ArgumentException($"{name}: padding must be 'valid' or 'same'; got '{padding}'."),
            };
        }
        if (rank == 1) (x, k, s, pads) = (x.unsqueeze(1), [1, .. k], [1, .. s], [(0, 0), .. pads]);
        var xf = ChannelsFirst(x);
        Tensor y;
        if (pads.All(p => p.Before == p.After))
        {
            long[] sym = pads.Select(p => p.Before).ToArray();
            y = max ? MaxPoolNd(xf, k, s, sym) : AvgPoolNd(xf, k, s, sym, countIncludePad: false);
        }
        else if (max)
        {
            y = MaxPoolNd(F.pad(xf, TorchPad(pads), PaddingModes.Constant, double.NegativeInfinity), k, s, new long[k.Length]);
        }
        else
        {
            // Sum over each window of the zero-padded input, divided by the number of real (unpadded) positions in it.
            var zero = new long[k.Length];
            var sums = AvgPoolNd(F.pad(xf, TorchPad(pads), PaddingModes.Constant, 0), k, s, zero, countIncludePad: true);
            var ones = torch.ones([1, 1, .. xf.shape[2..]], xf.dtype, xf.device);
            var counts = AvgPoolNd(F.pad(ones, TorchPad(pads), PaddingModes.Constant, 0), k, s, zero, countIncludePad: true);
            y = sums / counts;
        }
        y = ChannelsLast(y);
        return rank == 1 ? y.squeeze(1) : y;
    }

    /// <summary>libtorch max pooling of channels-first [N, C, *spatial] with 2 or 3 spatial axes.</summary>
    private static Tensor MaxPoolNd(Tensor xf, long[] k, long[] s, long[] pad) =>
        xf.dim() == 4 ? F.max_pool2d(xf, k, s, pad, [1, 1], false) : F.max_pool3d(xf, k, s, pad, [1, 1, 1], false);

    /// <summary>libtorch average pooling of channels-first [N, C, *spatial] with 2 or 3 spatial axes.</summary>
    private static Tensor AvgPoolNd(Tensor xf, long[] k, long[] s, long[] pad, bool countIncludePad) =>
        xf.dim() == 4 ? F.avg_pool2d(xf, k, s, pad, false, countIncludePad, null) : F.avg_pool3d(xf, k, s, pad, false, countIncludePad, null);

    /// <summary>libtorch convolution with per-axis (before, after) padding: symmetric padding goes to libtorch, else an explicit zero pad.</summary>
    private static Tensor Convolve(Tensor x, Tensor w, Tensor? b, long[] strides, (long Before, long After)[] pads, long[] dilation, long groups)
    {
        long[] sym;
        if (pads.All(p => p.Before == p.After)) sym = pads.Select(p => p.Before).ToArray();
        else
        {
            x = F.pad(x, TorchPad(pads), PaddingModes.Constant, 0);
            sym = new long[pads.Length];
        }
        return x.dim() == 4 ? F.conv2d(x, w, b, strides, sym, dilation, groups) : F.conv3d(x, w, b, strides, sym, dilation, groups);
    }

    /// <summary>libtorch's pad list for [N, C, *spatial]: last axis first.</summary>
    private static long[] TorchPad((long Before, long After)[] pads)
    {
        var list = new List<long>();
        for (int i = pads.Length - 1; i >= 0; i--) list.AddRange([pads[i].Before, pads[i].After]);
        return list.ToArray();
    }

    private static int SpatialRank(Tensor x, string op)
    {
        long rank = x.dim() - 2;
        if (rank is < 1 or > 3)
            throw new ArgumentException($"{op}: input must be [batch, *spatial, channels] with 1 to 3 spatial axes; got shape {Shape.Of(x.shape)}.");
        return (int)rank;
    }

    private static long[] SpatialAxes(Tensor x)
    {
        if (x.dim() < 3) throw new ArgumentException($"global pooling: input must be [batch, *spatial, channels]; got shape {Shape.Of(x.shape)}.");
        return Enumerable.Range(1, (int)x.dim() - 2).Select(i => (long)i).ToArray();
    }

    private static long[] PerAxis(int[]? values, int rank, string what, bool allowZero = false)
    {
        if (values is null) return Enumerable.Repeat(1L, rank).ToArray();
        if (values.Length != 1 && values.Length != rank) throw new ArgumentException($"{what} must have 1 or {rank} values; got {values.Length}.");
        if (values.Any(v => v < 0 || (v == 0 && !allowZero)))
            throw new ArgumentException($"{what} must be {(allowZero ? "non-negative" : "positive")}; got ({string.Join(", ", values)}).");
        return values.Length == rank ? values.Select(v => (long)v).ToArray() : Enumerable.Repeat((long)values[0], rank).ToArray();
    }

    /// <summary>[N, *spatial, C] to [N, C, *spatial] as a view (channels_last memory for libtorch).</summary>
    private static Tensor ChannelsFirst(Tensor x) => x.dim() == 4 ? x.permute(0, 3, 1, 2) : x.permute(0, 4, 1, 2, 3);

    /// <summary>[N, C, *spatial] to [N, *spatial, C] as a view.</summary>
    private static Tensor ChannelsLast(Tensor y) => y.dim() == 4 ? y.permute(0, 2, 3, 1) : y.permute(0, 2, 3, 4, 1);

    /// <summary>Keras kernel [*k, a, b] to libtorch's [b, a, *k] (a view).</summary>
    private static Tensor TorchKernel(Tensor k) => k.dim() == 4 ? k.permute(3, 2, 0, 1) : k.permute(4, 3, 0, 1, 2);
}

/// <summary><see cref="Ops.Conv"/> (also depthwise and separable, which run as grouped convolutions): inputs x, kernel, optional bias.</summary>
internal sealed record ConvOp(int[]? Strides, string Padding, int[]? DilationRate) : OpInfo;
/// <summary><see cref="Ops.ConvTranspose"/>: inputs x, kernel, optional bias.</summary>
internal sealed record ConvTransposeOp(int[]? Strides, string Padding, int[]? OutputPadding, int[]? DilationRate) : OpInfo;
/// <summary><see cref="Ops.MaxPool"/>.</summary>
internal sealed record MaxPoolOp(int[] PoolSize, int[]? Strides, string Padding) : OpInfo;
/// <summary><see cref="Ops.AveragePool"/>.</summary>
internal sealed record AveragePoolOp(int[] PoolSize, int[]? Strides, string Padding) : OpInfo;
/// <summary><see cref="Ops.GlobalAveragePool"/>.</summary>
internal sealed record GlobalAveragePoolOp(bool KeepDims) : OpInfo;
/// <summary><see cref="Ops.GlobalMaxPool"/>.</summary>
internal sealed record GlobalMaxPoolOp(bool KeepDims) : OpInfo;
