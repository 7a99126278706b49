using OnnxKeras.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Data;

/// <summary>.NET arrays to tensors: shape from the array's dimensions, values row-major; floating point to float32, integers to int64.</summary>
public class TensorConvertTests
{
    [Fact]
    public void Float2D_KeepsShapeAndRowMajorValues()
    {
        using var t = TensorConvert.ToTensor(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, t.data<float>().ToArray());
        Assert.Equal(6f, t[1, 2].item<float>());
    }

    [Fact]
    public void Float4D_KeepsShape_AndEveryElementAtItsIndex()
    {
        var a = new float[2, 3, 2, 1];
        for (int n = 0; n < 2; n++)
            for (int h = 0; h < 3; h++)
                for (int w = 0; w < 2; w++)
                    a[n, h, w, 0] = n * 100 + h * 10 + w;
        using var t = TensorConvert.ToTensor(a);
        Assert.Equal(new long[] { 2, 3, 2, 1 }, t.shape);
        for (int n = 0; n < 2; n++)
            for (int h = 0; h < 3; h++)
                for (int w = 0; w < 2; w++)
                    Assert.Equal(n * 100 + h * 10 + w, t[n, h, w, 0].item<float>());
    }

    [Fact]
    public void Double2D_BecomesFloat32()
    {
        using var t = TensorConvert.ToTensor(new double[,] { { 0.5, -1.25 }, { 3, 1e-3 } });
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(new long[] { 2, 2 }, t.shape);
        Assert.Equal(new float[] { 0.5f, -1.25f, 3f, 1e-3f }, t.data<float>().ToArray());
    }

    [Fact]
    public void IntArray_BecomesInt64Labels()
    {
        using var t = TensorConvert.ToTensor(new[] { 3, -1, 7, int.MaxValue });
        Assert.Equal(ScalarType.Int64, t.dtype);
        Assert.Equal(new long[] { 4 }, t.shape);
        Assert.Equal(new long[] { 3, -1, 7, int.MaxValue }, t.data<long>().ToArray());
    }

    [Fact]
    public void LongAndByteArrays_Convert()
    {
        using var l = TensorConvert.ToTensor(new long[,] { { 1, 2 }, { 3, long.MaxValue } });
        Assert.Equal(ScalarType.Int64, l.dtype);
        Assert.Equal(new long[] { 1, 2, 3, long.MaxValue }, l.data<long>().ToArray());
        using var b = TensorConvert.ToTensor(new byte[] { 0, 128, 255 });
        Assert.Equal(ScalarType.Float32, b.dtype);
        Assert.Equal(new float[] { 0, 128, 255 }, b.data<float>().ToArray());
    }

    [Fact]
    public void JaggedRows_AreStacked()
    {
        using var t = TensorConvert.ToTensor(new[] { new float[] { 1, 2 }, new float[] { 3, 4 }, new float[] { 5, 6 } });
        Assert.Equal(new long[] { 3, 2 }, t.shape);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, t.data<float>().ToArray());
    }

    [Fact]
    public void RaggedJagged_Throws_NamingTheArgumentAndRows()
    {
        var e = Assert.Throws<ArgumentException>(() => TensorConvert.ToTensor(new[] { new float[] { 1, 2 }, new float[] { 3 } }, "x"));
        Assert.Contains("ragged", e.Message);
        Assert.Contains("row 1", e.Message);
        Assert.Equal("x", e.ParamName);
    }

    [Fact]
    public void EmptyJagged_NullRow_AndUnsupportedTypes_Throw()
    {
        Assert.Throws<ArgumentException>(() => TensorConvert.ToTensor(Array.Empty<float[]>()));
        Assert.Throws<ArgumentException>(() => TensorConvert.ToTensor(new[] { new float[] { 1 }, null! }));
        var e = Assert.Throws<ArgumentException>(() => TensorConvert.ToTensor(new[] { "a", "b" }, "y"));
        Assert.Contains("String", e.Message);
        Assert.Throws<ArgumentException>(() => TensorConvert.ToTensor(new[] { true, false }));
    }

    [Fact]
    public void ToNDArray_CopiesShapeAndValues()
    {
        using var t = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [3, 2]);
        var a = TensorConvert.ToNDArray(t.t()); // a non-contiguous view: [[1,3,5],[2,4,6]]
        Assert.Equal(new long[] { 2, 3 }, a.Shape);
        Assert.Equal(new float[] { 1, 3, 5, 2, 4, 6 }, a.Data);
    }
}
