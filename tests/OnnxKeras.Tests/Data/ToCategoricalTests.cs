using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Data;

/// <summary>Keras.Utils.ToCategorical against keras.utils.to_categorical's documented behaviour (keras/src/utils/numerical_utils.py).</summary>
public class ToCategoricalTests
{
    [Fact]
    public void IntLabels_GiveOneHotRows()
    {
        var y = Keras.Utils.ToCategorical(new[] { 0, 2, 1, 2 }, numClasses: 4);
        Assert.Equal(new float[,] { { 1, 0, 0, 0 }, { 0, 0, 1, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 } }, y);
    }

    [Fact]
    public void WithoutNumClasses_UsesTheLargestLabelPlusOne()
    {
        Assert.Equal(new float[,] { { 0, 1 }, { 1, 0 } }, Keras.Utils.ToCategorical(new[] { 1, 0 }));
        Assert.Equal(new float[,] { { 0, 1 }, { 1, 0 } }, Keras.Utils.ToCategorical(new long[] { 1, 0 }));
    }

    [Fact]
    public void ColumnOfLabels_ReplacesTheLastAxis_AndHigherRanksKeepTheirShape()
    {
        var column = Keras.Utils.ToCategorical(new long[,] { { 1 }, { 0 }, { 2 } });
        Assert.Equal(new long[] { 3, 3 }, column.Shape);
        Assert.Equal(new float[] { 0, 1, 0, 1, 0, 0, 0, 0, 1 }, column.Data);

        var grid = Keras.Utils.ToCategorical(new int[,] { { 0, 1 }, { 1, 1 } }, numClasses: 2);
        Assert.Equal(new long[] { 2, 2, 2 }, grid.Shape);
        Assert.Equal(new float[] { 1, 0, 0, 1, 0, 1, 0, 1 }, grid.Data);
    }

    [Fact]
    public void TensorLabels_GiveAFloat32Tensor()
    {
        using var t = Keras.Utils.ToCategorical(tensor(new long[] { 2, 0 }), numClasses: 3);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(new float[] { 0, 0, 1, 1, 0, 0 }, t.data<float>().ToArray());
        using var whole = Keras.Utils.ToCategorical(tensor(new float[] { 1, 0 }));
        Assert.Equal(new float[] { 0, 1, 1, 0 }, whole.data<float>().ToArray());
    }

    [Fact]
    public void BadLabels_Throw()
    {
        Assert.Contains("outside [0, 3)", Assert.Throws<ArgumentException>(() => Keras.Utils.ToCategorical(new[] { 0, 3 }, numClasses: 3)).Message);
        Assert.Throws<ArgumentException>(() => Keras.Utils.ToCategorical(new[] { -1, 0 }, numClasses: 3));
        Assert.Throws<ArgumentException>(() => Keras.Utils.ToCategorical(new[] { 0 }, numClasses: 0));
        Assert.Throws<ArgumentException>(() => Keras.Utils.ToCategorical(Array.Empty<int>()));
        Assert.Equal(new float[0, 2], Keras.Utils.ToCategorical(Array.Empty<int>(), numClasses: 2));
        Assert.Contains("whole numbers", Assert.Throws<ArgumentException>(() => Keras.Utils.ToCategorical(tensor(new float[] { 0.5f }))).Message);
    }
}
