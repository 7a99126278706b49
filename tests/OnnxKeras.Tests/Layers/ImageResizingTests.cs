using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Tests.Export;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Resizing and CenterCrop against Keras 3 (keras/src/layers/preprocessing/image_preprocessing/resizing.py,
/// center_crop.py, utils/image_utils.py smart_resize) and TensorFlow's resize: bilinear with half-pixel centres and no
/// antialiasing, computed here by plain loops (<see cref="Bilinear"/>), nearest as floor((i + 0.5) * in / out), crop and
/// pad windows by Keras's integer rules worked by hand. Both the eager layer and the exported ONNX file (opsets 17-21) are
/// compared with those loops.
/// </summary>
public class ImageResizingTests
{
    // ------------------------------------------------------------------ harness (config, shapes, ONNX parity at opsets 17-21)

    [Fact]
    public void ResizingHarness_Bilinear() => LayerTestHarness.Run(new Resizing(8, 4), [5, 7, 2], [8, 4, 2], 0, 0, supportsTraining: false);

    [Fact]
    public void ResizingHarness_Nearest() => LayerTestHarness.Run(new Resizing(3, 9, "nearest"), [5, 7, 2], [3, 9, 2], 0, 0, supportsTraining: false);

    [Fact]
    public void ResizingHarness_CropToAspectRatio() =>
        LayerTestHarness.Run(new Resizing(4, 4, cropToAspectRatio: true), [6, 10, 3], [4, 4, 3], 0, 0, supportsTraining: false);

    [Fact]
    public void ResizingHarness_PadToAspectRatio() =>
        LayerTestHarness.Run(new Resizing(4, 4, padToAspectRatio: true, fillValue: 0.5), [4, 8, 1], [4, 4, 1], 0, 0, supportsTraining: false);

    [Fact]
    public void CenterCropHarness_Crop() => LayerTestHarness.Run(new CenterCrop(2, 3), [5, 5, 2], [2, 3, 2], 0, 0, supportsTraining: false);

    [Fact]
    public void CenterCropHarness_SmallerInputIsResized() => LayerTestHarness.Run(new CenterCrop(8, 8), [4, 6, 1], [8, 8, 1], 0, 0, supportsTraining: false);

    // ------------------------------------------------------------------ numbers against the loops, eager and ONNX

    [Theory]
    [InlineData(5, 7, 8, 4)]
    [InlineData(4, 4, 8, 8)]
    [InlineData(6, 9, 2, 3)]
    [InlineData(3, 5, 7, 2)]
    public void Bilinear_MatchesHalfPixelLoops(int h, int w, int outH, int outW)
    {
        var x = Image(2, h, w, 3);
        var expected = Bilinear(x, 2, h, w, 3, outH, outW);
        CheckEagerAndOnnx(new Resizing(outH, outW), x, [2, h, w, 3], expected);
    }

    [Theory]
    [InlineData(5, 7, 3, 9)]
    [InlineData(6, 6, 3, 2)]
    [InlineData(2, 3, 5, 7)]
    public void Nearest_TakesFloorOfHalfPixelCentre(int h, int w, int outH, int outW)
    {
        var x = Image(2, h, w, 2);
        var expected = new float[2 * outH * outW * 2];
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < outH; i++)
                for (int j = 0; j < outW; j++)
                    for (int c = 0; c < 2; c++)
                    {
                        int si = Math.Min(h - 1, (int)Math.Floor((i + 0.5) * h / outH)), sj = Math.Min(w - 1, (int)Math.Floor((j + 0.5) * w / outW));
                        expected[((b * outH + i) * outW + j) * 2 + c] = x[((b * h + si) * w + sj) * 2 + c];
                    }
        CheckEagerAndOnnx(new Resizing(outH, outW, "nearest"), x, [2, h, w, 2], expected);
    }

    [Fact]
    public void CropToAspectRatio_CutsTheCentredSquareThenResizes()
    {
        // 6 x 10 to 3 x 3: crop height min(6, 10*3/3) = 6, width min(10, 6*3/3) = 6, left (10 - 6) / 2 = 2: columns 2..7.
        var x = Image(1, 6, 10, 1);
        var window = new float[36];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) window[i * 6 + j] = x[i * 10 + j + 2];
        CheckEagerAndOnnx(new Resizing(3, 3, cropToAspectRatio: true), x, [1, 6, 10, 1], Bilinear(window, 1, 6, 6, 1, 3, 3));
    }

    [Fact]
    public void PadToAspectRatio_PadsRowsEvenlyWithTheFillValue()
    {
        // 4 x 8 to 4 x 4: pad height max(4, 8*4/4) = 8, top (8 - 4) / 2 = 2: rows 0-1 and 6-7 are 0.5, then 8 x 8 -> 4 x 4.
        var x = Image(1, 4, 8, 1);
        var padded = Enumerable.Repeat(0.5f, 64).ToArray();
        Array.Copy(x, 0, padded, 16, 32);
        CheckEagerAndOnnx(new Resizing(4, 4, padToAspectRatio: true, fillValue: 0.5), x, [1, 4, 8, 1], Bilinear(padded, 1, 8, 8, 1, 4, 4));
    }

    [Fact]
    public void CenterCrop_TakesTheWindowAtHalfTheDifference()
    {
        // 5 x 5 to 2 x 3: top (5 - 2) / 2 = 1, left (5 - 3) / 2 = 1.
        var x = Image(2, 5, 5, 1);
        var expected = new float[2 * 2 * 3];
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++) expected[(b * 2 + i) * 3 + j] = x[(b * 5 + i + 1) * 5 + j + 1];
        CheckEagerAndOnnx(new CenterCrop(2, 3), x, [2, 5, 5, 1], expected);
    }

    [Fact]
    public void CenterCrop_SmallerThanTarget_CropsToAspectThenResizes()
    {
        // 4 x 6 to 8 x 8 (Keras 3 smart_resize): window min(4, 6) = 4 rows x min(6, 4) = 4 columns at left 1, then bilinear to 8 x 8.
        var x = Image(1, 4, 6, 1);
        var window = new float[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) window[i * 4 + j] = x[i * 6 + j + 1];
        CheckEagerAndOnnx(new CenterCrop(8, 8), x, [1, 4, 6, 1], Bilinear(window, 1, 4, 4, 1, 8, 8));
    }

    [Fact]
    public void Resizing_OfImagesOfAnySize_ExportsOneGraphForAllSizes()
    {
        // Height and width unknown: the ONNX Resize takes its sizes from the target and the input's batch, so one file
        // resizes 5 x 7 and 3 x 2 images alike.
        var input = Keras.Input(new Shape(null, null, 2));
        using var model = new Model(input, new Resizing(4, 6).Apply(input));
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = 17 });
        string name = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph.Input[0].Name;
        foreach (var (h, w) in new[] { (5, 7), (3, 2) })
        {
            var x = Image(2, h, w, 2);
            Near(Bilinear(x, 2, h, w, 2, 4, 6), OnnxTestHelpers.RunOrt(bytes, (name, x, [2, h, w, 2]))[0]);
        }
    }

    [Fact]
    public void UnsupportedArgumentsAreRefusedByName()
    {
        Assert.Contains("interpolation", Assert.Throws<ArgumentException>(() => new Resizing(4, 4, "bicubic")).Message);
        Assert.Contains("channels_first", Assert.Throws<ArgumentException>(() => new Resizing(4, 4, dataFormat: "channels_first")).Message);
        Assert.Contains("only one", Assert.Throws<ArgumentException>(() => new Resizing(4, 4, cropToAspectRatio: true, padToAspectRatio: true)).Message);
        Assert.Contains("fillMode", Assert.Throws<ArgumentException>(() => new Resizing(4, 4, padToAspectRatio: true, fillMode: "reflect")).Message);
        Assert.Contains("height", Assert.Throws<ArgumentException>(() => new CenterCrop(0, 4)).Message);
        var input = Keras.Input([4, 4]);
        Assert.Contains("[batch, height, width, channels]", Assert.Throws<ArgumentException>(() => new Resizing(2, 2).Apply(input)).Message);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Distinct values so a wrong pixel shows: sin of the flat index, in [-1, 1].</summary>
    private static float[] Image(int n, int h, int w, int c) => Enumerable.Range(0, n * h * w * c).Select(i => (float)Math.Sin(0.7 * i + 0.3)).ToArray();

    /// <summary>
    /// TensorFlow's half-pixel bilinear resize (ResizeBilinear with half_pixel_centers, no antialias): source coordinate
    /// s = (i + 0.5) * in / out - 0.5, lower = max(floor(s), 0), upper = min(ceil(s), in - 1), weight s - floor(s).
    /// </summary>
    private static float[] Bilinear(float[] x, int n, int h, int w, int c, int outH, int outW)
    {
        static (int Lo, int Hi, double T) Source(int i, int inSize, int outSize)
        {
            double s = (i + 0.5) * inSize / outSize - 0.5, f = Math.Floor(s);
            return ((int)Math.Max(f, 0), (int)Math.Min(Math.Ceiling(s), inSize - 1), s - f);
        }
        var y = new float[n * outH * outW * c];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < outH; i++)
            {
                var (top, bottom, ty) = Source(i, h, outH);
                for (int j = 0; j < outW; j++)
                {
                    var (left, right, tx) = Source(j, w, outW);
                    for (int k = 0; k < c; k++)
                    {
                        double At(int r, int col) => x[((b * h + r) * w + col) * c + k];
                        double upper = At(top, left) + (At(top, right) - At(top, left)) * tx;
                        double lower = At(bottom, left) + (At(bottom, right) - At(bottom, left)) * tx;
                        y[((b * outH + i) * outW + j) * c + k] = (float)(upper + (lower - upper) * ty);
                    }
                }
            }
        return y;
    }

    private static void CheckEagerAndOnnx(Layer layer, float[] x, long[] shape, float[] expected)
    {
        using (var scope = NewDisposeScope())
            Near(expected, FamilyTestUtil.Values(layer.Apply(tensor(x, shape), training: false)));
        var input = Keras.Input(new Shape(shape.Skip(1).Select(d => (long?)d).ToArray()));
        using var model = new Model(input, layer.Apply(input));
        foreach (int opset in OnnxTestHelpers.Opsets)
        {
            var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset });
            string name = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph.Input[0].Name;
            Near(expected, OnnxTestHelpers.RunOrt(bytes, (name, x, shape))[0]);
        }
    }

    private static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
