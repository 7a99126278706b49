using OnnxKeras.Layers;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>GroupNormalization and UnitNormalization against examples worked by hand.</summary>
public class GroupAndUnitNormalizationTests
{
    [Fact]
    public void GroupNormalizationHarness()
    {
        LayerTestHarness.Run(new GroupNormalization(2), [3, 4], [3, 4], 2, 0);
        LayerTestHarness.Run(new GroupNormalization(3, axis: 1, center: false), [6, 4], [6, 4], 1, 0);
    }

    [Fact]
    public void UnitNormalizationHarness()
    {
        LayerTestHarness.Run(new UnitNormalization(), [3, 4], [3, 4], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new UnitNormalization([1, 2]), [3, 4], [3, 4], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void GroupNormalizationNormalizesEachGroupOverChannelsAndSteps()
    {
        using var scope = NewDisposeScope();
        // x [1, 2 steps, 4 channels] = [[1, 3, 0, 4], [5, 7, 8, 0]], groups 2, epsilon 0.
        // Group 0 (channels 0, 1): {1, 3, 5, 7}, mean 4, variance (9 + 1 + 1 + 9) / 4 = 5.
        // Group 1 (channels 2, 3): {0, 4, 8, 0}, mean 3, variance (9 + 1 + 25 + 9) / 4 = 11.
        var layer = new GroupNormalization(2, epsilon: 0);
        var x = FamilyTestUtil.T([1, 3, 0, 4, 5, 7, 8, 0], 1, 2, 4);
        layer.Apply(x);
        float[] gamma = [1, 2, 1, 0.5f], beta = [0, 0, 1, -1];
        layer.SetWeights([FamilyTestUtil.Nd(gamma, 4), FamilyTestUtil.Nd(beta, 4)]);
        double s5 = Math.Sqrt(5), s11 = Math.Sqrt(11);
        double[] normalized = [-3 / s5, -1 / s5, -3 / s11, 1 / s11, 1 / s5, 3 / s5, 5 / s11, -3 / s11];
        var expected = normalized.Select((v, i) => v * gamma[i % 4] + beta[i % 4]).ToArray();
        AllClose(expected, FamilyTestUtil.Values(layer.Apply(x)), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void GroupNormalizationOnAnInnerAxisAndOneGroupPerChannel()
    {
        using var scope = NewDisposeScope();
        // axis 1 of [1, 2 channels, 2 steps], groups -1 (one per channel), epsilon 0:
        // channel 0 = [2, 4] -> [-1, 1]; channel 1 = [10, 10] -> variance 0 with epsilon 1e-3 -> 0 / sqrt(1e-3) = 0.
        var instance = new GroupNormalization(-1, axis: 1, epsilon: 1e-3);
        var y = FamilyTestUtil.Values(instance.Apply(FamilyTestUtil.T([2, 4, 10, 10], 1, 2, 2)));
        double scale = 1 / Math.Sqrt(1 + 1e-3);
        AllClose(new[] { -scale, scale, 0, 0 }, y, rtol: 1e-5, atol: 1e-6);
        Assert.Equal(-1, instance.GetConfig()["groups"]);
        Assert.Equal([2L], instance.Gamma!.Shape.Select(d => d!.Value).ToArray());
    }

    [Fact]
    public void GroupNormalizationRejectsBadGroupsAndAxes()
    {
        Assert.Throws<ArgumentException>(() => new GroupNormalization(0));
        Assert.Throws<ArgumentException>(() => new GroupNormalization(4, epsilon: -1));
        Assert.Contains("divide", Assert.Throws<ArgumentException>(() => new GroupNormalization(3).Apply(Keras.Input([4]))).Message);
        Assert.Contains("more than", Assert.Throws<ArgumentException>(() => new GroupNormalization(8).Apply(Keras.Input([4]))).Message);
        Assert.Contains("out of range", Assert.Throws<ArgumentException>(() => new GroupNormalization(1, axis: 3).Apply(Keras.Input([4]))).Message);
        var config = new GroupNormalization().GetConfig();
        Assert.Equal(32, config["groups"]);
        Assert.Equal(1e-3, config["epsilon"]);
        Assert.Equal(-1, config["axis"]);
    }

    [Fact]
    public void UnitNormalizationDividesByTheL2Norm()
    {
        using var scope = NewDisposeScope();
        // [3, 4] has norm 5; an all-zero row stays zero (the square sum is floored at 1e-12).
        var y = FamilyTestUtil.Values(new UnitNormalization().Apply(FamilyTestUtil.T([3, 4, 0, 0], 2, 2)));
        AllClose(new[] { 0.6, 0.8, 0, 0 }, y, rtol: 1e-6, atol: 1e-7);
        // Over axes 1 and 2 of [1, 2, 2] = [[1, 1], [1, 1]]: norm 2, so every value is 0.5.
        var z = FamilyTestUtil.Values(new UnitNormalization([1, 2]).Apply(ones(1, 2, 2)));
        AllClose(new[] { 0.5, 0.5, 0.5, 0.5 }, z, rtol: 1e-6, atol: 1e-7);
        Assert.Equal(new[] { 1, 2 }, (int[])new UnitNormalization([1, 2]).GetConfig()["axis"]!);
        Assert.Equal(-1, new UnitNormalization().GetConfig()["axis"]);
        Assert.Throws<ArgumentException>(() => new UnitNormalization([1, 1]));
        Assert.Throws<ArgumentException>(() => new UnitNormalization(0).Apply(Keras.Input([4])));
    }
}
