using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Models;

/// <summary>The quick-start's subclassed model: two Dense layers created in the constructor, used in Call.</summary>
public sealed class MyModel : Model
{
    private readonly Dense dense1;
    private readonly Dense dense2;

    public MyModel(int numClasses = 10)
    {
        dense1 = new Dense(32, activation: "relu");
        dense2 = new Dense(numClasses, activation: "sigmoid");
    }

    public override KTensor Call(KTensor inputs, bool training = false) => dense2.Apply(dense1.Apply(inputs));
}

/// <summary>The quick-start's custom layer: a matmul with a uniform-initialized kernel.</summary>
[RegisterSerializable("MyLayer")]
public sealed class MyLayer(int outputDim) : Layer
{
    private Variable? kernel;

    public int OutputDim { get; } = outputDim;

    public override void Build(Shape inputShape) =>
        kernel = AddWeight("kernel", Shape.Of(inputShape[^1]!.Value, OutputDim), initializer: "uniform");

    public override KTensor Call(KTensor inputs, bool training = false) => Ops.MatMul(inputs, kernel!);

    public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(OutputDim);

    public override LayerConfig GetConfig() => base.GetConfig().With("output_dim", OutputDim);
}

/// <summary>A custom layer that does not override ComputeOutputShape: its shape is inferred by running it.</summary>
public sealed class PairwiseProducts : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false) =>
        Ops.Reshape(Ops.Multiply(Ops.Reshape(inputs, -1, inputs.Shape[1]!.Value, 1), Ops.Reshape(inputs, -1, 1, inputs.Shape[1]!.Value)), -1, inputs.Shape[1]!.Value * inputs.Shape[1]!.Value);
}

public class SubclassedAndCustomTests
{
    [Fact]
    public void SubclassedModelTracksLayersTrainsAndSummarizes()
    {
        Keras.SetRandomSeed(11);
        using var model = new MyModel(numClasses: 10);
        var (x, y) = TestData.RandomClassification(500, 32, 10, 3);
        model.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
        var h = model.Fit(x, y, batchSize: 32, epochs: 5, verbose: 0);
        Assert.True(h["loss"][^1] < h["loss"][0], string.Join(", ", h["loss"]));
        Assert.Equal(2, model.Layers.Count);
        Assert.Equal(4, model.TrainableWeights.Count);
        Assert.Equal(32 * 32 + 32 + 32 * 10 + 10, model.CountParams());
        Assert.Equal(new Shape(null, 10), model.ComputeOutputShape(new Shape(null, 32)));
        var text = new StringWriter();
        model.Summary(text);
        Assert.Contains("Total params: 1,386", text.ToString());
        Assert.Equal(new long[] { 500, 10 }, model.Predict(x).Shape);
    }

    [Fact]
    public void CustomLayerInSequentialTrainsAndReducesLoss()
    {
        Keras.SetRandomSeed(12);
        using var model = new Sequential(new InputLayer([32]), new MyLayer(10), new Activation("softmax"));
        var mine = (MyLayer)model.Layers[0];
        Assert.Equal(new long[] { 32, 10 }, mine.Weights[0].Value.shape);
        // "uniform" is RandomUniform(-0.05, 0.05).
        Assert.All(mine.GetWeights()[0].Data, v => Assert.InRange(v, -0.05f, 0.05f));
        model.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy");
        var (x, y) = TestData.RandomClassification(300, 32, 10, 3);
        var h = model.Fit(x, y, batchSize: 32, epochs: 5, verbose: 0);
        Assert.True(h["loss"][^1] < h["loss"][0]);
        Assert.Equal(10, mine.GetConfig().Get("output_dim", 0));
    }

    [Fact]
    public void OutputShapeOfACustomLayerIsInferredByRunningIt()
    {
        var input = Keras.Input([3]);
        var output = new PairwiseProducts().Apply(input);
        Assert.Equal(new Shape(null, 9), output.Shape);
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3 }, [1, 3]);
        var y = new PairwiseProducts().Apply(x).Value.data<float>().ToArray();
        Assert.Equal(new float[] { 1, 2, 3, 2, 4, 6, 3, 6, 9 }, y);
    }

    [Fact]
    public void FreezingALayerKeepsItsWeights()
    {
        Keras.SetRandomSeed(13);
        var frozen = new Dense(8, activation: "relu");
        using var model = new Sequential(new InputLayer([4]), frozen, new Dense(2));
        frozen.Trainable = false;
        var before = frozen.GetWeights().Select(w => w.Data.ToArray()).ToList();
        model.Compile(optimizer: new SGD(0.1), loss: "mse");
        var rng = new Random(1);
        var x = new float[64, 4];
        var y = new float[64, 2];
        for (int i = 0; i < 64; i++) { for (int j = 0; j < 4; j++) x[i, j] = (float)rng.NextDouble(); y[i, 0] = 1; }
        model.Fit(x, y, epochs: 2, verbose: 0);
        var after = frozen.GetWeights();
        for (int i = 0; i < before.Count; i++) Assert.Equal(before[i], after[i].Data);
        Assert.Equal(2, model.NonTrainableWeights.Count);
        Assert.Equal(2, model.TrainableWeights.Count);
    }
}
