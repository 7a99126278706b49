using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Models;

public class FunctionalTests
{
    [Fact]
    public void QuickStartFunctionalModelTrainsAndReducesLoss()
    {
        Keras.SetRandomSeed(5);
        var inputs = Keras.Input(shape: [72]);
        var x = new Dense(32, activation: "relu").Apply(inputs);
        x = new Dense(32, activation: "relu").Apply(x);
        var predictions = new Dense(10, activation: "softmax").Apply(x);
        using var model = new Model(inputs, predictions);

        Assert.True(predictions.IsSymbolic);
        Assert.Equal(new Shape(null, 10), predictions.Shape);
        Assert.Equal(72 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10, model.CountParams());

        var (dx, dy) = TestData.RandomClassification(1000, 72, 10, 1);
        model.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
        var h = model.Fit(dx, dy, batchSize: 32, epochs: 5, verbose: 0);
        Assert.True(h["loss"][^1] < h["loss"][0], $"loss {h["loss"][0]} -> {h["loss"][^1]}");
    }

    [Fact]
    public void FunctionalForwardEqualsTheSameLayersAppliedByHand()
    {
        Keras.SetRandomSeed(6);
        var input = Keras.Input([4]);
        var d1 = new Dense(3, activation: "tanh");
        var d2 = new Dense(2);
        using var model = new Model(input, d2.Apply(d1.Apply(input)));
        using var scope = NewDisposeScope();
        var data = rand(5, 4);
        var expected = torch.matmul(torch.tanh(torch.matmul(data, d1.Kernel.Value) + d1.Bias!.Value), d2.Kernel.Value) + d2.Bias!.Value;
        var actual = model.Apply(data).Value;
        Assert.True(torch.allclose(actual, expected, 1e-6, 1e-6));
    }

    [Fact]
    public void SharedLayerHasOneSetOfWeights()
    {
        var a = Keras.Input([8], name: "a");
        var b = Keras.Input([8], name: "b");
        var shared = new Dense(4);
        var merged = new Add().Apply([shared.Apply(a), shared.Apply(b)]);
        using var model = new Model([a, b], [merged]);
        Assert.Equal(2, shared.InboundNodes.Count);
        Assert.Equal(8 * 4 + 4, model.CountParams());
        Assert.Equal(2, model.Weights.Count);

        // (a W + c) + (b W + c) = (a + b) W + 2c
        using var scope = NewDisposeScope();
        var xa = rand(3, 8);
        var xb = rand(3, 8);
        var outputs = model.ApplyMany([xa, xb]);
        var expected = torch.matmul(xa + xb, shared.Kernel.Value) + 2 * shared.Bias!.Value;
        Assert.True(torch.allclose(outputs[0].Value, expected, 1e-5, 1e-6));
    }

    [Fact]
    public void ResidualConcatenateAndNestedModel()
    {
        var inner = Keras.Input([6]);
        using var block = new Model(inner, new Add().Apply([inner, new Dense(6, activation: "relu").Apply(inner)]), name: "residual_block");
        var input = Keras.Input([6]);
        var r = block.Apply(input);
        var joined = new Concatenate().Apply([r, input]);
        Assert.Equal(new Shape(null, 12), joined.Shape);
        using var model = new Model(input, new Dense(1).Apply(joined));
        Assert.Contains(model.Layers, l => ReferenceEquals(l, block));
        Assert.Equal((6 * 6 + 6) + (12 * 1 + 1), model.CountParams());
        using var scope = NewDisposeScope();
        var x = rand(2, 6);
        Assert.Equal(new long[] { 2, 1 }, model.Apply(x).Value.shape);
    }

    [Fact]
    public void IncompatibleShapesFailWhenTheGraphIsBuilt()
    {
        var a = Keras.Input([8]);
        var b = Keras.Input([5]);
        var e = Assert.Throws<ArgumentException>(() => new Add().Apply([a, b]));
        Assert.Contains("(None, 8)", e.Message);
        Assert.Contains("(None, 5)", e.Message);

        var dense = new Dense(3);
        dense.Apply(Keras.Input([8]));
        var e2 = Assert.Throws<ArgumentException>(() => dense.Apply(Keras.Input([5])));
        Assert.Contains(dense.Name, e2.Message);
    }

    [Fact]
    public void DisconnectedGraphAndDuplicateNamesAreRejected()
    {
        var a = Keras.Input([4], name: "first");
        var b = Keras.Input([4], name: "second");
        var sum = new Add().Apply([a, b]);
        var e = Assert.Throws<ArgumentException>(() => new Model(a, sum));
        Assert.Contains("Graph disconnected", e.Message);
        Assert.Contains("second", e.Message);

        var x = Keras.Input([4]);
        var y = new Dense(2) { Name = "same" }.Apply(new Dense(4) { Name = "same" }.Apply(x));
        var e2 = Assert.Throws<ArgumentException>(() => new Model(x, y));
        Assert.Contains("'same'", e2.Message);
    }

    [Fact]
    public void NonInputTensorsAreRejectedAsModelInputs()
    {
        var x = Keras.Input([4]);
        var h = new Dense(3).Apply(x);
        Assert.Throws<ArgumentException>(() => new Model(h, new Dense(2).Apply(h)));
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => new Model((KTensor)rand(2, 4), new Dense(2).Apply(x)));
    }
}

public class SequentialGraphTests
{
    [Fact]
    public void SequentialExposesTheSameLayerGraphAsTheFunctionalApi()
    {
        var first = new Dense(4, activation: "relu");
        var second = new Dense(2);
        using var model = new Sequential(new InputLayer([3]), first, second);
        var graph = model.Graph!;
        Assert.Equal(new Shape(null, 3), graph.Inputs[0].Shape);
        Assert.Equal(new Shape(null, 2), graph.Outputs[0].Shape);
        Assert.Equal(new OnnxKeras.Layers.Layer[] { first, second }, graph.Layers.Where(l => l is not InputLayer).ToArray());
        Assert.Equal(3, graph.Nodes.Count);

        using var unbuilt = new Sequential(new Dense(2));
        Assert.Null(unbuilt.Graph);
    }
}
