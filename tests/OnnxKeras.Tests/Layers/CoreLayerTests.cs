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
}
