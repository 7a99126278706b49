using OnnxKeras.Export.Tracing;
using TorchSharp;
using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.EmitterHelpers;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// ONNX forms of the convolution family. Keras's layers are channels_last; ONNX's Conv, ConvTranspose and pooling are
/// channels-first, so each is wrapped in Transposes (NHWC to NCHW and back) that <see cref="Onnx.GraphOptimizer"/> cancels
/// between consecutive layers, leaving them at the edges of convolutional stacks. Kernels are written in ONNX's layout
/// (a permuted copy of the Keras-layout weight). Global pooling works on any axis and stays channels_last (so do the
/// image ops, in <see cref="ImageEmitters"/>).
/// </summary>
internal sealed class ConvolutionEmitters : IEmitterFamily
{
    public void Register(EmitterTable table)
    {
        table.Add<ConvOp>(Conv);
        table.Add<ConvTransposeOp>(ConvTranspose);
        table.Add<MaxPoolOp>((ctx, op, a, shape) => Pool(ctx, op, shape, "MaxPool", a.PoolSize, a.Strides, a.Padding));
        table.Add<AveragePoolOp>((ctx, op, a, shape) => Pool(ctx, op, shape, "AveragePool", a.PoolSize, a.Strides, a.Padding));
        table.Add<GlobalAveragePoolOp>((ctx, op, a, shape) => GlobalPool(ctx, op, shape, "ReduceMean", a.KeepDims));
        table.Add<GlobalMaxPoolOp>((ctx, op, a, shape) => GlobalPool(ctx, op, shape, "ReduceMax", a.KeepDims));
    }

    private static long[] ToFirst(int rank) => [0, rank + 1, .. Enumerable.Range(1, rank).Select(i => (long)i)];

    private static long[] ToLast(int rank) => [0, .. Enumerable.Range(2, rank).Select(i => (long)i), 1];

    private static long?[] Permute(long?[] shape, long[] perm) => perm.Select(p => shape[p]).ToArray();

    private static long[] PerAxis(int[]? value, int rank, long fallback = 1) => value switch
    {
        null => Enumerable.Repeat(fallback, rank).ToArray(),
        [var one] => Enumerable.Repeat((long)one, rank).ToArray(),
        _ => value.Select(v => (long)v).ToArray(),
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

    private static void Conv(EmitContext ctx, RecordedOp op, ConvOp a, long?[] shape)
    {
        var kernel = Constant(ctx, op, 1);
        int rank = (int)kernel.dim() - 2;
        var inShape = InputShape(ctx, op);
        long channels = inShape[^1] ?? throw new OnnxExportException($"In {op.Scope}: the channel count must be known.");
        long groups = channels / kernel.shape[^2];
        // Keras [*k, in/groups, out] -> ONNX [out, in/groups, *k]
        long[] perm = [rank + 1, rank, .. Enumerable.Range(0, rank).Select(i => (long)i)];
        string w = ctx.Initializer(ctx.Fresh(op.Inputs[1] + "_oihw"), kernel.permute(perm).contiguous());
        var strides = PerAxis(a.Strides, rank);
        var dilations = PerAxis(a.DilationRate, rank);
        string padding = a.Padding;
        var attributes = new List<Onnx.AttributeProto>
        {
            Ints("kernel_shape", kernel.shape[..rank]), Ints("strides", strides), Ints("dilations", dilations), Int("group", groups),
        };
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

    private static void ConvTranspose(EmitContext ctx, RecordedOp op, ConvTransposeOp a, long?[] shape)
    {
        var kernel = Constant(ctx, op, 1);
        int rank = (int)kernel.dim() - 2;
        var inShape = InputShape(ctx, op);
        var spatial = inShape[1..^1]
            .Select(d => d ?? throw new OnnxExportException($"In {op.Scope}: a transposed convolution needs known spatial sizes."))
            .ToArray();
        var strides = PerAxis(a.Strides, rank);
        var dilations = PerAxis(a.DilationRate, rank);
        long[]? outputPadding = a.OutputPadding is { } o ? PerAxis(o, rank, 0) : null;
        var crops = Ops.ConvTransposeCrops(spatial, kernel.shape[..rank], a.Padding, strides, outputPadding, dilations);
        // ONNX pads crop the full output like TensorFlow; a negative end crop is extra output (output_padding).
        var pads = crops.Select(c => c.Before).Concat(crops.Select(c => Math.Max(c.After, 0))).ToArray();
        var extra = crops.Select(c => Math.Max(-c.After, 0)).ToArray();
        // Keras [*k, out, in] -> ONNX ConvTranspose [in, out, *k]
        long[] perm = [rank + 1, rank, .. Enumerable.Range(0, rank).Select(i => (long)i)];
        string w = ctx.Initializer(ctx.Fresh(op.Inputs[1] + "_iohw"), kernel.permute(perm).contiguous());
        string[] rest = op.Inputs.Length > 2 ? [w, op.Inputs[2]] : [w];
        ChannelsFirst(ctx, op, shape, rank, (x, yShape) => ctx.Temp("ConvTranspose", [x, .. rest], op.Output, yShape, 1,
            Ints("kernel_shape", kernel.shape[..rank]), Ints("strides", strides), Ints("dilations", dilations), Ints("pads", pads),
            Ints("output_padding", extra)));
    }

    private static void Pool(EmitContext ctx, RecordedOp op, long?[] shape, string onnx, int[] poolSize, int[]? poolStrides, string padding)
    {
        // The rank comes from the input: a 1-D pool_size ([2]) would otherwise read as "one value for every axis" of rank 0.
        int rank = InputShape(ctx, op).Length - 2;
        var pool = PerAxis(poolSize, rank);
        var strides = poolStrides is null ? pool : PerAxis(poolStrides, rank);
        var attributes = new List<Onnx.AttributeProto>
        {
            Ints("kernel_shape", pool), Ints("strides", strides), String("auto_pad", padding == "same" ? "SAME_UPPER" : "VALID"),
        };
        // Keras/TensorFlow's "same" average pooling does not count padded positions (ONNX's count_include_pad = 0).
        if (onnx == "AveragePool") attributes.Add(Int("count_include_pad", 0));
        ChannelsFirst(ctx, op, shape, rank, (x, yShape) => ctx.Temp(onnx, [x], op.Output, yShape, 1, [.. attributes]));
    }

    private static void GlobalPool(EmitContext ctx, RecordedOp op, long?[] shape, string onnx, bool keepDims)
    {
        int rank = InputShape(ctx, op).Length - 2;
        long[] axes = Enumerable.Range(1, rank).Select(i => (long)i).ToArray();
        Reduce(ctx, onnx, op.Inputs[0], axes, keepDims, op.Output, op.Output, shape);
    }
}
