using OnnxKeras.Export.Tracing;
using TorchSharp;
using static OnnxKeras.Export.Lowering.EmitContext;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// ONNX forms of the convolution family. Keras's layers are channels_last; ONNX's Conv, ConvTranspose and pooling are
/// channels-first, so each is wrapped in Transposes (NHWC to NCHW and back) that <see cref="Onnx.GraphOptimizer"/> cancels
/// between consecutive layers, leaving them at the edges of convolutional stacks. Kernels are written in ONNX's layout
/// (a permuted copy of the Keras-layout weight). Ops that work on any axis (padding, cropping, resizing, global pooling)
/// stay channels_last.
/// </summary>
internal sealed class ConvolutionEmitters : IEmitterFamily
{
    public void Register(Dictionary<string, OpEmitters.Emitter> table)
    {
        table[nameof(Ops.Conv)] = Conv;
        table[nameof(Ops.ConvTranspose)] = ConvTranspose;
        table[nameof(Ops.MaxPool)] = (ctx, op, shape) => Pool(ctx, op, shape, "MaxPool");
        table[nameof(Ops.AveragePool)] = (ctx, op, shape) => Pool(ctx, op, shape, "AveragePool");
        table[nameof(Ops.GlobalAveragePool)] = (ctx, op, shape) => GlobalPool(ctx, op, shape, "ReduceMean");
        table[nameof(Ops.GlobalMaxPool)] = (ctx, op, shape) => GlobalPool(ctx, op, shape, "ReduceMax");
        table[nameof(Ops.ZeroPad)] = ZeroPad;
        table[nameof(Ops.Crop)] = Crop;
        table[nameof(Ops.UpSample)] = UpSample;
    }

    private static long?[] InputShape(EmitContext ctx, RecordedOp op) =>
        ctx.Shapes.TryGetValue(op.Inputs[0], out var s) ? s : throw new OnnxExportException($"In {op.Scope}: the shape of '{op.Inputs[0]}' is unknown.");

    private static long[] ToFirst(int rank) => [0, rank + 1, .. Enumerable.Range(1, rank).Select(i => (long)i)];

    private static long[] ToLast(int rank) => [0, .. Enumerable.Range(2, rank).Select(i => (long)i), 1];

    private static long?[] Permute(long?[] shape, long[] perm) => perm.Select(p => shape[p]).ToArray();

    private static long[] PerAxis(object? value, int rank, long fallback = 1) => value switch
    {
        null => Enumerable.Repeat(fallback, rank).ToArray(),
        int[] a when a.Length == 1 => Enumerable.Repeat((long)a[0], rank).ToArray(),
        int[] a => a.Select(v => (long)v).ToArray(),
        _ => throw new OnnxExportException($"Unexpected per-axis value {value}."),
    };

    /// <summary>Transpose x to channels-first, run <paramref name="build"/> on it, transpose the result back to channels_last.</summary>
    private static void ChannelsFirst(EmitContext ctx, RecordedOp op, long?[] shape, int rank, Func<string, long?[], string> build)
    {
        var inShape = InputShape(ctx, op);
        var xFirst = ctx.Temp("Transpose", [op.Inputs[0]], op.Output, Permute(inShape, ToFirst(rank)), 1, Ints("perm", ToFirst(rank)));
        var yFirst = build(xFirst, Permute(shape, ToFirst(rank)));
        ctx.Node("Transpose", [yFirst], op.Output, shape, 1, Ints("perm", ToLast(rank)));
    }

    private static Tensor Constant(EmitContext ctx, RecordedOp op, int index) =>
        ctx.Constants.TryGetValue(op.Inputs[index], out var t) ? t
        : throw new OnnxExportException($"In {op.Scope}: the convolution kernel must be a weight (a constant), not a computed value.");

    private static void Conv(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var kernel = Constant(ctx, op, 1);
        int rank = (int)kernel.dim() - 2;
        var inShape = InputShape(ctx, op);
        long channels = inShape[^1] ?? throw new OnnxExportException($"In {op.Scope}: the channel count must be known.");
        long groups = channels / kernel.shape[^2];
        // Keras [*k, in/groups, out] -> ONNX [out, in/groups, *k]
        long[] perm = [rank + 1, rank, .. Enumerable.Range(0, rank).Select(i => (long)i)];
        string w = ctx.Initializer(ctx.Fresh(op.Inputs[1] + "_oihw"), kernel.permute(perm).contiguous());
        var strides = PerAxis(op.Attributes["strides"], rank);
        var dilations = PerAxis(op.Attributes["dilation"], rank);
        string padding = (string)op.Attributes["padding"]!;
        var attributes = new List<Onnx.AttributeProto> { Ints("kernel_shape", kernel.shape[..rank]), Ints("strides", strides), Ints("dilations", dilations), Int("group", groups) };
        attributes.Add(padding switch
        {
            "valid" => String("auto_pad", "VALID"),
            "same" => String("auto_pad", "SAME_UPPER"),
            "causal" => Ints("pads", [(kernel.shape[0] - 1) * dilations[0], 0]),
            _ => throw new OnnxExportException($"In {op.Scope}: padding '{padding}' has no ONNX form."),
        });
        string[] rest = op.Inputs.Length > 2 ? [w, op.Inputs[2]] : [w];
        ChannelsFirst(ctx, op, shape, rank, (x, yShape) => ctx.Temp("Conv", [x, .. rest], op.Output, yShape, 1, [.. attributes]));
    }

    private static void ConvTranspose(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var kernel = Constant(ctx, op, 1);
        int rank = (int)kernel.dim() - 2;
        var inShape = InputShape(ctx, op);
        var spatial = inShape[1..^1].Select(d => d ?? throw new OnnxExportException($"In {op.Scope}: a transposed convolution needs known spatial sizes.")).ToArray();
        var strides = PerAxis(op.Attributes["strides"], rank);
        var dilations = PerAxis(op.Attributes["dilation"], rank);
        long[]? outputPadding = op.Attributes["output_padding"] is int[] o ? PerAxis(o, rank, 0) : null;
        var crops = Ops.ConvTransposeCrops(spatial, kernel.shape[..rank], (string)op.Attributes["padding"]!, strides, outputPadding, dilations);
        // ONNX pads crop the full output like TensorFlow; a negative end crop is extra output (output_padding).
        var pads = crops.Select(c => c.Before).Concat(crops.Select(c => Math.Max(c.After, 0))).ToArray();
        var extra = crops.Select(c => Math.Max(-c.After, 0)).ToArray();
        // Keras [*k, out, in] -> ONNX ConvTranspose [in, out, *k]
        long[] perm = [rank + 1, rank, .. Enumerable.Range(0, rank).Select(i => (long)i)];
        string w = ctx.Initializer(ctx.Fresh(op.Inputs[1] + "_iohw"), kernel.permute(perm).contiguous());
        string[] rest = op.Inputs.Length > 2 ? [w, op.Inputs[2]] : [w];
        ChannelsFirst(ctx, op, shape, rank, (x, yShape) => ctx.Temp("ConvTranspose", [x, .. rest], op.Output, yShape, 1,
            Ints("kernel_shape", kernel.shape[..rank]), Ints("strides", strides), Ints("dilations", dilations), Ints("pads", pads), Ints("output_padding", extra)));
    }

    private static void Pool(EmitContext ctx, RecordedOp op, long?[] shape, string onnx)
    {
        // The rank comes from the input: a 1-D pool_size ([2]) would otherwise read as "one value for every axis" of rank 0.
        int rank = InputShape(ctx, op).Length - 2;
        var pool = PerAxis(op.Attributes["pool_size"], rank);
        var strides = op.Attributes["strides"] is null ? pool : PerAxis(op.Attributes["strides"], rank);
        string padding = (string)op.Attributes["padding"]!;
        var attributes = new List<Onnx.AttributeProto> { Ints("kernel_shape", pool), Ints("strides", strides), String("auto_pad", padding == "same" ? "SAME_UPPER" : "VALID") };
        // Keras/TensorFlow's "same" average pooling does not count padded positions (ONNX's count_include_pad = 0).
        if (onnx == "AveragePool") attributes.Add(Int("count_include_pad", 0));
        ChannelsFirst(ctx, op, shape, rank, (x, yShape) => ctx.Temp(onnx, [x], op.Output, yShape, 1, [.. attributes]));
    }

    private static void GlobalPool(EmitContext ctx, RecordedOp op, long?[] shape, string onnx)
    {
        int rank = InputShape(ctx, op).Length - 2;
        long[] axes = Enumerable.Range(1, rank).Select(i => (long)i).ToArray();
        bool keep = (bool)op.Attributes["keepdims"]!;
        if (ctx.Opset >= 18 || onnx == "ReduceSum") ctx.Node(onnx, [op.Inputs[0], ctx.Int64s(axes, op.Output)], op.Output, shape, 1, Int("keepdims", keep ? 1 : 0));
        else ctx.Node(onnx, [op.Inputs[0]], op.Output, shape, 1, Ints("axes", axes), Int("keepdims", keep ? 1 : 0));
    }

    private static void ZeroPad(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var padding = ((int Before, int After)[])op.Attributes["padding"]!;
        long[] pads = [0, .. padding.Select(p => (long)p.Before), 0, 0, .. padding.Select(p => (long)p.After), 0];
        ctx.Node("Pad", [op.Inputs[0], ctx.Int64s(pads, op.Output)], op.Output, shape);
    }

    private static void Crop(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var cropping = ((int Before, int After)[])op.Attributes["cropping"]!;
        var inShape = InputShape(ctx, op);
        var starts = cropping.Select(c => (long)c.Before).ToArray();
        var ends = cropping.Select((c, i) => c.After == 0 ? long.MaxValue : (inShape[1 + i] is long n ? n - c.After : -c.After)).ToArray();
        var axes = Enumerable.Range(1, cropping.Length).Select(i => (long)i).ToArray();
        ctx.Node("Slice", [op.Inputs[0], ctx.Int64s(starts, op.Output), ctx.Int64s(ends, op.Output), ctx.Int64s(axes, op.Output)], op.Output, shape);
    }

    private static void UpSample(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var size = (int[])op.Attributes["size"]!;
        string mode = (string)op.Attributes["interpolation"]!;
        float[] scales = [1f, .. size.Select(s => (float)s), 1f];
        string scalesName = ctx.Initializer(ctx.Fresh(op.Output + "_scales"), tensor(scales));
        var attributes = mode == "nearest"
            ? new[] { String("mode", "nearest"), String("coordinate_transformation_mode", "asymmetric"), String("nearest_mode", "floor") }
            : [String("mode", "linear"), String("coordinate_transformation_mode", "half_pixel")];
        ctx.Node("Resize", [op.Inputs[0], "", scalesName], op.Output, shape, 1, attributes);
    }
}
