using Xunit;
using Xunit.Sdk;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests;

/// <summary>The tests' comparison itself: the bound is atol + rtol * max(|expected|, scaleFloor), inclusive, and NaN fails.</summary>
public class NumericTests
{
    [Fact]
    public void BoundIsAtolPlusRtolTimesExpected()
    {
        AllClose(100.0, 100.5, rtol: 0.004, atol: 0.1);                          // bound 0.1 + 0.4 = 0.5
        Assert.Throws<TrueException>(() => AllClose(100.0, 100.6, rtol: 0.004, atol: 0.1));
        AllClose(-2.0, -2.25, rtol: 0.125, atol: 0);                              // |expected| is used: 0.25
        Assert.Throws<TrueException>(() => AllClose(0.0, 1e-9, rtol: 1, atol: 0)); // nothing relative to 0
    }

    [Fact]
    public void ScaleFloorMakesSmallValuesAbsolute()
    {
        AllClose(0.001, 0.3, rtol: 0.5, atol: 0, scaleFloor: 1);                 // 0.5 * max(0.001, 1)
        Assert.Throws<TrueException>(() => AllClose(0.001, 0.3, rtol: 0.25, atol: 0, scaleFloor: 1));
        Assert.Throws<TrueException>(() => AllClose(0.001, 0.3, rtol: 0.5, atol: 0)); // without the floor: 0.0005
        AllClose(4.0, 5.0, rtol: 0.25, atol: 0, scaleFloor: 1);                  // above 1 it is relative
    }

    [Fact]
    public void SequencesCompareElementWiseAndByLength()
    {
        AllClose(new double[] { 1, 2 }, new float[] { 1f, 2f }, rtol: 0, atol: 0);
        Assert.Throws<TrueException>(() => AllClose(new double[] { 1, 2 }, new float[] { 1f, 2.5f }, rtol: 0, atol: 0.25));
        Assert.Throws<EqualException>(() => AllClose(new double[] { 1, 2 }, new float[] { 1f }, rtol: 1, atol: 1));
        Assert.Throws<TrueException>(() => AllClose(new double[] { 1 }, new float[] { float.NaN }, rtol: 1, atol: 1));
    }
}
