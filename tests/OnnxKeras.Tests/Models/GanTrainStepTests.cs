using OnnxKeras.Data;
using OnnxKeras.Datasets;
using OnnxKeras.Layers;
using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Models;

/// <summary>
/// The guide's end-to-end GAN: a subclassed model holding a generator and a discriminator, its own Compile taking two
/// optimizers and a loss, and a TrainStep that updates the discriminator on generated (label 1) and real (label 0) images,
/// then the generator through the discriminator with "real" labels. Metrics lists its two loss trackers.
/// </summary>
internal sealed class Gan : Model
{
    private readonly Sequential discriminator;
    private readonly Sequential generator;
    private readonly int latentDim;
    private readonly Mean dLossTracker = new("d_loss");
    private readonly Mean gLossTracker = new("g_loss");
    private Optimizer? dOptimizer;
    private Optimizer? gOptimizer;
    private Loss? lossFn;

    public Gan(Sequential discriminator, Sequential generator, int latentDim)
    {
        this.discriminator = discriminator;
        this.generator = generator;
        this.latentDim = latentDim;
    }

    public override IReadOnlyList<Metric> Metrics => [dLossTracker, gLossTracker];

    public void Compile(Optimizer dOptimizer, Optimizer gOptimizer, Loss lossFn)
    {
        Compile();
        this.dOptimizer = dOptimizer;
        this.gOptimizer = gOptimizer;
        this.lossFn = lossFn;
    }

    public override Dictionary<string, double> TrainStep(StepData data)
    {
        var realImages = data.X;
        long batchSize = realImages.shape[0];
        var device = realImages.device;

        // Decode random latent points to fake images, and train the discriminator on fakes (1) and reals (0), with the
        // guide's label noise.
        var generated = generator.Apply(randn(batchSize, latentDim, device: device)).Value;
        var combined = cat([generated, realImages], 0);
        var labels = cat([ones(batchSize, 1, device: device), zeros(batchSize, 1, device: device)], 0);
        labels = labels + 0.05 * rand(labels.shape, device: device);
        var dLoss = lossFn!.Compute(labels, discriminator.Apply(combined, training: true)).Value;
        dOptimizer!.ApplyGradients(Gradients.Of(dLoss, discriminator.TrainableWeights).Zip(discriminator.TrainableWeights));

        // Train the generator to make the discriminator say "real" (0), updating the generator only.
        var misleadingLabels = zeros(batchSize, 1, device: device);
        var fakes = generator.Apply(randn(batchSize, latentDim, device: device), training: true);
        var gLoss = lossFn.Compute(misleadingLabels, discriminator.Apply(fakes, training: true)).Value;
        gOptimizer!.ApplyGradients(Gradients.Of(gLoss, generator.TrainableWeights).Zip(generator.TrainableWeights));

        dLossTracker.UpdateState(dLoss);
        gLossTracker.UpdateState(gLoss);
        return new() { ["d_loss"] = dLossTracker.Result(), ["g_loss"] = gLossTracker.Result() };
    }
}

public class GanTrainStepTests(ITestOutputHelper output)
{
    private const int LatentDim = 16;

    /// <summary>The share of held-out real digits the discriminator calls real (logit &lt; 0) and of fresh fakes it calls fake.</summary>
    private static double DiscriminatorAccuracy(Sequential discriminator, Sequential generator, Tensor real)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long n = real.shape[0];
        var fakes = generator.Apply(randn(n, LatentDim)).Value;
        long right = discriminator.Apply(real).Value.lt(0).sum().item<long>() + discriminator.Apply(fakes).Value.gt(0).sum().item<long>();
        return right / (2.0 * n);
    }

    /// <summary>Mean absolute difference between the mean generated image and the mean real one (per pixel).</summary>
    private static double MeanImageGap(Sequential generator, Tensor real)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var fakes = generator.Apply(randn(real.shape[0], LatentDim)).Value;
        return (fakes.mean([0]) - real.mean([0])).abs().mean().item<float>();
    }

    [Fact]
    public void MlpGanTrainsWithFitOnMnistDigits()
    {
        Keras.SetRandomSeed(1337);
        var data = Mnist.Load();
        var discriminator = new Sequential(new InputLayer([Mnist.ImageSize]), new Dense(64), new LeakyReLU(negativeSlope: 0.2), new Dense(1))
        {
            Name = "discriminator",
        };
        var generator = new Sequential(new InputLayer([LatentDim]), new Dense(64), new LeakyReLU(negativeSlope: 0.2),
            new Dense(Mnist.ImageSize, activation: "sigmoid"))
        { Name = "generator" };
        using var gan = new Gan(discriminator, generator, LatentDim);
        using var dOptimizer = new Adam(0.0003);
        using var gOptimizer = new Adam(0.0003);
        gan.Compile(dOptimizer, gOptimizer, new BinaryCrossentropy(fromLogits: true));
        using var heldOut = tensor(data.TestImages)[..500];
        double gapBefore = MeanImageGap(generator, heldOut);

        // 125 batches of 64 digits per epoch: 375 steps.
        var history = gan.Fit(Dataset.FromTensorSlices(data.TrainImages).Batch(64), epochs: 3, verbose: 0);

        double accuracy = DiscriminatorAccuracy(discriminator, generator, heldOut);
        double gapAfter = MeanImageGap(generator, heldOut);
        output.WriteLine($"d_loss {string.Join(", ", history["d_loss"])}; g_loss {string.Join(", ", history["g_loss"])}");
        output.WriteLine($"discriminator accuracy on 500 held-out digits + 500 fakes: {accuracy:P1}; mean-image gap {gapBefore:F4} -> {gapAfter:F4}");
        Assert.Equal(["d_loss", "g_loss"], history.HistoryData.Keys.Order());
        Assert.Equal(3, history["d_loss"].Count);
        // Finite; d_loss may dip below 0, as in Keras: the label noise makes "fake" labels exceed 1, where cross-entropy is unbounded below.
        Assert.All(history["d_loss"].Concat(history["g_loss"]), v => Assert.True(double.IsFinite(v)));
        // Each optimizer updated its own network once per step.
        Assert.Equal(375, dOptimizer.Iterations);
        Assert.Equal(375, gOptimizer.Iterations);
        // The discriminator tells held-out digits from fakes better than chance (50%) ...
        Assert.True(accuracy > 0.6, $"discriminator accuracy {accuracy:P1}");
        // ... and the generator moved its output towards the digits: the mean fake image is closer to the mean digit.
        Assert.True(gapAfter < 0.5 * gapBefore, $"mean-image gap {gapBefore:F4} -> {gapAfter:F4}");
    }
}
