using OnnxKeras.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>Reshape, Permute, RepeatVector, and the shape-preserving Rescaling and GaussianNoise layers.</summary>
public class ReshapingTests
{
    // ------------------------------------------------------------------ Reshape

    [Fact]
    public void ReshapeHarness() => LayerTestHarness.Run(new Reshape([3, 4]), [12], [3, 4], 0, 0, supportsTraining: false);

    [Fact]
    public void ReshapeHarnessInfersMinusOne() => LayerTestHarness.Run(new Reshape([-1, 2, 2]), [12], [3, 2, 2], 0, 0, supportsTraining: false);

    [Fact]
    public void ReshapeKeepsRowMajorOrder()
    {
        using var scope = NewDisposeScope();
        var x = arange(24, dtype: ScalarType.Float32).reshape(2, 12);
        var y = new Reshape([3, -1]).Apply(x);
        Assert.Equal([2L, 3, 4], y.Value.shape);
        var v = FamilyTestUtil.Values(y);
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++) Assert.Equal(n * 12 + i * 4 + j, v[(n * 3 + i) * 4 + j]);
    }

    [Fact]
    public void ReshapeWithUnknownInputDimensions()
    {
        var reshape = new Reshape([-1, 2]);
        Assert.Equal(new Shape(null, null, 2), reshape.ComputeOutputShape(new Shape(null, null, 4)));
        using var scope = NewDisposeScope();
        Assert.Equal([2L, 6, 2], reshape.Apply(zeros(2, 3, 4)).Value.shape);
    }

    [Fact]
    public void ReshapeToIncompatibleSizeNamesBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Reshape([5]) { Name = "reshape_bad" }.Apply(Keras.Input([12])));
        Assert.Contains("reshape_bad", e.Message);
        Assert.Contains("(None, 12)", e.Message);
        Assert.Contains("(5,)", e.Message);
        var notDivisible = Assert.Throws<ArgumentException>(() => new Reshape([-1, 5]).Apply(Keras.Input([12])));
        Assert.Contains("(-1, 5)", notDivisible.Message);

        using var scope = NewDisposeScope();
        var eager = Assert.Throws<ArgumentException>(() => new Reshape([2, 2]).Apply(zeros(3, 6)));
        Assert.Contains("(3, 6)", eager.Message);
        Assert.Contains("(2, 2)", eager.Message);

        Assert.Throws<ArgumentException>(() => new Reshape([-1, -1]));
        Assert.Throws<ArgumentException>(() => new Reshape([3, -2]));
    }

    // ------------------------------------------------------------------ Permute

    [Fact]
    public void PermuteHarness() => LayerTestHarness.Run(new Permute([2, 1]), [3, 4], [4, 3], 0, 0, supportsTraining: false);

    [Fact]
    public void PermuteHarnessRank4() => LayerTestHarness.Run(new Permute([3, 1, 2]), [2, 3, 4], [4, 2, 3], 0, 0, supportsTraining: false);

    [Fact]
    public void PermuteMovesElements()
    {
        using var scope = NewDisposeScope();
        const int N = 2, A = 2, B = 3, C = 4;
        var x = arange(N * A * B * C, dtype: ScalarType.Float32).reshape(N, A, B, C);
        var y = new Permute([3, 1, 2]).Apply(x);
        Assert.Equal([(long)N, C, A, B], y.Value.shape);
        var v = FamilyTestUtil.Values(y);
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int a = 0; a < A; a++)
                    for (int b = 0; b < B; b++)
                        Assert.Equal(((n * A + a) * B + b) * C + c, v[((n * C + c) * A + a) * B + b]);
    }

    [Fact]
    public void PermuteRejectsInvalidPermutationsAndRanks()
    {
        foreach (var dims in new[] { new[] { 1, 1 }, [0, 1], [1, 3], [2, 3], Array.Empty<int>() })
        {
            var e = Assert.Throws<ArgumentException>(() => new Permute(dims));
            Assert.Contains("Permute", e.Message);
        }
        var wrongRank = Assert.Throws<ArgumentException>(() => new Permute([2, 1]) { Name = "perm" }.Apply(Keras.Input([2, 3, 4])));
        Assert.Contains("perm", wrongRank.Message);
        Assert.Contains("rank 3", wrongRank.Message);
    }

    // ------------------------------------------------------------------ RepeatVector

    [Fact]
    public void RepeatVectorHarness() => LayerTestHarness.Run(new RepeatVector(2), [3], [2, 3], 0, 0, supportsTraining: false);

    [Fact]
    public void RepeatVectorRepeatsEachSample()
    {
        using var scope = NewDisposeScope();
        float[] x = [1, 2, 3, -4, -5, -6];
        var y = new RepeatVector(3).Apply(FamilyTestUtil.T(x, 2, 3));
        Assert.Equal([2L, 3, 3], y.Value.shape);
        var v = FamilyTestUtil.Values(y);
        for (int n = 0; n < 2; n++)
            for (int r = 0; r < 3; r++)
                for (int f = 0; f < 3; f++) Assert.Equal(x[n * 3 + f], v[(n * 3 + r) * 3 + f]);
    }

    [Fact]
    public void RepeatVectorRejectsBadArgumentsAndRanks()
    {
        Assert.Throws<ArgumentException>(() => new RepeatVector(0));
        var e = Assert.Throws<ArgumentException>(() => new RepeatVector(2) { Name = "rep" }.Apply(Keras.Input([2, 3])));
        Assert.Contains("rep", e.Message);
        Assert.Contains("(None, 2, 3)", e.Message);
    }

    // ------------------------------------------------------------------ Rescaling

    [Fact]
    public void RescalingHarness() => LayerTestHarness.Run(new Rescaling(1.0 / 255, offset: -1), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void RescalingScalesAndOffsetsIntoFloat32()
    {
        using var scope = NewDisposeScope();
        var layer = new Rescaling(1.0 / 127.5, offset: -1);
        var y = layer.Apply(tensor(new long[] { 0, 51, 255, 128 }, [2, 2]));
        Assert.Equal(ScalarType.Float32, y.Value.dtype);
        AllClose(new double[] { -1, 51 / 127.5 - 1, 1, 128 / 127.5 - 1 }, FamilyTestUtil.Values(y), rtol: 1e-5, atol: 0, scaleFloor: 1);
        Assert.Equal(0.0, new Rescaling(2).Offset);
        Assert.Throws<ArgumentException>(() => new Rescaling(double.NaN));
        Assert.Throws<ArgumentException>(() => new Rescaling(1, double.PositiveInfinity));
    }

    // ------------------------------------------------------------------ GaussianNoise

    [Fact]
    public void GaussianNoiseHarness() => LayerTestHarness.Run(new GaussianNoise(0.1, seed: 3), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void GaussianNoiseOnlyInTrainingWithTheRequestedSpread()
    {
        using var scope = NewDisposeScope();
        var x = FamilyTestUtil.T(FamilyTestUtil.Wave(20000), 100, 200);
        var inference = new GaussianNoise(0.5, seed: 1).Apply(x, training: false);
        Assert.Equal(FamilyTestUtil.Values(x), FamilyTestUtil.Values(inference));
        Assert.Equal(FamilyTestUtil.Values(x), FamilyTestUtil.Values(new GaussianNoise(0.0).Apply(x, training: true)));

        var noise = FamilyTestUtil.Values(new GaussianNoise(0.5, seed: 1).Apply(x, training: true).Value - x);
        double mean = noise.Average(v => (double)v);
        double std = Math.Sqrt(noise.Average(v => Math.Pow(v - mean, 2)));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(std, 0.48, 0.52);

        // The same seed gives the same noise; successive calls of one layer differ.
        var a = new GaussianNoise(0.5, seed: 9);
        var b = new GaussianNoise(0.5, seed: 9);
        var first = FamilyTestUtil.Values(a.Apply(x, training: true));
        Assert.Equal(first, FamilyTestUtil.Values(b.Apply(x, training: true)));
        Assert.NotEqual(first, FamilyTestUtil.Values(a.Apply(x, training: true)));
    }

    [Fact]
    public void GaussianNoiseRejectsStddevOutsideZeroToOne()
    {
        Assert.Throws<ArgumentException>(() => new GaussianNoise(-0.1));
        Assert.Throws<ArgumentException>(() => new GaussianNoise(1.5));
        Assert.Throws<ArgumentException>(() => new GaussianNoise(double.NaN));
    }
}
