using OnnxKeras.Layers;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>ZeroPadding, Cropping and UpSampling in 1-D and 3-D, and the 3-D pooling layers, on examples worked by hand.</summary>
public class Spatial1D3DTests
{
    private static float[] Run(Layer layer, float[] data, long[] shape, long[] expectedShape)
    {
        var y = layer.Apply(FamilyTestUtil.T(data, shape));
        Assert.Equal(expectedShape, y.Value.shape);
        return FamilyTestUtil.Values(y);
    }

    private static float[] Range(int n) => Enumerable.Range(0, n).Select(i => (float)i).ToArray();

    // ---- harness -----------------------------------------------------------------------------------

    [Fact]
    public void Reshaping1DHarness()
    {
        LayerTestHarness.Run(new ZeroPadding1D((2, 1)), [3, 2], [6, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new Cropping1D((1, 0)), [4, 2], [3, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new UpSampling1D(), [3, 2], [6, 2], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void Reshaping3DHarness()
    {
        LayerTestHarness.Run(new ZeroPadding3D(((1, 0), (0, 1), (1, 1))), [2, 2, 2, 1], [3, 3, 4, 1], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new Cropping3D(((1, 0), (0, 1), (1, 1))), [3, 3, 4, 1], [2, 2, 2, 1], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new UpSampling3D((1, 2, 2)), [2, 2, 2, 1], [2, 4, 4, 1], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void Pooling3DHarness()
    {
        LayerTestHarness.Run(new MaxPooling3D(), [4, 4, 2, 2], [2, 2, 1, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new AveragePooling3D(2, strides: 1, padding: "same"), [3, 3, 3, 2], [3, 3, 3, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new GlobalMaxPooling3D(), [2, 3, 2, 2], [2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new GlobalAveragePooling3D(keepdims: true), [2, 3, 2, 2], [1, 1, 1, 2], 0, 0, supportsTraining: false);
    }

    // ---- numerics worked by hand ---------------------------------------------------------------------

    [Fact]
    public void OneDimensionalLayersPadCropAndRepeatSteps()
    {
        using var scope = NewDisposeScope();
        Assert.Equal([0f, 0, 1, 2, 0], Run(new ZeroPadding1D((2, 1)), [1, 2], [1, 2, 1], [1, 5, 1]));
        Assert.Equal([0f, 1, 2, 0], Run(new ZeroPadding1D(), [1, 2], [1, 2, 1], [1, 4, 1]));
        Assert.Equal([2f, 3], Run(new Cropping1D((1, 2)), [1, 2, 3, 4, 5], [1, 5, 1], [1, 2, 1]));
        Assert.Equal([2f, 3, 4], Run(new Cropping1D(), [1, 2, 3, 4, 5], [1, 5, 1], [1, 3, 1]));
        Assert.Equal([1f, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4], Run(new UpSampling1D(3), [1, 2, 3, 4], [1, 2, 2], [1, 6, 2]));
    }

    [Fact]
    public void ThreeDimensionalLayersPadCropAndRepeatEachAxis()
    {
        using var scope = NewDisposeScope();
        // [1, 1, 1, 2, 1] = [5, 6]: one zero plane before on axis 1, one zero row after on axis 2.
        Assert.Equal([0f, 0, 0, 0, 5, 6, 0, 0], Run(new ZeroPadding3D(((1, 0), (0, 1), (0, 0))), [5, 6], [1, 1, 1, 2, 1], [1, 2, 2, 2, 1]));
        // arange(12) as [1, 2, 2, 3, 1]: keep d = 1, h = 0, w = 1..2, i.e. flat indices 6 + 1 and 6 + 2.
        Assert.Equal([7f, 8], Run(new Cropping3D(((1, 0), (0, 1), (1, 0))), Range(12), [1, 2, 2, 3, 1], [1, 1, 1, 2, 1]));
        Assert.Equal([1f, 1, 2, 2, 1, 1, 2, 2], Run(new UpSampling3D((2, 1, 2)), [1, 2], [1, 1, 1, 2, 1], [1, 2, 1, 4, 1]));
        // Keras's default Cropping3D removes one on every side.
        Assert.Equal([13f], Run(new Cropping3D(), Range(27), [1, 3, 3, 3, 1], [1, 1, 1, 1, 1]));
    }

    [Fact]
    public void ThreeDimensionalPoolingOverWindowsByHand()
    {
        using var scope = NewDisposeScope();
        // arange(16) as [1, 2, 2, 4, 1], pool 2: windows {0,1,4,5,8,9,12,13} and {2,3,6,7,10,11,14,15}.
        Assert.Equal([13f, 15], Run(new MaxPooling3D(), Range(16), [1, 2, 2, 4, 1], [1, 1, 1, 2, 1]));
        Assert.Equal([6.5f, 8.5f], Run(new AveragePooling3D(), Range(16), [1, 2, 2, 4, 1], [1, 1, 1, 2, 1]));
        // "same" with pool (1, 1, 2), stride 1 on [1, 2, 6]: windows [1, 2], [2, 6], [6] (the padded position is not counted).
        Assert.Equal([1.5f, 4, 6], Run(new AveragePooling3D((1, 1, 2), strides: 1, padding: "same"), [1, 2, 6], [1, 1, 1, 3, 1], [1, 1, 1, 3, 1]));
        Assert.Equal([2f, 6, 6], Run(new MaxPooling3D((1, 1, 2), strides: 1, padding: "same"), [1, 2, 6], [1, 1, 1, 3, 1], [1, 1, 1, 3, 1]));
        // Channels [1, 2, 3, 4] and [-1, 0, 5, 8] over [1, 2, 1, 2, 2].
        float[] x = [1, -1, 2, 0, 3, 5, 4, 8];
        Assert.Equal([2.5f, 3], Run(new GlobalAveragePooling3D(), x, [1, 2, 1, 2, 2], [1, 2]));
        Assert.Equal([4f, 8], Run(new GlobalMaxPooling3D(keepdims: true), x, [1, 2, 1, 2, 2], [1, 1, 1, 1, 2]));
    }

    [Fact]
    public void ConfigsFollowKeras()
    {
        var pad1 = new ZeroPadding1D((2, 1)).GetConfig();
        Assert.Equal([2, 1], (int[])pad1["padding"]!);
        Assert.False(pad1.ContainsKey("data_format"));
        Assert.Equal(3, new UpSampling1D(3).GetConfig()["size"]);
        Assert.False(new Cropping1D().GetConfig().ContainsKey("data_format"));
        var crop3 = new Cropping3D(((1, 0), (0, 2), (1, 1))).GetConfig();
        Assert.Equal([[1, 0], [0, 2], [1, 1]], (int[][])crop3["cropping"]!);
        Assert.Equal("channels_last", crop3["data_format"]);
        Assert.Equal([[2, 2], [3, 3], [1, 1]], (int[][])new ZeroPadding3D((2, 3, 1)).GetConfig()["padding"]!);
        var up3 = new UpSampling3D().GetConfig();
        Assert.Equal([2, 2, 2], (int[])up3["size"]!);
        Assert.False(up3.ContainsKey("interpolation"));
        Assert.Equal([2, 2, 2], (int[])new MaxPooling3D().GetConfig()["pool_size"]!);
    }

    [Fact]
    public void BadArgumentsAndInputsAreRejected()
    {
        Assert.Contains("padding", Assert.Throws<ArgumentException>(() => new ZeroPadding1D((1, 2, 3))).Message);
        Assert.Contains("padding", Assert.Throws<ArgumentException>(() => new ZeroPadding1D(-1)).Message);
        Assert.Contains("cropping", Assert.Throws<ArgumentException>(() => new Cropping3D(((1, 1), (1, 1)))).Message);
        Assert.Contains("size", Assert.Throws<ArgumentException>(() => new UpSampling1D(0)).Message);
        Assert.Contains("size", Assert.Throws<ArgumentException>(() => new UpSampling3D((1, 2))).Message);
        Assert.Contains("channels_first", Assert.Throws<ArgumentException>(() => new ZeroPadding3D(dataFormat: "channels_first")).Message);
        Assert.Contains("pool_size", Assert.Throws<ArgumentException>(() => new MaxPooling3D((2, 2))).Message);

        var crop = new Cropping1D((2, 2));
        var e = Assert.Throws<ArgumentException>(() => crop.Apply(Keras.Input([4, 1])));
        Assert.Contains("too large", e.Message);
        Assert.Contains("rank 5", Assert.Throws<ArgumentException>(() => new UpSampling3D().Apply(Keras.Input([4, 4, 1]))).Message);
        Assert.Contains("rank 5", Assert.Throws<ArgumentException>(() => new GlobalMaxPooling3D().Apply(Keras.Input([4, 4, 1]))).Message);
    }
}
