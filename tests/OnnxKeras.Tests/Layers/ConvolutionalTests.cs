using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Independent references for the convolution family: plain nested loops over flat row-major arrays in Keras's layouts
/// (inputs [N, *spatial, C], kernels [*k, in, out]) with TensorFlow's padding rule written out again here.
/// </summary>
internal static class SpatialRef
{
    /// <summary>Deterministic small values, different for each <paramref name="seed"/>, of both signs.</summary>
    public static float[] Values(int count, int seed) =>
        Enumerable.Range(0, count).Select(i => (((i * 7 + seed * 5) % 13) - 6) / 8f).ToArray();

    public static Tensor T(float[] data, params long[] shape) => torch.tensor(data).reshape(shape);

    public static float[] Data(Tensor t) => t.detach().contiguous().data<float>().ToArray();

    /// <summary>TensorFlow's padding along one axis: (pad before, output length).</summary>
    public static (int Before, int Out) Padding(int n, int k, int s, int d, string padding)
    {
        int eff = (k - 1) * d + 1;
        if (padding == "valid") return (0, (n - eff) / s + 1);
        int outLen = (n + s - 1) / s;
        int total = Math.Max((outLen - 1) * s + eff - n, 0);
        return (total / 2, outLen);
    }

    /// <summary>2D convolution, kernel [kh, kw, cin / groups, cout].</summary>
    public static float[] Conv2D(float[] x, int n, int h, int w, int cin, float[] k, int kh, int kw, int cout, float[]? bias,
        int sh, int sw, int dh, int dw, string padding, int groups, out int oh, out int ow)
    {
        var (top, ohl) = Padding(h, kh, sh, dh, padding);
        var (left, owl) = Padding(w, kw, sw, dw, padding);
        (oh, ow) = (ohl, owl);
        int cinG = cin / groups, coutG = cout / groups;
        var y = new float[n * oh * ow * cout];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int co = 0; co < cout; co++)
                    {
                        int g = co / coutG;
                        double sum = bias?[co] ?? 0;
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int iy = oy * sh + ky * dh - top, ix = ox * sw + kx * dw - left;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                for (int ci = 0; ci < cinG; ci++)
                                    sum += x[((b * h + iy) * w + ix) * cin + g * cinG + ci] * k[((ky * kw + kx) * cinG + ci) * cout + co];
                            }
                        y[((b * oh + oy) * ow + ox) * cout + co] = (float)sum;
                    }
        return y;
    }

    /// <summary>1D convolution, kernel [k, cin, cout], with an explicit left padding for "causal".</summary>
    public static float[] Conv1D(float[] x, int n, int len, int cin, float[] k, int ks, int cout, float[]? bias, int s, int d, string padding, out int outLen)
    {
        int before;
        if (padding == "causal")
        {
            before = (ks - 1) * d;
            outLen = (len + s - 1) / s;
        }
        else (before, outLen) = Padding(len, ks, s, d, padding);
        var y = new float[n * outLen * cout];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < outLen; o++)
                for (int co = 0; co < cout; co++)
                {
                    double sum = bias?[co] ?? 0;
                    for (int j = 0; j < ks; j++)
                    {
                        int i = o * s + j * d - before;
                        if (i < 0 || i >= len) continue;
                        for (int ci = 0; ci < cin; ci++) sum += x[(b * len + i) * cin + ci] * k[(j * cin + ci) * cout + co];
                    }
                    y[(b * outLen + o) * cout + co] = (float)sum;
                }
        return y;
    }

    /// <summary>3D convolution, kernel [kd, kh, kw, cin, cout], stride 1.</summary>
    public static float[] Conv3D(float[] x, int n, int dd, int h, int w, int cin, float[] k, int kd, int kh, int kw, int cout, string padding,
        out int od, out int oh, out int ow)
    {
        var (front, odl) = Padding(dd, kd, 1, 1, padding);
        var (top, ohl) = Padding(h, kh, 1, 1, padding);
        var (left, owl) = Padding(w, kw, 1, 1, padding);
        (od, oh, ow) = (odl, ohl, owl);
        var y = new float[n * od * oh * ow * cout];
        for (int b = 0; b < n; b++)
            for (int oz = 0; oz < od; oz++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        for (int co = 0; co < cout; co++)
                        {
                            double sum = 0;
                            for (int kz = 0; kz < kd; kz++)
                                for (int ky = 0; ky < kh; ky++)
                                    for (int kx = 0; kx < kw; kx++)
                                    {
                                        int iz = oz + kz - front, iy = oy + ky - top, ix = ox + kx - left;
                                        if (iz < 0 || iz >= dd || iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                        for (int ci = 0; ci < cin; ci++)
                                            sum += x[(((b * dd + iz) * h + iy) * w + ix) * cin + ci] * k[(((kz * kh + ky) * kw + kx) * cin + ci) * cout + co];
                                    }
                            y[(((b * od + oz) * oh + oy) * ow + ox) * cout + co] = (float)sum;
                        }
        return y;
    }

    /// <summary>Depthwise 2D convolution, kernel [kh, kw, cin, dm]; output channel c * dm + m.</summary>
    public static float[] Depthwise(float[] x, int n, int h, int w, int cin, float[] k, int kh, int kw, int dm, float[]? bias,
        int s, int d, string padding, out int oh, out int ow)
    {
        var (top, ohl) = Padding(h, kh, s, d, padding);
        var (left, owl) = Padding(w, kw, s, d, padding);
        (oh, ow) = (ohl, owl);
        int cout = cin * dm;
        var y = new float[n * oh * ow * cout];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int c = 0; c < cin; c++)
                        for (int m = 0; m < dm; m++)
                        {
                            double sum = bias?[c * dm + m] ?? 0;
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int iy = oy * s + ky * d - top, ix = ox * s + kx * d - left;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    sum += x[((b * h + iy) * w + ix) * cin + c] * k[((ky * kw + kx) * cin + c) * dm + m];
                                }
                            y[((b * oh + oy) * ow + ox) * cout + c * dm + m] = (float)sum;
                        }
        return y;
    }

    /// <summary>
    /// Transposed 2D convolution by scattering each input value through the kernel [kh, kw, cout, cin] (the gradient of a
    /// convolution), with TensorFlow's output size and crop (<paramref name="outputPadding"/> null for Keras's default).
    /// </summary>
    public static float[] ConvTranspose2D(float[] x, int n, int h, int w, int cin, float[] k, int kh, int kw, int cout, float[]? bias,
        int s, int d, string padding, int? outputPadding, out int oh, out int ow)
    {
        var (top, ohl) = TransposeAxis(h, kh, s, d, padding, outputPadding);
        var (left, owl) = TransposeAxis(w, kw, s, d, padding, outputPadding);
        (oh, ow) = (ohl, owl);
        var acc = new double[n * oh * ow * cout];
        for (int b = 0; b < n; b++)
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++)
                    for (int ci = 0; ci < cin; ci++)
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int oy = iy * s + ky * d - top, ox = ix * s + kx * d - left;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                                for (int co = 0; co < cout; co++)
                                    acc[((b * oh + oy) * ow + ox) * cout + co] += x[((b * h + iy) * w + ix) * cin + ci] * k[((ky * kw + kx) * cout + co) * cin + ci];
                            }
        var y = new float[acc.Length];
        for (int i = 0; i < y.Length; i++) y[i] = (float)(acc[i] + (bias?[i % cout] ?? 0));
        return y;
    }

    /// <summary>
    /// TensorFlow's transposed-convolution output along one axis: (crop before, output length) of the full scatter
    /// <c>(len - 1) * s + (k - 1) * d + 1</c>.
    /// </summary>
    public static (int Before, int Out) TransposeAxis(int len, int ks, int s, int d, string padding, int? outputPadding)
    {
        int eff = (ks - 1) * d + 1;
        int outLen = padding == "valid"
            ? (len - 1) * s + (outputPadding is int op ? eff + op : Math.Max(eff, s))
            : outputPadding is int op2 ? (len - 1) * s + eff % 2 + op2 : len * s;
        int before = padding == "same" ? Math.Max((len - 1) * s + eff - outLen, 0) / 2 : 0;
        return (before, outLen);
    }

    /// <summary>Transposed 1D convolution by scattering each input value through the kernel [k, cout, cin].</summary>
    public static float[] ConvTranspose1D(float[] x, int n, int len, int cin, float[] k, int ks, int cout, float[]? bias,
        int s, int d, string padding, int? outputPadding, out int outLen)
    {
        var (before, ol) = TransposeAxis(len, ks, s, d, padding, outputPadding);
        outLen = ol;
        var acc = new double[n * outLen * cout];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < len; i++)
                for (int ci = 0; ci < cin; ci++)
                    for (int j = 0; j < ks; j++)
                    {
                        int o = i * s + j * d - before;
                        if (o < 0 || o >= ol) continue;
                        for (int co = 0; co < cout; co++)
                            acc[(b * ol + o) * cout + co] += x[(b * len + i) * cin + ci] * k[(j * cout + co) * cin + ci];
                    }
        var y = new float[acc.Length];
        for (int i = 0; i < y.Length; i++) y[i] = (float)(acc[i] + (bias?[i % cout] ?? 0));
        return y;
    }

    /// <summary>
    /// Transposed 3D convolution by scattering each input value through the kernel [kd, kh, kw, cout, cin], with a stride
    /// per axis and one dilation and output padding for every axis.
    /// </summary>
    public static float[] ConvTranspose3D(float[] x, int n, int dd, int h, int w, int cin, float[] k, int kd, int kh, int kw, int cout,
        float[]? bias, int sd, int sh, int sw, int d, string padding, int? outputPadding, out int od, out int oh, out int ow)
    {
        var (front, odl) = TransposeAxis(dd, kd, sd, d, padding, outputPadding);
        var (top, ohl) = TransposeAxis(h, kh, sh, d, padding, outputPadding);
        var (left, owl) = TransposeAxis(w, kw, sw, d, padding, outputPadding);
        (od, oh, ow) = (odl, ohl, owl);
        var acc = new double[n * od * oh * ow * cout];
        for (int b = 0; b < n; b++)
            for (int iz = 0; iz < dd; iz++)
                for (int iy = 0; iy < h; iy++)
                    for (int ix = 0; ix < w; ix++)
                        for (int ci = 0; ci < cin; ci++)
                            for (int kz = 0; kz < kd; kz++)
                                for (int ky = 0; ky < kh; ky++)
                                    for (int kx = 0; kx < kw; kx++)
                                    {
                                        int oz = iz * sd + kz * d - front, oy = iy * sh + ky * d - top, ox = ix * sw + kx * d - left;
                                        if (oz < 0 || oz >= odl || oy < 0 || oy >= ohl || ox < 0 || ox >= owl) continue;
                                        for (int co = 0; co < cout; co++)
                                            acc[(((b * odl + oz) * ohl + oy) * owl + ox) * cout + co] +=
                                                x[(((b * dd + iz) * h + iy) * w + ix) * cin + ci] * k[((((kz * kh + ky) * kw + kx) * cout + co) * cin) + ci];
                                    }
        var y = new float[acc.Length];
        for (int i = 0; i < y.Length; i++) y[i] = (float)(acc[i] + (bias?[i % cout] ?? 0));
        return y;
    }

    public static void SetWeights(Layer layer, params (float[] Data, long[] Shape)[] weights) =>
        layer.SetWeights(weights.Select(wt => new NDArray(wt.Data, wt.Shape)).ToList());
}

/// <summary>Builds each layer inside a Sequential model with an InputLayer and inside a functional model, and predicts.</summary>
internal static class ModelBuildCheck
{
    public static void Run(IEnumerable<(Func<Layer> Factory, Shape Input)> cases)
    {
        using var scope = NewDisposeScope();
        foreach (var (factory, shape) in cases)
        {
            var layer = factory();
            using var seq = new Sequential(new InputLayer(shape), layer);
            Assert.True(layer.Built, $"{layer.GetType().Name} was not built by Sequential");
            var expected = layer.ComputeOutputShape(shape.WithBatch(2));
            Assert.Equal(expected.ToArray(), seq.Predict(torch.rand(shape.WithBatch(2).ToArray())).shape);

            var input = Keras.Input(shape);
            var output = factory().Apply(input);
            using var model = new Model(input, output);
            Assert.Equal(expected.WithoutBatch(), output.Shape.WithoutBatch());
            Assert.Equal(expected.ToArray(), model.Predict(torch.rand(shape.WithBatch(2).ToArray())).shape);
        }
    }
}

public class ConvolutionalTests
{
    // ---- harness: config round trip, symbolic/eager shapes, weight counts, one training step ---------

    [Fact]
    public void Conv2DSame() =>
        LayerTestHarness.Run(new Conv2D(4, 3, padding: "same", activation: "tanh", kernelRegularizer: Regularizers.L2(0.01)), [6, 6, 2], [6, 6, 4], 2, 0);

    [Fact]
    public void Conv2DValidStrided() => LayerTestHarness.Run(new Conv2D(5, (3, 2), strides: 2), [7, 7, 3], [3, 3, 5], 2, 0);

    [Fact]
    public void Conv2DGroupsWithoutBias() => LayerTestHarness.Run(new Conv2D(6, 3, groups: 2, useBias: false), [5, 5, 4], [3, 3, 6], 1, 0);

    [Fact]
    public void Conv1DVariants()
    {
        LayerTestHarness.Run(new Conv1D(4, 3), [10, 3], [8, 4], 2, 0);
        LayerTestHarness.Run(new Conv1D(4, 3, padding: "causal", dilationRate: 2), [10, 3], [10, 4], 2, 0);
        LayerTestHarness.Run(new Conv1D(4, 3, strides: 2, padding: "same"), [10, 3], [5, 4], 2, 0);
    }

    [Fact]
    public void Conv3DSame() => LayerTestHarness.Run(new Conv3D(3, 3, padding: "same"), [4, 5, 6, 2], [4, 5, 6, 3], 2, 0);

    [Fact]
    public void Conv2DTransposeVariants()
    {
        LayerTestHarness.Run(new Conv2DTranspose(2, 3, strides: 2, padding: "same"), [4, 4, 3], [8, 8, 2], 2, 0);
        LayerTestHarness.Run(new Conv2DTranspose(2, 3, strides: 2), [4, 4, 3], [9, 9, 2], 2, 0);
        LayerTestHarness.Run(new Conv2DTranspose(2, 3, strides: 2, padding: "same", outputPadding: 0), [4, 4, 3], [7, 7, 2], 2, 0);
    }

    [Fact]
    public void Conv1DTransposeVariants()
    {
        LayerTestHarness.Run(new Conv1DTranspose(2, 3, strides: 2, padding: "same"), [5, 3], [10, 2], 2, 0);
        LayerTestHarness.Run(new Conv1DTranspose(2, 3, strides: 2), [5, 3], [11, 2], 2, 0);
        LayerTestHarness.Run(new Conv1DTranspose(2, 3, strides: 2, padding: "same", outputPadding: 0), [5, 3], [9, 2], 2, 0);
        LayerTestHarness.Run(new Conv1DTranspose(3, 2, dilationRate: 2, activation: "tanh", useBias: false), [5, 2], [7, 3], 1, 0);
    }

    [Fact]
    public void Conv3DTransposeVariants()
    {
        LayerTestHarness.Run(new Conv3DTranspose(2, 3, strides: 2, padding: "same"), [3, 4, 2, 3], [6, 8, 4, 2], 2, 0);
        LayerTestHarness.Run(new Conv3DTranspose(2, (2, 3, 2), strides: (1, 2, 2)), [3, 4, 2, 3], [4, 9, 4, 2], 2, 0);
        LayerTestHarness.Run(new Conv3DTranspose(2, 3, strides: 2, padding: "same", outputPadding: 1, activation: "relu"), [2, 3, 2, 1], [4, 6, 4, 2], 2, 0);
    }

    [Fact]
    public void DepthwiseConv2DLayer() => LayerTestHarness.Run(new DepthwiseConv2D(3, depthMultiplier: 2), [5, 5, 3], [3, 3, 6], 2, 0);

    [Fact]
    public void SeparableConv2DLayer() =>
        LayerTestHarness.Run(new SeparableConv2D(4, 3, padding: "same", depthMultiplier: 2, activation: "tanh"), [6, 6, 3], [6, 6, 4], 3, 0);

    // ---- numerics against the loop references ----------------------------------------------------

    [Theory]
    [InlineData("valid", 1, 1, 5)]
    [InlineData("same", 1, 1, 5)]
    [InlineData("same", 2, 1, 5)] // 5 -> 3, symmetric padding (1, 1)
    [InlineData("same", 2, 1, 6)] // 6 -> 3, padding (0, 1): the extra row/column at the end
    [InlineData("valid", 2, 1, 6)]
    [InlineData("same", 1, 2, 5)]
    [InlineData("valid", 1, 2, 6)]
    public void Conv2DMatchesLoops(string padding, int stride, int dilation, int size)
    {
        const int cin = 2, cout = 3;
        var x = SpatialRef.Values(size * size * cin, 1);
        var k = SpatialRef.Values(3 * 3 * cin * cout, 2);
        var b = new[] { 0.5f, -0.25f, 0.125f };
        var layer = new Conv2D(cout, 3, strides: stride, padding: padding, dilationRate: dilation);
        layer.EnsureBuilt(new Shape(null, size, size, cin));
        SpatialRef.SetWeights(layer, (k, [3, 3, cin, cout]), (b, [cout]));
        var expected = SpatialRef.Conv2D(x, 1, size, size, cin, k, 3, 3, cout, b, stride, stride, dilation, dilation, padding, 1, out int oh, out int ow);
        using var scope = NewDisposeScope();
        var y = layer.Apply(SpatialRef.T(x, 1, size, size, cin)).Value;
        AllClose(expected, y, [1, oh, ow, cout], rtol: 0, atol: 1e-5);
        Assert.Equal(Shape.Of(1, oh, ow, cout), layer.ComputeOutputShape(Shape.Of(1, size, size, cin)));
    }

    [Fact]
    public void Conv2DNonSquareKernelStridesAndGroups()
    {
        const int cin = 4, cout = 6, groups = 2;
        var x = SpatialRef.Values(2 * 6 * 7 * cin, 3);
        var k = SpatialRef.Values(2 * 3 * (cin / groups) * cout, 4);
        var layer = new Conv2D(cout, (2, 3), strides: (2, 1), padding: "same", groups: groups, useBias: false);
        layer.EnsureBuilt(new Shape(null, 6, 7, cin));
        SpatialRef.SetWeights(layer, (k, [2, 3, cin / groups, cout]));
        var expected = SpatialRef.Conv2D(x, 2, 6, 7, cin, k, 2, 3, cout, null, 2, 1, 1, 1, "same", groups, out int oh, out int ow);
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 2, 6, 7, cin)).Value, [2, oh, ow, cout], rtol: 0, atol: 1e-5);
    }

    [Fact]
    public void SamePaddingPutsTheExtraPixelAtTheEnd()
    {
        // Hand calculation: 2x2 kernel of ones on [[1, 2], [3, 4]] with "same" padding pads one row below and one column
        // to the right, so each output sums its own pixel and the ones to its right and below.
        var layer = new Conv2D(1, 2, padding: "same", useBias: false);
        layer.EnsureBuilt(new Shape(null, 2, 2, 1));
        SpatialRef.SetWeights(layer, ([1, 1, 1, 1], [2, 2, 1, 1]));
        using var scope = NewDisposeScope();
        var y = layer.Apply(SpatialRef.T([1, 2, 3, 4], 1, 2, 2, 1)).Value;
        AllClose([10, 6, 7, 4], y, [1, 2, 2, 1], rtol: 0, atol: 1e-5);

        // Stride 2 on an even size: 6 -> 3 with one padded row/column at the end; on an odd size: 7 -> 4.
        var strided = new Conv2D(1, 3, strides: 2, padding: "same", useBias: false);
        Assert.Equal(new Shape(null, 3, 3, 1), strided.ComputeOutputShape(new Shape(null, 6, 6, 1)));
        Assert.Equal(new Shape(null, 4, 4, 1), strided.ComputeOutputShape(new Shape(null, 7, 7, 1)));
        strided.EnsureBuilt(new Shape(null, 6, 6, 1));
        var ones = Enumerable.Repeat(1f, 9).ToArray();
        SpatialRef.SetWeights(strided, (ones, [3, 3, 1, 1]));
        // Input: 1 everywhere. Output (0, 0) covers rows/cols 0..2 (no padding before): 9. Output (2, 2) covers rows 4..6 of
        // which row/col 6 is padding: 4. Padding at the start would have given 4 at (0, 0).
        var yy = strided.Apply(torch.ones(1, 6, 6, 1)).Value;
        Assert.Equal(9f, yy[0, 0, 0, 0].item<float>());
        Assert.Equal(6f, yy[0, 0, 2, 0].item<float>());
        Assert.Equal(4f, yy[0, 2, 2, 0].item<float>());
    }

    [Theory]
    [InlineData("valid", 1, 1, 9)]
    [InlineData("same", 2, 1, 10)]
    [InlineData("same", 1, 2, 9)]
    [InlineData("causal", 1, 2, 9)]
    [InlineData("causal", 2, 1, 10)]
    public void Conv1DMatchesLoops(string padding, int stride, int dilation, int length)
    {
        const int cin = 3, cout = 2, ks = 3;
        var x = SpatialRef.Values(2 * length * cin, 5);
        var k = SpatialRef.Values(ks * cin * cout, 6);
        var b = new[] { 0.25f, -0.5f };
        var layer = new Conv1D(cout, ks, strides: stride, padding: padding, dilationRate: dilation);
        layer.EnsureBuilt(new Shape(null, length, cin));
        SpatialRef.SetWeights(layer, (k, [ks, cin, cout]), (b, [cout]));
        var expected = SpatialRef.Conv1D(x, 2, length, cin, k, ks, cout, b, stride, dilation, padding, out int outLen);
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 2, length, cin)).Value, [2, outLen, cout], rtol: 0, atol: 1e-5);
    }

    [Theory]
    [InlineData("valid")]
    [InlineData("same")]
    public void Conv3DMatchesLoops(string padding)
    {
        const int cin = 2, cout = 2;
        var x = SpatialRef.Values(3 * 4 * 5 * cin, 7);
        var k = SpatialRef.Values(2 * 3 * 2 * cin * cout, 8);
        var layer = new Conv3D(cout, (2, 3, 2), padding: padding, useBias: false);
        layer.EnsureBuilt(new Shape(null, 3, 4, 5, cin));
        SpatialRef.SetWeights(layer, (k, [2, 3, 2, cin, cout]));
        var expected = SpatialRef.Conv3D(x, 1, 3, 4, 5, cin, k, 2, 3, 2, cout, padding, out int od, out int oh, out int ow);
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 1, 3, 4, 5, cin)).Value, [1, od, oh, ow, cout], rtol: 0, atol: 1e-5);
    }

    [Theory]
    [InlineData("valid", 1, 1, 1)]
    [InlineData("same", 1, 2, 1)]
    [InlineData("same", 2, 1, 1)]
    [InlineData("valid", 2, 3, 1)]
    [InlineData("same", 1, 1, 2)]
    public void DepthwiseConv2DMatchesLoops(string padding, int stride, int depthMultiplier, int dilation)
    {
        const int cin = 3, size = 6;
        var x = SpatialRef.Values(size * size * cin, 9);
        var k = SpatialRef.Values(3 * 3 * cin * depthMultiplier, 10);
        var b = SpatialRef.Values(cin * depthMultiplier, 11);
        var layer = new DepthwiseConv2D(3, strides: stride, padding: padding, depthMultiplier: depthMultiplier, dilationRate: dilation);
        layer.EnsureBuilt(new Shape(null, size, size, cin));
        SpatialRef.SetWeights(layer, (k, [3, 3, cin, depthMultiplier]), (b, [cin * depthMultiplier]));
        var expected = SpatialRef.Depthwise(x, 1, size, size, cin, k, 3, 3, depthMultiplier, b, stride, dilation, padding, out int oh, out int ow);
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 1, size, size, cin)).Value, [1, oh, ow, cin * depthMultiplier], rtol: 0, atol: 1e-5);
    }

    [Theory]
    [InlineData("same", 1, 2)]
    [InlineData("valid", 2, 1)]
    [InlineData("same", 2, 2)]
    public void SeparableConv2DMatchesLoops(string padding, int stride, int depthMultiplier)
    {
        const int cin = 2, cout = 3, size = 5;
        var x = SpatialRef.Values(2 * size * size * cin, 12);
        var dk = SpatialRef.Values(3 * 3 * cin * depthMultiplier, 13);
        var pk = SpatialRef.Values(cin * depthMultiplier * cout, 14);
        var b = new[] { 0.1f, 0.2f, -0.3f };
        var layer = new SeparableConv2D(cout, 3, strides: stride, padding: padding, depthMultiplier: depthMultiplier);
        layer.EnsureBuilt(new Shape(null, size, size, cin));
        SpatialRef.SetWeights(layer, (dk, [3, 3, cin, depthMultiplier]), (pk, [1, 1, cin * depthMultiplier, cout]), (b, [cout]));
        var depthwise = SpatialRef.Depthwise(x, 2, size, size, cin, dk, 3, 3, depthMultiplier, null, stride, 1, padding, out int oh, out int ow);
        var expected = SpatialRef.Conv2D(depthwise, 2, oh, ow, cin * depthMultiplier, pk, 1, 1, cout, b, 1, 1, 1, 1, "valid", 1, out _, out _);
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 2, size, size, cin)).Value, [2, oh, ow, cout], rtol: 0, atol: 1e-5);
    }

    [Theory]
    [InlineData("same", 2, 3, 1, null)]  // crop (0, 1): the extra column cropped at the end
    [InlineData("same", 2, 4, 1, null)]  // crop (1, 1)
    [InlineData("same", 2, 5, 1, null)]  // crop (1, 2)
    [InlineData("same", 3, 2, 1, null)]  // kernel smaller than stride: output extended at the end
    [InlineData("valid", 2, 3, 1, null)]
    [InlineData("valid", 3, 2, 1, null)] // output (in - 1) * s + max(k, s)
    [InlineData("same", 1, 3, 2, null)]  // dilation
    [InlineData("same", 2, 3, 1, 1)]
    [InlineData("same", 2, 3, 1, 0)]
    [InlineData("valid", 2, 3, 1, 1)]
    public void Conv2DTransposeMatchesScatterLoops(string padding, int stride, int kernel, int dilation, int? outputPadding)
    {
        const int cin = 2, cout = 3, h = 3, w = 4;
        var x = SpatialRef.Values(2 * h * w * cin, 15);
        var k = SpatialRef.Values(kernel * kernel * cout * cin, 16);
        var b = new[] { 0.5f, 0f, -0.5f };
        var layer = new Conv2DTranspose(cout, kernel, strides: stride, padding: padding, dilationRate: dilation,
            outputPadding: outputPadding is int op ? op : null);
        layer.EnsureBuilt(new Shape(null, h, w, cin));
        SpatialRef.SetWeights(layer, (k, [kernel, kernel, cout, cin]), (b, [cout]));
        var expected = SpatialRef.ConvTranspose2D(x, 2, h, w, cin, k, kernel, kernel, cout, b, stride, dilation, padding, outputPadding, out int oh, out int ow);
        Assert.Equal(new Shape(null, oh, ow, cout), layer.ComputeOutputShape(new Shape(null, h, w, cin)));
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 2, h, w, cin)).Value, [2, oh, ow, cout], rtol: 0, atol: 1e-5);
    }

    [Theory]
    [InlineData("same", 2, 3, 1, null)]  // crop (0, 1)
    [InlineData("same", 2, 4, 1, null)]  // crop (1, 1)
    [InlineData("same", 3, 2, 1, null)]  // kernel smaller than stride: output extended at the end
    [InlineData("valid", 2, 3, 1, null)]
    [InlineData("valid", 3, 2, 1, null)]
    [InlineData("same", 1, 3, 2, null)]  // dilation
    [InlineData("valid", 1, 2, 3, null)]
    [InlineData("same", 2, 3, 1, 1)]
    [InlineData("same", 2, 3, 1, 0)]
    [InlineData("valid", 3, 3, 1, 2)]
    public void Conv1DTransposeMatchesScatterLoops(string padding, int stride, int kernel, int dilation, int? outputPadding)
    {
        const int cin = 3, cout = 2, len = 5;
        var x = SpatialRef.Values(2 * len * cin, 17);
        var k = SpatialRef.Values(kernel * cout * cin, 18);
        var b = new[] { 0.25f, -0.75f };
        var layer = new Conv1DTranspose(cout, kernel, strides: stride, padding: padding, dilationRate: dilation,
            outputPadding: outputPadding is int op ? op : null);
        layer.EnsureBuilt(new Shape(null, len, cin));
        SpatialRef.SetWeights(layer, (k, [kernel, cout, cin]), (b, [cout]));
        var expected = SpatialRef.ConvTranspose1D(x, 2, len, cin, k, kernel, cout, b, stride, dilation, padding, outputPadding, out int outLen);
        Assert.Equal(new Shape(null, outLen, cout), layer.ComputeOutputShape(new Shape(null, len, cin)));
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 2, len, cin)).Value, [2, outLen, cout], rtol: 0, atol: 1e-5);
    }

    [Theory]
    [InlineData("same", 2, 2, 2, 1, null)]
    [InlineData("same", 1, 2, 3, 1, null)] // stride per axis; crop (0, 1) on the last axis
    [InlineData("valid", 2, 1, 2, 1, null)]
    [InlineData("valid", 1, 1, 1, 2, null)] // dilation
    [InlineData("same", 1, 1, 1, 1, null)]  // crop (1, 1) on the height axis
    [InlineData("same", 1, 1, 1, 2, null)]  // dilated: crops before on the depth and height axes
    [InlineData("same", 2, 2, 2, 1, 1)]
    [InlineData("valid", 2, 2, 3, 1, 1)]
    public void Conv3DTransposeMatchesScatterLoops(string padding, int sd, int sh, int sw, int dilation, int? outputPadding)
    {
        const int cin = 2, cout = 3, dd = 2, h = 3, w = 2, kd = 2, kh = 3, kw = 2;
        var x = SpatialRef.Values(2 * dd * h * w * cin, 19);
        var k = SpatialRef.Values(kd * kh * kw * cout * cin, 20);
        var b = new[] { 0.5f, -0.25f, 0f };
        var layer = new Conv3DTranspose(cout, (kd, kh, kw), strides: (sd, sh, sw), padding: padding, dilationRate: dilation,
            outputPadding: outputPadding is int op ? op : null);
        layer.EnsureBuilt(new Shape(null, dd, h, w, cin));
        SpatialRef.SetWeights(layer, (k, [kd, kh, kw, cout, cin]), (b, [cout]));
        var expected = SpatialRef.ConvTranspose3D(x, 2, dd, h, w, cin, k, kd, kh, kw, cout, b, sd, sh, sw, dilation, padding, outputPadding,
            out int od, out int oh, out int ow);
        Assert.Equal(new Shape(null, od, oh, ow, cout), layer.ComputeOutputShape(new Shape(null, dd, h, w, cin)));
        using var scope = NewDisposeScope();
        AllClose(expected, layer.Apply(SpatialRef.T(x, 2, dd, h, w, cin)).Value, [2, od, oh, ow, cout], rtol: 0, atol: 1e-5);
    }

    // ---- layout: no copies between layers ------------------------------------------------------

    [Fact]
    public void ConvAndPoolOutputsAreContiguousChannelsLast()
    {
        using var scope = NewDisposeScope();
        var x = torch.rand(2, 9, 9, 3);
        Assert.True(x.is_contiguous());
        Layer[] layers =
        [
            new Conv2D(4, 3), new Conv2D(4, 3, padding: "same"), new Conv2D(4, 3, strides: 2, padding: "same"),
            new Conv2D(4, 2, padding: "same"), new Conv2D(4, 3, dilationRate: 2), new DepthwiseConv2D(3, depthMultiplier: 2),
            new SeparableConv2D(4, 3, padding: "same"), new Conv2DTranspose(4, 4, strides: 2, padding: "same"),
            new MaxPooling2D(), new MaxPooling2D(2, padding: "same"), new AveragePooling2D(3, strides: 1, padding: "same"),
        ];
        foreach (var layer in layers)
        {
            var y = layer.Apply(x).Value;
            Assert.True(y.is_contiguous(), $"{layer.GetType().Name} ({layer.GetConfig()["padding"]}) output is not contiguous NHWC: strides [{string.Join(", ", y.stride())}]");
        }
        // A chain: conv -> pool -> conv stays contiguous, and 1D convolution too.
        var chain = new Conv2D(3, 1).Apply(new MaxPooling2D().Apply(new Conv2D(5, 3, padding: "same").Apply(x))).Value;
        Assert.True(chain.is_contiguous());
        Assert.True(new Conv1D(4, 3, padding: "causal").Apply(torch.rand(2, 10, 3)).Value.is_contiguous());
    }

    // ---- models, configs, names ----------------------------------------------------------------

    [Fact]
    public void LayersBuildInSequentialAndFunctionalModels()
    {
        Shape image = new long[] { 28, 28, 1 }, sequence = new long[] { 28, 3 };
        (Func<Layer> Factory, Shape Input)[] cases =
        [
            (() => new Conv2D(4, 3, activation: "relu"), image), (() => new Conv2D(4, 3, strides: 2, padding: "same"), image),
            (() => new DepthwiseConv2D(3, depthMultiplier: 2), image), (() => new SeparableConv2D(4, 3, padding: "same"), image),
            (() => new Conv2DTranspose(4, 3, strides: 2, padding: "same"), image), (() => new Conv1D(4, 5, strides: 2, padding: "same"), sequence),
            (() => new Conv1DTranspose(4, 3, strides: 2, padding: "same"), sequence),
            (() => new Conv3DTranspose(2, 3, strides: 2), new long[] { 4, 5, 3, 2 }),
        ];
        ModelBuildCheck.Run(cases);
    }

    [Fact]
    public void ConfigsRebuildFromScalarsAndLists()
    {
        var config = new Conv2D(8, (3, 5), strides: 2, padding: "same").GetConfig();
        Assert.Equal(new[] { 3, 5 }, config["kernel_size"]);
        Assert.Equal(new[] { 2, 2 }, config["strides"]);
        Assert.Equal("channels_last", config["data_format"]);
        // Values as a JSON reader gives them: lists of longs and plain longs.
        config["kernel_size"] = new List<object?> { 3L, 5L };
        config["strides"] = 2L;
        config["dilation_rate"] = new List<object?> { 1L, 1L };
        var rebuilt = (Conv2D)LayerRegistry.FromConfig("Conv2D", config);
        Assert.Equal([3, 5], rebuilt.KernelSize);
        Assert.Equal([2, 2], rebuilt.Strides);
        Assert.Equal("same", rebuilt.Padding);
        var t = (Conv2DTranspose)LayerRegistry.FromConfig("Conv2DTranspose", new Conv2DTranspose(2, 3, strides: 2, outputPadding: 1).GetConfig());
        Assert.Equal([1, 1], t.OutputPadding!);
        var t1 = (Conv1DTranspose)LayerRegistry.FromConfig("Conv1DTranspose", new Conv1DTranspose(2, 3, strides: 2, outputPadding: 1).GetConfig());
        Assert.Equal([1], t1.OutputPadding!);
        var t3 = (Conv3DTranspose)LayerRegistry.FromConfig("Conv3DTranspose", new Conv3DTranspose(2, (1, 2, 3), strides: (1, 2, 1)).GetConfig());
        Assert.Equal([1, 2, 3], t3.KernelSize);
        Assert.Equal([1, 2, 1], t3.Strides);
        Assert.Null(t3.OutputPadding);
        // Arguments as collection expressions.
        var fromLists = new Conv2D(8, [3, 5], strides: [2, 1], dilationRate: [1]);
        Assert.Equal([3, 5], fromLists.KernelSize);
        Assert.Equal([2, 1], fromLists.Strides);
        Assert.Equal([1, 1], fromLists.DilationRate);
    }

    [Fact]
    public void ConfigKeysKeepKerasOrder()
    {
        // Keras's get_config order per class (keras/src/layers/convolutional/base_*.py), after name, trainable, dtype; Keras writes
        // activity_regularizer between the regularizers and the constraints, ours is a base entry written only when set.
        string[] Keys(Layer layer) => layer.GetConfig().Keys.Skip(3).ToArray();
        Assert.Equal(["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "activation", "use_bias",
            "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"], Keys(new Conv2D(2, 3)));
        Assert.Equal(["filters", "kernel_size", "strides", "padding", "output_padding", "data_format", "dilation_rate", "activation", "use_bias",
            "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"], Keys(new Conv2DTranspose(2, 3)));
        Assert.Equal(["depth_multiplier", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias",
            "depthwise_initializer", "bias_initializer", "depthwise_regularizer", "bias_regularizer", "depthwise_constraint", "bias_constraint"], Keys(new DepthwiseConv2D(3)));
        Assert.Equal(["depth_multiplier", "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias",
            "depthwise_initializer", "pointwise_initializer", "bias_initializer", "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
            "depthwise_constraint", "pointwise_constraint", "bias_constraint"],
            Keys(new SeparableConv2D(2, 3)));
    }

    [Fact]
    public void DefaultNamesFollowKeras()
    {
        Assert.StartsWith("conv2d", new Conv2D(1, 1).Name);
        Assert.DoesNotContain("conv2_d", new Conv2D(1, 1).Name);
        Assert.StartsWith("conv1d", new Conv1D(1, 1).Name);
        Assert.StartsWith("conv2d_transpose", new Conv2DTranspose(1, 1).Name);
        Assert.StartsWith("conv1d_transpose", new Conv1DTranspose(1, 1).Name);
        Assert.StartsWith("conv3d_transpose", new Conv3DTranspose(1, 1).Name);
        Assert.StartsWith("depthwise_conv2d", new DepthwiseConv2D(1).Name);
        Assert.StartsWith("separable_conv2d", new SeparableConv2D(1, 1).Name);
    }

    [Fact]
    public void WeightsKeepKerasLayouts()
    {
        var conv = new Conv2D(5, (3, 2), groups: 1);
        conv.EnsureBuilt(new Shape(null, 8, 8, 4));
        Assert.Equal([[3L, 2, 4, 5], [5L]], conv.GetWeights().Select(a => a.Shape).ToArray());
        var grouped = new Conv2D(6, 3, groups: 2);
        grouped.EnsureBuilt(new Shape(null, 8, 8, 4));
        Assert.Equal([3L, 3, 2, 6], grouped.GetWeights()[0].Shape);
        var transpose = new Conv2DTranspose(5, 3);
        transpose.EnsureBuilt(new Shape(null, 8, 8, 4));
        Assert.Equal([[3L, 3, 5, 4], [5L]], transpose.GetWeights().Select(a => a.Shape).ToArray());
        var transpose1d = new Conv1DTranspose(5, 3);
        transpose1d.EnsureBuilt(new Shape(null, 8, 4));
        Assert.Equal([[3L, 5, 4], [5L]], transpose1d.GetWeights().Select(a => a.Shape).ToArray());
        var transpose3d = new Conv3DTranspose(5, (1, 2, 3));
        transpose3d.EnsureBuilt(new Shape(null, 4, 4, 4, 2));
        Assert.Equal([[1L, 2, 3, 5, 2], [5L]], transpose3d.GetWeights().Select(a => a.Shape).ToArray());
        Assert.Equal(["kernel", "bias"], transpose3d.Weights.Select(v => v.Name).ToArray());
        var depthwise = new DepthwiseConv2D(3, depthMultiplier: 2);
        depthwise.EnsureBuilt(new Shape(null, 8, 8, 4));
        Assert.Equal([[3L, 3, 4, 2], [8L]], depthwise.GetWeights().Select(a => a.Shape).ToArray());
        var separable = new SeparableConv2D(7, 3, depthMultiplier: 2);
        separable.EnsureBuilt(new Shape(null, 8, 8, 4));
        Assert.Equal([[3L, 3, 4, 2], [1L, 1, 8, 7], [7L]], separable.GetWeights().Select(a => a.Shape).ToArray());
        Assert.Equal(["depthwise_kernel", "pointwise_kernel", "bias"], separable.Weights.Select(v => v.Name).ToArray());
        var conv1d = new Conv1D(3, 5);
        conv1d.EnsureBuilt(new Shape(null, 10, 2));
        Assert.Equal([5L, 2, 3], conv1d.GetWeights()[0].Shape);
    }

    // ---- bad input -------------------------------------------------------------------------------

    [Fact]
    public void BadArgumentsAreRejected()
    {
        Assert.Contains("filters", Assert.Throws<ArgumentException>(() => new Conv2D(0, 3)).Message);
        Assert.Contains("kernel_size", Assert.Throws<ArgumentException>(() => new Conv2D(4, 0)).Message);
        Assert.Contains("kernel_size", Assert.Throws<ArgumentException>(() => new Conv2D(4, (3, 3, 3))).Message);
        Assert.Contains("strides", Assert.Throws<ArgumentException>(() => new Conv2D(4, 3, strides: -1)).Message);
        Assert.Contains("dilation_rate", Assert.Throws<ArgumentException>(() => new Conv2D(4, 3, strides: 2, dilationRate: 2)).Message);
        Assert.Contains("'full'", Assert.Throws<ArgumentException>(() => new Conv2D(4, 3, padding: "full")).Message);
        Assert.Contains("causal", Assert.Throws<ArgumentException>(() => new Conv2D(4, 3, padding: "causal")).Message);
        Assert.Contains("channels_first", Assert.Throws<ArgumentException>(() => new Conv2D(4, 3, dataFormat: "channels_first")).Message);
        Assert.Contains("data_format", Assert.Throws<ArgumentException>(() => new Conv1D(4, 3, dataFormat: "nhwc")).Message);
        Assert.Contains("groups", Assert.Throws<ArgumentException>(() => new Conv2D(5, 3, groups: 2)).Message);
        Assert.Contains("depth_multiplier", Assert.Throws<ArgumentException>(() => new DepthwiseConv2D(3, depthMultiplier: 0)).Message);
        Assert.Contains("depth_multiplier", Assert.Throws<ArgumentException>(() => new SeparableConv2D(4, 3, depthMultiplier: -1)).Message);
        Assert.Contains("output_padding", Assert.Throws<ArgumentException>(() => new Conv2DTranspose(4, 3, strides: 2, outputPadding: 2)).Message);
        Assert.Contains("padding", Assert.Throws<ArgumentException>(() => new Conv2DTranspose(4, 3, padding: "causal")).Message);
        Assert.Contains("'causal'", Assert.Throws<ArgumentException>(() => new Conv1DTranspose(4, 3, padding: "causal")).Message);
        Assert.Contains("output_padding", Assert.Throws<ArgumentException>(() => new Conv1DTranspose(4, 3, strides: 2, outputPadding: 2)).Message);
        Assert.Contains("kernel_size", Assert.Throws<ArgumentException>(() => new Conv3DTranspose(4, (3, 3))).Message);
        Assert.Contains("filters", Assert.Throws<ArgumentException>(() => new Conv3DTranspose(0, 3)).Message);
    }

    [Fact]
    public void WrongInputsNameTheLayerAndShapes()
    {
        var conv = new Conv2D(4, 3);
        var e = Assert.Throws<ArgumentException>(() => conv.Apply(Keras.Input([28, 28])));
        Assert.Contains(conv.Name, e.Message);
        Assert.Contains("rank 4", e.Message);
        Assert.Contains("(None, 28, 28)", e.Message);
        Assert.False(conv.Built);

        var grouped = new Conv2D(4, 3, groups: 2);
        Assert.Contains("groups", Assert.Throws<ArgumentException>(() => grouped.Apply(Keras.Input([8, 8, 3]))).Message);

        var tooSmall = new Conv2D(4, 5);
        var small = Assert.Throws<ArgumentException>(() => tooSmall.Apply(Keras.Input([3, 3, 1])));
        Assert.Contains(tooSmall.Name, small.Message);

        var built = new Conv2D(4, 3);
        built.Apply(Keras.Input([8, 8, 3]));
        var channels = Assert.Throws<ArgumentException>(() => built.Apply(Keras.Input([8, 8, 2])));
        Assert.Contains("(None, 8, 8, 2)", channels.Message);

        using var scope = NewDisposeScope();
        var eager = new Conv2D(4, 5);
        var eagerError = Assert.Throws<ArgumentException>(() => eager.Apply(torch.rand(1, 3, 3, 2)));
        Assert.Contains(eager.Name, eagerError.Message);
        Assert.Contains("rank 3", Assert.Throws<ArgumentException>(() => new Conv1D(2, 3).Apply(torch.rand(1, 4, 4, 2))).Message);
        Assert.Contains("rank 4", Assert.Throws<ArgumentException>(() => new DepthwiseConv2D(3).Apply(torch.rand(1, 4, 2))).Message);
        Assert.Contains("rank 5", Assert.Throws<ArgumentException>(() => new Conv3DTranspose(2, 3).Apply(Keras.Input([4, 4, 2]))).Message);
    }
}
