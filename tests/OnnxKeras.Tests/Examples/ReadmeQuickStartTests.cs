using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using OnnxKeras.Datasets;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;

namespace OnnxKeras.Tests.Examples;

/// <summary>The README's quick-start, as written there (fewer epochs), so the README cannot drift from the API.</summary>
public class ReadmeQuickStartTests
{
    [Fact]
    public void QuickStartRunsAndLearns()
    {
        Keras.SetRandomSeed(42);
        var data = Mnist.Load();

        using var model = new Sequential(
            new InputLayer([784]),
            new Dense(64, activation: "relu", kernelRegularizer: Regularizers.L2(0.01)),
            new Dense(64, activation: new ActivationFunction("my_relu", x => Ops.Relu(x)), kernelInitializer: new Orthogonal(gain: 1.0)),
            new Dense(10, activation: "softmax"));
        var summary = new StringWriter();
        model.Summary(summary);
        Assert.Contains("50,240", summary.ToString()); // 784*64 + 64
        model.Compile(optimizer: new Adam(0.001), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);

        History h = model.Fit(data.TrainImages, data.TrainLabels, epochs: 2, batchSize: 32, verbose: 0,
                              validationData: (data.TestImages, data.TestLabels),
                              callbacks: [new EarlyStopping(monitor: "val_loss", patience: 2, restoreBestWeights: true)]);

        var ds = Dataset.FromTensorSlices(data.TrainImages, data.TrainLabels).Shuffle(8000, seed: 1).Batch(32).Repeat();
        var h2 = model.Fit(ds, epochs: 2, stepsPerEpoch: 100, verbose: 0);

        Dictionary<string, double> result = model.Evaluate(data.TestImages, data.TestLabels);
        NDArray probabilities = model.Predict(data.TestImages);
        int[] classes = probabilities.ArgMax();

        Assert.Equal(2, h["loss"].Count);
        Assert.Equal(2, h2["loss"].Count);
        Assert.Equal(new long[] { 2000, 10 }, probabilities.Shape);
        Assert.True(result["accuracy"] > 0.85, $"accuracy {result["accuracy"]}");
        Assert.Equal(result["accuracy"], classes.Zip(data.TestLabels).Count(p => p.First == p.Second) / 2000.0, 6);
    }
}
