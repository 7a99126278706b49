using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>Identity, ActivityRegularization, GaussianDropout and AlphaDropout: identities at inference and in the export.</summary>
public class NoiseAndIdentityTests
{
    [Fact]
    public void IdentityHarness() => LayerTestHarness.Run(new Identity(), [3, 2], [3, 2], 0, 0, supportsTraining: false);

    [Fact]
    public void ActivityRegularizationHarness() => LayerTestHarness.Run(new ActivityRegularization(0.01, 0.02), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void GaussianDropoutHarness() => LayerTestHarness.Run(new GaussianDropout(0.3, seed: 2), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void AlphaDropoutHarness() =>
        LayerTestHarness.Run(new AlphaDropout(0.2, noiseShape: new Shape(null, 1, null), seed: 4), [3, 2], [3, 2], 0, 0, supportsTraining: false);

    [Fact]
    public void IdentityReturnsItsInputAndKeepsTheMask()
    {
        using var scope = NewDisposeScope();
        var x = FamilyTestUtil.T([1, 2, 0, 0, 3, 4], 1, 3, 2);
        var masked = new Masking().Apply(x);
        var y = new Identity().Apply(masked);
        Assert.Equal(FamilyTestUtil.Values(x), FamilyTestUtil.Values(y));
        Assert.NotNull(y.Mask);
        Assert.Equal(new[] { 1f, 0f, 1f }, FamilyTestUtil.Values(y.Mask!.Value.to_type(ScalarType.Float32)));
    }

    [Fact]
    public void ActivityRegularizationAddsL1AndL2OfItsInputToTheLoss()
    {
        // x = [[1, -2], [3, 0.5]]: l1 * sum|x| = 0.1 * 6.5 = 0.65, l2 * sum x^2 = 0.01 * 14.25 = 0.1425; total 0.7925.
        var layer = new ActivityRegularization(l1: 0.1, l2: 0.01);
        var x = new float[,] { { 1, -2 }, { 3, 0.5f } };
        using (var scope = NewDisposeScope())
        {
            var y = layer.Apply(tensor(new float[] { 1, -2, 3, 0.5f }, [2, 2]));
            Assert.Equal(new[] { 1f, -2, 3, 0.5f }, FamilyTestUtil.Values(y));
            AllClose(0.7925, layer.Losses.Sum(l => l.Value.sum().item<float>()), rtol: 1e-6, atol: 1e-7, what: "layer.Losses");
        }
        // In a model with target = input the data loss is 0, so the reported loss is the penalty alone.
        using var model = new Sequential(new InputLayer([2]), new ActivityRegularization(l1: 0.1, l2: 0.01));
        model.Compile(new SGD(0.0), loss: "mse");
        AllClose(0.7925, model.Evaluate(x, x, batchSize: 2)["loss"], rtol: 1e-6, atol: 1e-7, what: "Evaluate");

        // Keras's config: l1 and l2, no activity_regularizer.
        var config = layer.GetConfig();
        Assert.False(config.ContainsKey("activity_regularizer"));
        Assert.Equal(0.1, config["l1"]);
        Assert.Equal(0.01, config["l2"]);
        Assert.Throws<ArgumentException>(() => new ActivityRegularization(l1: -1));
        Assert.Throws<ArgumentException>(() => new ActivityRegularization(l2: double.NaN));
    }

    [Fact]
    public void GaussianDropoutMultipliesByOneCenteredNoiseInTrainingOnly()
    {
        using var scope = NewDisposeScope();
        var x = FamilyTestUtil.T(FamilyTestUtil.Wave(600), 20, 30);
        Assert.Equal(FamilyTestUtil.Values(x), FamilyTestUtil.Values(new GaussianDropout(0.5, seed: 1).Apply(x, training: false)));
        Assert.Equal(FamilyTestUtil.Values(x), FamilyTestUtil.Values(new GaussianDropout(0.0).Apply(x, training: true)));

        // On ones the output is the noise: mean 1, stddev sqrt(rate / (1 - rate)) = sqrt(0.2 / 0.8) = 0.5.
        var noise = FamilyTestUtil.Values(new GaussianDropout(0.2, seed: 1).Apply(ones(200, 200), training: true));
        double mean = noise.Average(v => (double)v);
        double std = Math.Sqrt(noise.Average(v => Math.Pow(v - mean, 2)));
        Assert.InRange(mean, 0.99, 1.01);
        Assert.InRange(std, 0.49, 0.51);

        var a = new GaussianDropout(0.2, seed: 9);
        var first = FamilyTestUtil.Values(a.Apply(x, training: true));
        Assert.Equal(first, FamilyTestUtil.Values(new GaussianDropout(0.2, seed: 9).Apply(x, training: true)));
        Assert.NotEqual(first, FamilyTestUtil.Values(a.Apply(x, training: true)));
        Assert.Throws<ArgumentException>(() => new GaussianDropout(1.0));
        Assert.Throws<ArgumentException>(() => new GaussianDropout(-0.1));
    }

    [Fact]
    public void AlphaDropoutKeepsOrSaturatesThenCorrectsMeanAndVariance()
    {
        using var scope = NewDisposeScope();
        // Keras's constants and affine correction for rate 0.2.
        double alphaP = -1.6732632423543772 * 1.0507009873554805, rate = 0.2;
        double a = Math.Pow((1 - rate) * (1 + rate * alphaP * alphaP), -0.5), b = -a * alphaP * rate;

        var x = full(100, 100, 0.5f);
        Assert.Equal(FamilyTestUtil.Values(x), FamilyTestUtil.Values(new AlphaDropout(rate, seed: 1).Apply(x, training: false)));
        var y = FamilyTestUtil.Values(new AlphaDropout(rate, seed: 1).Apply(x, training: true));
        int kept = 0, dropped = 0;
        foreach (var v in y)
        {
            if (Math.Abs(v - (a * 0.5 + b)) < 1e-5) kept++;
            else if (Math.Abs(v - (a * alphaP + b)) < 1e-5) dropped++;
        }
        Assert.Equal(y.Length, kept + dropped);
        Assert.InRange(dropped / (double)y.Length, 0.18, 0.22);

        // Inputs of mean 0 and variance 1 keep them (the point of the correction).
        var z = FamilyTestUtil.Values(new AlphaDropout(rate, seed: 2).Apply(randn(400, 500, generator: new TorchSharp.torch.Generator(5)), training: true));
        double mean = z.Average(v => (double)v);
        double std = Math.Sqrt(z.Average(v => Math.Pow(v - mean, 2)));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(std, 0.99, 1.01);
    }

    [Fact]
    public void AlphaDropoutNoiseShapeSharesTheMaskAlongOneAxes()
    {
        using var scope = NewDisposeScope();
        var layer = new AlphaDropout(0.5, noiseShape: new Shape(null, 1, null), seed: 3);
        var y = layer.Apply(ones(8, 50, 3), training: true).Value;
        // Along the time axis each (sample, feature) column is all kept or all dropped: one distinct value.
        var spread = (y.amax([1]) - y.amin([1])).abs().max().item<float>();
        Assert.Equal(0f, spread);
        Assert.True(FamilyTestUtil.Values(y).Distinct().Count() == 2, "both kept and dropped columns expected");

        var bad = new AlphaDropout(0.5, noiseShape: new Shape(null, 2, null));
        Assert.Throws<ArgumentException>(() => bad.Apply(ones(8, 50, 3), training: true));
        var wrongRank = new AlphaDropout(0.5, noiseShape: new Shape(null, 1));
        Assert.Throws<ArgumentException>(() => wrongRank.Apply(ones(8, 50, 3), training: true));
        Assert.Throws<ArgumentException>(() => new AlphaDropout(1.0));
    }
}
