using OnnxKeras.Layers;
using Xunit;

namespace OnnxKeras.Tests.Layers;

public class CoreLayerTests
{
    [Fact]
    public void Dense() => LayerTestHarness.Run(new Dense(5, activation: "relu", kernelRegularizer: Regularizers.L2(0.01)), [3], [5], 2, 0);

    [Fact]
    public void DenseWithoutBiasOnRank3Input() => LayerTestHarness.Run(new Dense(4, useBias: false), [2, 3], [2, 4], 1, 0);

    [Fact]
    public void ActivationLayer() => LayerTestHarness.Run(new Activation("tanh"), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void DropoutLayer() => LayerTestHarness.Run(new Dropout(0.5), [4], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void FlattenLayer() => LayerTestHarness.Run(new Flatten(), [2, 3, 4], [24], 0, 0, supportsTraining: false);

    [Fact]
    public void MergeLayersKeepShape()
    {
        foreach (var layer in new Layer[] { new Add(), new Subtract(), new Multiply(), new Average(), new Maximum(), new Minimum() })
        {
            var a = Keras.Input([3, 4]);
            var b = Keras.Input([3, 4]);
            Assert.Equal(new Shape(null, 3, 4), layer.Apply([a, b]).Shape);
            var rebuilt = LayerRegistry.FromConfig(layer.GetType(), layer.GetConfig());
            Assert.Equal(LayerTestHarness.Canon(layer.GetConfig()), LayerTestHarness.Canon(rebuilt.GetConfig()));
        }
    }

    [Fact]
    public void DotWithNormalizeIsTheCosineSimilarity()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        // a = (3, 4), b = (4, 3): cos = (12 + 12) / (5 * 5) = 0.96; a with itself: 1.
        var a = TorchSharp.torch.tensor(new float[] { 3, 4, 3, 4 }, [2, 2]);
        var b = TorchSharp.torch.tensor(new float[] { 4, 3, 3, 4 }, [2, 2]);
        var y = new Dot(1, normalize: true).Apply([a, b]).Value.data<float>().ToArray();
        Assert.Equal(0.96f, y[0], 6);
        Assert.Equal(1f, y[1], 6);
    }
}
