using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

public class PoolingTests
{
    /// <summary>
    /// Pooling by loops over each window's in-range positions (TensorFlow's rule: padded positions are never part of a
    /// max or an average), with TensorFlow's padding amounts.
    /// </summary>
    private static float[] PoolRef(float[] x, int n, int h, int w, int c, int kh, int kw, int sh, int sw, string padding, bool max, out int oh, out int ow)
    {
        var (top, ohl) = SpatialRef.Padding(h, kh, sh, 1, padding);
        var (left, owl) = SpatialRef.Padding(w, kw, sw, 1, padding);
        (oh, ow) = (ohl, owl);
        var y = new float[n * oh * ow * c];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        double acc = max ? double.NegativeInfinity : 0;
                        int count = 0;
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int iy = oy * sh + ky - top, ix = ox * sw + kx - left;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                float v = x[((b * h + iy) * w + ix) * c + ch];
                                acc = max ? Math.Max(acc, v) : acc + v;
                                count++;
                            }
                        y[((b * oh + oy) * ow + ox) * c + ch] = (float)(max ? acc : acc / count);
                    }
        return y;
    }

    // ---- harness -----------------------------------------------------------------------------------

    [Fact]
    public void MaxPooling2DLayer() => LayerTestHarness.Run(new MaxPooling2D(), [6, 6, 2], [3, 3, 2], 0, 0, supportsTraining: false);

    [Fact]
    public void AveragePooling2DSameStrided() =>
        LayerTestHarness.Run(new AveragePooling2D(3, strides: 2, padding: "same"), [5, 5, 2], [3, 3, 2], 0, 0, supportsTraining: false);

    [Fact]
    public void Pooling1DLayers()
    {
        LayerTestHarness.Run(new MaxPooling1D(), [7, 3], [3, 3], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new AveragePooling1D(2, padding: "same"), [7, 3], [4, 3], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void GlobalPoolingLayers()
    {
        LayerTestHarness.Run(new GlobalAveragePooling2D(), [4, 5, 3], [3], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new GlobalMaxPooling2D(keepdims: true), [4, 5, 3], [1, 1, 3], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new GlobalAveragePooling1D(keepdims: true), [6, 3], [1, 3], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new GlobalMaxPooling1D(), [6, 3], [3], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void PoolingInsideATrainedModelPassesGradients()
    {
        // Pooling between two convolutions: the first convolution's kernel must still change in a training step.
        var input = Keras.Input([6, 6, 1]);
        var hidden = new AveragePooling2D(2, padding: "same", strides: 2).Apply(new Conv2D(3, 3, padding: "same").Apply(input));
        var output = new GlobalMaxPooling2D().Apply(new MaxPooling2D(2, strides: 1, padding: "same").Apply(hidden));
        using var model = new Model(input, output);
        model.Compile(optimizer: new SGD(0.1), loss: "mse");
        var before = model.TrainableWeights.Select(v => v.ToArray()).ToList();
        var x = new float[2, 6, 6, 1];
        for (int i = 0; i < 72; i++) x[i / 36, i / 6 % 6, i % 6, 0] = i % 7 + 1;
        model.TrainOnBatch(x, new float[,] { { 1, 1, 1 }, { 1, 1, 1 } });
        var after = model.TrainableWeights.Select(v => v.ToArray()).ToList();
        Assert.Equal(2, before.Count);
        Assert.False(before[0].SequenceEqual(after[0]), "the kernel before the pooling layers did not change");
        Assert.False(before[1].SequenceEqual(after[1]), "the bias before the pooling layers did not change");
    }

    // ---- numerics -----------------------------------------------------------------------------------

    [Theory]
    [InlineData(true, "valid", 2, 2, 6)]
    [InlineData(true, "valid", 3, 2, 7)]
    [InlineData(true, "same", 2, 2, 5)]   // padding (0, 1)
    [InlineData(true, "same", 3, 2, 6)]   // padding (0, 1)
    [InlineData(true, "same", 3, 1, 5)]   // padding (1, 1)
    [InlineData(false, "valid", 2, 2, 6)]
    [InlineData(false, "valid", 3, 1, 5)]
    [InlineData(false, "same", 2, 2, 5)]  // asymmetric: the padded zeros must not be counted
    [InlineData(false, "same", 3, 2, 6)]
    [InlineData(false, "same", 3, 1, 5)]  // symmetric
    [InlineData(false, "same", 4, 1, 5)]  // padding (1, 2)
    public void Pooling2DMatchesLoops(bool max, string padding, int pool, int stride, int size)
    {
        const int c = 2;
        var x = SpatialRef.Values(2 * size * size * c, 3);
        Layer layer = max ? new MaxPooling2D(pool, strides: stride, padding: padding) : new AveragePooling2D(pool, strides: stride, padding: padding);
        var expected = PoolRef(x, 2, size, size, c, pool, pool, stride, stride, padding, max, out int oh, out int ow);
        Assert.Equal(new Shape(null, oh, ow, c), layer.ComputeOutputShape(new Shape(null, size, size, c)));
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 2, size, size, c)).Value, [2, oh, ow, c], rtol: 0, atol: 1e-5);
    }

    [Fact]
    public void NonSquarePoolsAndStrides()
    {
        const int c = 3;
        var x = SpatialRef.Values(5 * 7 * c, 4);
        using var scope = NewDisposeScope();
        var expected = PoolRef(x, 1, 5, 7, c, 2, 3, 1, 2, "same", false, out int oh, out int ow);
        AllClose(expected, new AveragePooling2D((2, 3), strides: (1, 2), padding: "same").Apply(SpatialRef.T(x, 1, 5, 7, c)).Value, [1, oh, ow, c], rtol: 0, atol: 1e-5);
        expected = PoolRef(x, 1, 5, 7, c, 3, 2, 2, 1, "same", true, out oh, out ow);
        AllClose(expected, new MaxPooling2D((3, 2), strides: (2, 1), padding: "same").Apply(SpatialRef.T(x, 1, 5, 7, c)).Value, [1, oh, ow, c], rtol: 0, atol: 1e-5);
    }

    [Theory]
    [InlineData(true, "valid", 2, null, 7)]
    [InlineData(true, "same", 2, null, 7)]
    [InlineData(false, "valid", 3, 1, 7)]
    [InlineData(false, "same", 2, null, 7)]
    [InlineData(false, "same", 3, 2, 8)]
    public void Pooling1DMatchesLoops(bool max, string padding, int pool, int? stride, int length)
    {
        const int c = 3;
        var x = SpatialRef.Values(2 * length * c, 5);
        Layer layer = max ? new MaxPooling1D(pool, strides: stride is int s ? s : null, padding: padding)
            : new AveragePooling1D(pool, strides: stride is int s2 ? s2 : null, padding: padding);
        var expected = PoolRef(x, 2, 1, length, c, 1, pool, 1, stride ?? pool, padding, max, out _, out int outLen);
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 2, length, c)).Value, [2, outLen, c], rtol: 0, atol: 1e-5);
    }

    [Fact]
    public void SameAveragePoolingDoesNotCountPaddingByHand()
    {
        // 3x3 input 1..9, 2x2 windows with stride 2 and "same": padding one row/column at the end. Windows:
        // [1 2 4 5] -> 3, [3 6] -> 4.5, [7 8] -> 7.5, [9] -> 9 (zeros counted would give 3, 2.25, 3.75, 2.25).
        using var scope = NewDisposeScope();
        var y = new AveragePooling2D(2, padding: "same").Apply(SpatialRef.T([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 3, 3, 1)).Value;
        AllClose([3, 4.5f, 7.5f, 9], y, [1, 2, 2, 1], rtol: 0, atol: 1e-5);
        // Max pooling of negative values with padding: the padding never wins.
        var m = new MaxPooling2D(2, padding: "same").Apply(SpatialRef.T([-1, -2, -3, -4, -5, -6, -7, -8, -9], 1, 3, 3, 1)).Value;
        AllClose([-1, -3, -7, -9], m, [1, 2, 2, 1], rtol: 0, atol: 1e-5);
    }

    [Fact]
    public void GlobalPoolingMatchesLoops()
    {
        const int n = 2, h = 3, w = 4, c = 5;
        var x = SpatialRef.Values(n * h * w * c, 6);
        var mean = new float[n * c];
        var max = Enumerable.Repeat(float.NegativeInfinity, n * c).ToArray();
        for (int b = 0; b < n; b++)
            for (int i = 0; i < h * w; i++)
                for (int ch = 0; ch < c; ch++)
                {
                    float v = x[(b * h * w + i) * c + ch];
                    mean[b * c + ch] += v / (h * w);
                    max[b * c + ch] = Math.Max(max[b * c + ch], v);
                }
        using var scope = NewDisposeScope();
        var t = SpatialRef.T(x, n, h, w, c);
        AllClose(mean, new GlobalAveragePooling2D().Apply(t).Value, [n, c], rtol: 0, atol: 1e-5);
        AllClose(max, new GlobalMaxPooling2D().Apply(t).Value, [n, c], rtol: 0, atol: 1e-5);
        AllClose(mean, new GlobalAveragePooling2D(keepdims: true).Apply(t).Value, [n, 1, 1, c], rtol: 0, atol: 1e-5);
        AllClose(max, new GlobalMaxPooling2D(keepdims: true).Apply(t).Value, [n, 1, 1, c], rtol: 0, atol: 1e-5);
        var seq = SpatialRef.T(x, n, h * w, c);
        AllClose(mean, new GlobalAveragePooling1D().Apply(seq).Value, [n, c], rtol: 0, atol: 1e-5);
        AllClose(max, new GlobalMaxPooling1D(keepdims: true).Apply(seq).Value, [n, 1, c], rtol: 0, atol: 1e-5);
    }

    // ---- models, configs ---------------------------------------------------------------------------

    [Fact]
    public void LayersBuildInSequentialAndFunctionalModels()
    {
        Shape image = new long[] { 28, 28, 1 }, sequence = new long[] { 28, 3 };
        ModelBuildCheck.Run(
        [
            (() => new MaxPooling2D(), image), (() => new MaxPooling2D(3, strides: 2, padding: "same"), image),
            (() => new AveragePooling2D(), image), (() => new AveragePooling2D(3, strides: 2, padding: "same"), image),
            (() => new GlobalAveragePooling2D(), image), (() => new GlobalMaxPooling2D(keepdims: true), image),
            (() => new MaxPooling1D(), sequence), (() => new AveragePooling1D(3, padding: "same"), sequence),
            (() => new GlobalAveragePooling1D(), sequence), (() => new GlobalMaxPooling1D(), sequence),
        ]);
    }

    [Fact]
    public void ConfigsAndNamesFollowKeras()
    {
        var config = new MaxPooling2D().GetConfig();
        Assert.Equal(new[] { 2, 2 }, config["pool_size"]);
        Assert.Equal(new[] { 2, 2 }, config["strides"]); // strides default to the pool size, stored resolved as Keras does
        Assert.Equal("valid", config["padding"]);
        Assert.Equal(new[] { 3 }, new AveragePooling1D(3, strides: 1).GetConfig()["pool_size"]);
        Assert.Equal(new[] { 1 }, new AveragePooling1D(3, strides: 1).GetConfig()["strides"]);
        Assert.Equal("same", new MaxPooling2D(padding: "SAME").Padding);
        Assert.Equal(false, new GlobalAveragePooling2D().GetConfig()["keepdims"]);
        Assert.StartsWith("max_pooling2d", new MaxPooling2D().Name);
        Assert.StartsWith("average_pooling1d", new AveragePooling1D().Name);
        Assert.StartsWith("global_average_pooling2d", new GlobalAveragePooling2D().Name);
        Assert.StartsWith("global_max_pooling1d", new GlobalMaxPooling1D().Name);
    }

    // ---- bad input ---------------------------------------------------------------------------------

    [Fact]
    public void BadArgumentsAndInputsAreRejected()
    {
        Assert.Contains("pool_size", Assert.Throws<ArgumentException>(() => new MaxPooling2D(0)).Message);
        Assert.Contains("pool_size", Assert.Throws<ArgumentException>(() => new MaxPooling2D((2, 2, 2))).Message);
        Assert.Contains("strides", Assert.Throws<ArgumentException>(() => new AveragePooling2D(2, strides: 0)).Message);
        Assert.Contains("padding", Assert.Throws<ArgumentException>(() => new MaxPooling1D(padding: "causal")).Message);
        Assert.Contains("channels_first", Assert.Throws<ArgumentException>(() => new GlobalAveragePooling2D(dataFormat: "channels_first")).Message);

        var pool = new MaxPooling2D();
        var e = Assert.Throws<ArgumentException>(() => pool.Apply(Keras.Input([28, 28])));
        Assert.Contains(pool.Name, e.Message);
        Assert.Contains("(None, 28, 28)", e.Message);
        var global = new GlobalMaxPooling1D();
        Assert.Contains("rank 3", Assert.Throws<ArgumentException>(() => global.Apply(Keras.Input([4, 4, 2]))).Message);
        var big = new AveragePooling2D(5);
        Assert.Contains(big.Name, Assert.Throws<ArgumentException>(() => big.Apply(Keras.Input([3, 3, 1]))).Message);
    }
}
