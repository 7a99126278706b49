using OnnxKeras.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

public class SpatialReshapingTests
{
    // ---- harness -----------------------------------------------------------------------------------

    [Fact]
    public void ZeroPadding2DLayer()
    {
        LayerTestHarness.Run(new ZeroPadding2D(((1, 2), (3, 4))), [3, 3, 2], [6, 10, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new ZeroPadding2D(), [3, 3, 2], [5, 5, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new ZeroPadding2D((1, 0)), [3, 3, 2], [5, 3, 2], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void Cropping2DLayer()
    {
        LayerTestHarness.Run(new Cropping2D(((1, 0), (1, 2))), [5, 6, 2], [4, 3, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new Cropping2D(1), [5, 6, 2], [3, 4, 2], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void UpSampling2DLayer()
    {
        LayerTestHarness.Run(new UpSampling2D(), [3, 4, 2], [6, 8, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new UpSampling2D((2, 3), interpolation: "bilinear"), [3, 4, 2], [6, 12, 2], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void SpatialDropout2DLayer() => LayerTestHarness.Run(new SpatialDropout2D(0.5), [4, 4, 3], [4, 4, 3], 0, 0, supportsTraining: false);

    // ---- numerics -----------------------------------------------------------------------------------

    [Fact]
    public void ZeroPaddingAndCroppingMatchLoops()
    {
        const int n = 2, h = 3, w = 4, c = 2;
        var x = SpatialRef.Values(n * h * w * c, 1);
        (int t, int b, int l, int r) = (1, 2, 0, 3);
        int ph = h + t + b, pw = w + l + r;
        var padded = new float[n * ph * pw * c];
        for (int i = 0; i < n; i++)
            for (int y = 0; y < h; y++)
                for (int z = 0; z < w; z++)
                    for (int ch = 0; ch < c; ch++)
                        padded[((i * ph + y + t) * pw + z + l) * c + ch] = x[((i * h + y) * w + z) * c + ch];
        using var scope = NewDisposeScope();
        var input = SpatialRef.T(x, n, h, w, c);
        var p = new ZeroPadding2D(((t, b), (l, r))).Apply(input).Value;
        AllClose(padded, p, [n, ph, pw, c], rtol: 0, atol: 1e-5);
        Assert.True(p.is_contiguous());
        // Cropping the same amounts gives the input back.
        AllClose(x, new Cropping2D(((t, b), (l, r))).Apply(p).Value, [n, h, w, c], rtol: 0, atol: 1e-5);
        // Symmetric forms.
        AllClose(Data(new ZeroPadding2D(((2, 2), (1, 1))).Apply(input).Value), new ZeroPadding2D((2, 1)).Apply(input).Value, [n, h + 4, w + 2, c], rtol: 0, atol: 1e-5);
        AllClose(Data(new ZeroPadding2D(((1, 1), (1, 1))).Apply(input).Value), new ZeroPadding2D(1).Apply(input).Value, [n, h + 2, w + 2, c], rtol: 0, atol: 1e-5);

        // Crop of a single row/column by hand: 3x3 of 1..9, cropping ((1, 0), (0, 1)) leaves [[4, 5], [7, 8]].
        var nine = SpatialRef.T([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 3, 3, 1);
        AllClose([4, 5, 7, 8], new Cropping2D(((1, 0), (0, 1))).Apply(nine).Value, [1, 2, 2, 1], rtol: 0, atol: 1e-5);
    }

    private static float[] Data(Tensor t) => SpatialRef.Data(t);

    [Fact]
    public void NearestUpSamplingRepeatsRowsAndColumns()
    {
        const int n = 2, h = 3, w = 2, c = 3, fh = 2, fw = 3;
        var x = SpatialRef.Values(n * h * w * c, 2);
        var expected = new float[n * h * fh * w * fw * c];
        for (int i = 0; i < n; i++)
            for (int y = 0; y < h * fh; y++)
                for (int z = 0; z < w * fw; z++)
                    for (int ch = 0; ch < c; ch++)
                        expected[((i * h * fh + y) * w * fw + z) * c + ch] = x[((i * h + y / fh) * w + z / fw) * c + ch];
        using var scope = NewDisposeScope();
        var y2 = new UpSampling2D((fh, fw)).Apply(SpatialRef.T(x, n, h, w, c)).Value;
        AllClose(expected, y2, [n, h * fh, w * fw, c], rtol: 0, atol: 1e-5);
        Assert.True(y2.is_contiguous());
        // Large factors stay exact (no floating-point index rounding).
        var big = new UpSampling2D(7).Apply(SpatialRef.T(x, n, h, w, c)).Value;
        Assert.Equal(x[((1 * h + 2) * w + 1) * c + 2], big[1, 20, 13, 2].item<float>());
    }

    [Fact]
    public void BilinearUpSamplingMatchesHalfPixelLoops()
    {
        const int h = 2, w = 3, c = 2, fh = 2, fw = 3;
        var x = SpatialRef.Values(h * w * c, 3);
        // Half-pixel centers (Keras's image.resize): source = (out + 0.5) / factor - 0.5, clamped at the edges.
        static (int I0, int I1, double F) Source(int o, int factor, int size)
        {
            double s = Math.Max((o + 0.5) / factor - 0.5, 0);
            int i0 = Math.Min((int)Math.Floor(s), size - 1);
            return (i0, Math.Min(i0 + 1, size - 1), s - i0);
        }
        var expected = new float[h * fh * w * fw * c];
        for (int y = 0; y < h * fh; y++)
            for (int z = 0; z < w * fw; z++)
                for (int ch = 0; ch < c; ch++)
                {
                    var (y0, y1, fy) = Source(y, fh, h);
                    var (z0, z1, fz) = Source(z, fw, w);
                    float V(int a, int b2) => x[(a * w + b2) * c + ch];
                    double top = (1 - fz) * V(y0, z0) + fz * V(y0, z1), bottom = (1 - fz) * V(y1, z0) + fz * V(y1, z1);
                    expected[(y * w * fw + z) * c + ch] = (float)((1 - fy) * top + fy * bottom);
                }
        using var scope = NewDisposeScope();
        var result = new UpSampling2D((fh, fw), interpolation: "bilinear").Apply(SpatialRef.T(x, 1, h, w, c)).Value;
        AllClose(expected, result, [1, h * fh, w * fw, c], rtol: 0, atol: 1e-5);
    }

    [Fact]
    public void SpatialDropoutDropsWholeChannels()
    {
        using var scope = NewDisposeScope();
        var layer = new SpatialDropout2D(0.5);
        var x = torch.rand(8, 5, 6, 16) + 0.5; // strictly positive, so a zero means dropped
        Assert.True(x.allclose(layer.Apply(x, training: false).Value, 0, 0, false));
        var y = layer.Apply(x, training: true).Value;
        var kept = (y != 0).to_type(ScalarType.Float32);
        var perChannel = kept.sum([1, 2]); // [batch, channels]: 0 (dropped) or 30 (kept) only
        Assert.True(((perChannel == 0) | (perChannel == 30)).all().item<bool>(), "a channel was dropped only partly");
        long dropped = (perChannel == 0).sum().item<long>();
        Assert.InRange(dropped, 20, 108); // of 128 (sample, channel) maps, about half
        // Kept channels are scaled by 1 / (1 - rate).
        Assert.True(torch.allclose(torch.where(y != 0, y, x * 2), x * 2, 1e-6, 1e-6));
        Assert.True(x.allclose(new SpatialDropout2D(0).Apply(x, training: true).Value, 0, 0, false));
    }

    // ---- models, configs ---------------------------------------------------------------------------

    [Fact]
    public void LayersBuildInSequentialAndFunctionalModels()
    {
        Shape image = new long[] { 28, 28, 1 };
        ModelBuildCheck.Run(
        [
            (() => new ZeroPadding2D(((0, 1), (2, 3))), image), (() => new Cropping2D(((1, 2), (3, 0))), image),
            (() => new UpSampling2D(), image), (() => new UpSampling2D(3, interpolation: "bilinear"), image),
            (() => new SpatialDropout2D(0.3), image),
        ]);
    }

    [Fact]
    public void ConfigsAndNamesFollowKeras()
    {
        Assert.Equal(new[] { new[] { 1, 1 }, new[] { 1, 1 } }, new ZeroPadding2D().GetConfig()["padding"]);
        Assert.Equal(new[] { new[] { 2, 2 }, new[] { 3, 3 } }, new ZeroPadding2D((2, 3)).GetConfig()["padding"]);
        Assert.Equal(new[] { new[] { 0, 0 }, new[] { 0, 0 } }, new Cropping2D().GetConfig()["cropping"]);
        var config = new Cropping2D(((1, 2), (3, 4))).GetConfig();
        config["cropping"] = new List<object?> { new List<object?> { 1L, 2L }, new List<object?> { 3L, 4L } }; // as JSON gives it
        Assert.Equal([(1, 2), (3, 4)], ((Cropping2D)LayerRegistry.FromConfig("Cropping2D", config)).Cropping);
        Assert.Equal(new[] { 2, 2 }, new UpSampling2D().GetConfig()["size"]);
        Assert.Equal("nearest", new UpSampling2D().GetConfig()["interpolation"]);
        Assert.StartsWith("zero_padding2d", new ZeroPadding2D().Name);
        Assert.StartsWith("cropping2d", new Cropping2D().Name);
        Assert.StartsWith("up_sampling2d", new UpSampling2D().Name);
        Assert.StartsWith("spatial_dropout2d", new SpatialDropout2D(0.1).Name);
    }

    // ---- bad input ---------------------------------------------------------------------------------

    [Fact]
    public void BadArgumentsAndInputsAreRejected()
    {
        Assert.Contains("padding", Assert.Throws<ArgumentException>(() => new ZeroPadding2D(-1)).Message);
        Assert.Contains("padding", Assert.Throws<ArgumentException>(() => new ZeroPadding2D(new IntPairs([[1], [1], [1]]))).Message);
        Assert.Contains("cropping", Assert.Throws<ArgumentException>(() => new Cropping2D(((0, -1), (0, 0)))).Message);
        Assert.Contains("size", Assert.Throws<ArgumentException>(() => new UpSampling2D(0)).Message);
        Assert.Contains("interpolation", Assert.Throws<ArgumentException>(() => new UpSampling2D(interpolation: "bicubic")).Message);
        Assert.Contains("rate", Assert.Throws<ArgumentException>(() => new SpatialDropout2D(1.0)).Message);
        Assert.Contains("channels_first", Assert.Throws<ArgumentException>(() => new UpSampling2D(dataFormat: "channels_first")).Message);

        var crop = new Cropping2D(((2, 2), (0, 0)));
        var e = Assert.Throws<ArgumentException>(() => crop.Apply(Keras.Input([4, 4, 1])));
        Assert.Contains(crop.Name, e.Message);
        Assert.Contains("(None, 4, 4, 1)", e.Message);
        var pad = new ZeroPadding2D();
        Assert.Contains("rank 4", Assert.Throws<ArgumentException>(() => pad.Apply(Keras.Input([4, 4]))).Message);
        var drop = new SpatialDropout2D(0.5);
        Assert.Contains("rank 4", Assert.Throws<ArgumentException>(() => drop.Apply(Keras.Input([4, 4]))).Message);
    }
}
