using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Core;

/// <summary><c>Sizes()</c> (axis by axis, used on the training step's hot path) reads what <c>Tensor.shape</c> reads.</summary>
public class TensorSizesTests
{
    public static TheoryData<long[]> Shapes => new() { Array.Empty<long>(), new long[] { 5 }, new long[] { 32, 10 }, new long[] { 2, 0, 3 }, new long[] { 2, 3, 4, 5 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Sizes_AreTheShape(long[] shape)
    {
        using var t = zeros(shape);
        Assert.Equal(shape, t.Sizes());
        Assert.Equal(t.shape, t.Sizes());
    }

    [Fact]
    public void Sizes_OfAView_AreTheViewsShape()
    {
        using var t = zeros(2, 3, 4);
        using var v = t.permute(2, 0, 1).narrow(2, 1, 2);
        Assert.Equal(new long[] { 4, 2, 2 }, v.Sizes());
    }
}
