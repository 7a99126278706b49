using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.EmitterHelpers;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// Emitters of the ops in <c>Ops.Image.cs</c>: zero padding (Pad), cropping (Slice), upsampling and resizing (Resize), all on the
/// channels_last layout (they work on any axis, so no Transposes).
/// </summary>
internal sealed class ImageEmitters : IEmitterFamily
{
    public void Register(EmitterTable table)
    {
        table.Add<ZeroPadOp>((ctx, op, a, shape) =>
        {
            long[] pads = [0, .. a.Padding.Select(p => (long)p.Before), 0, 0, .. a.Padding.Select(p => (long)p.After), 0];
            ctx.Node("Pad", [op.Inputs[0], ctx.Int64s(pads, op.Output)], op.Output, shape);
        });
        table.Add<CropOp>((ctx, op, a, shape) =>
        {
            var inShape = InputShape(ctx, op);
            var starts = a.Cropping.Select(c => (long)c.Before).ToArray();
            var ends = a.Cropping.Select((c, i) => c.After == 0 ? long.MaxValue : (inShape[1 + i] is long n ? n - c.After : -c.After)).ToArray();
            var axes = Enumerable.Range(1, a.Cropping.Length).Select(i => (long)i).ToArray();
            ctx.Node("Slice", [op.Inputs[0], ctx.Int64s(starts, op.Output), ctx.Int64s(ends, op.Output), ctx.Int64s(axes, op.Output)], op.Output, shape);
        });
        table.Add<UpSampleOp>((ctx, op, a, shape) =>
        {
            float[] scales = [1f, .. a.Size.Select(s => (float)s), 1f];
            string scalesName = ctx.Initializer(ctx.Fresh(op.Output + "_scales"), tensor(scales));
            var attributes = a.Interpolation == "nearest"
                ? new[] { String("mode", "nearest"), String("coordinate_transformation_mode", "asymmetric"), String("nearest_mode", "floor") }
                : [String("mode", "linear"), String("coordinate_transformation_mode", "half_pixel")];
            ctx.Node("Resize", [op.Inputs[0], "", scalesName], op.Output, shape, 1, attributes);
        });
        // Keras's image.resize: Resize to sizes [N, height, width, C] (N read from the input's shape, so any batch works;
        // sizes, not scales, so the output size is exact), half_pixel coordinates; antialias (opset 18+) left at its default 0.
        table.Add<ResizeOp>((ctx, op, a, shape) =>
        {
            var x = op.Inputs[0];
            var batch = ctx.Temp("Shape", [x], op.Output, [1], 7, Int("start", 0), Int("end", 1));
            var channels = InputShape(ctx, op)[3] is long c ? ctx.Int64s([c], op.Output) : ctx.Temp("Shape", [x], op.Output, [1], 7, Int("start", 3));
            var sizes = ctx.Temp("Concat", [batch, ctx.Int64s([a.Height, a.Width], op.Output), channels], op.Output, [4], 7, Int("axis", 0));
            var attributes = a.Interpolation == "nearest"
                ? new[] { String("mode", "nearest"), String("coordinate_transformation_mode", "half_pixel"), String("nearest_mode", "round_prefer_ceil") }
                : [String("mode", "linear"), String("coordinate_transformation_mode", "half_pixel")];
            ctx.Node("Resize", [x, "", "", sizes], op.Output, shape, 1, attributes);
        });
    }
}
