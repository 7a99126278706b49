using OnnxKeras.Datasets;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;

namespace OnnxKeras.Tests.Models;

public class MnistEndToEndTests
{
    [Fact]
    public void Mlp784_128_10_ReachesAtLeast92PercentTestAccuracy()
    {
        Keras.SetRandomSeed(1);
        var data = Mnist.Load();
        using var model = new Sequential(
            new InputLayer([784]),
            new Dense(128, activation: "relu"),
            new Dense(10, activation: "softmax"));
        model.Compile(optimizer: new Adam(0.001), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
        var history = model.Fit(data.TrainImages, data.TrainLabels, epochs: 5, batchSize: 32, verbose: 0,
            validationData: (data.TestImages, data.TestLabels));

        Assert.Equal(5, history["loss"].Count);
        Assert.True(history["loss"][^1] < history["loss"][0], "training loss should fall");
        var result = model.Evaluate(data.TestImages, data.TestLabels);
        Assert.True(result["accuracy"] >= 0.92, $"test accuracy {result["accuracy"]:P2} < 92%");
        // The last epoch's validation result is the same computation as Evaluate on the same data.
        Assert.Equal(result["accuracy"], history["val_accuracy"][^1], 6);

        // Independent check of the accuracy metric: count correct argmax predictions by hand.
        var predicted = model.Predict(data.TestImages).ArgMax();
        double correct = predicted.Zip(data.TestLabels).Count(p => p.First == p.Second) / (double)data.TestLabels.Length;
        Assert.Equal(correct, result["accuracy"], 6);
    }
}

public class MnistCnnTests
{
    [Fact]
    public void Cnn_ReachesAtLeast97PercentTestAccuracy()
    {
        Keras.SetRandomSeed(2);
        var data = OnnxKeras.Datasets.Mnist.Load();
        using var model = new Sequential(
            new InputLayer([28, 28, 1]),
            new Conv2D(32, 3, activation: "relu"),
            new MaxPooling2D(2),
            new Conv2D(64, 3, activation: "relu"),
            new MaxPooling2D(2),
            new Flatten(),
            new Dense(10, activation: "softmax"));
        model.Compile(optimizer: new Adam(0.001), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
        var images = Reshape(data.TrainImages);
        var test = Reshape(data.TestImages);
        var history = model.Fit(images, data.TrainLabels, epochs: 4, batchSize: 64, verbose: 0);
        Assert.True(history["loss"][^1] < history["loss"][0]);
        var result = model.Evaluate(test, data.TestLabels);
        Assert.True(result["accuracy"] >= 0.97, $"test accuracy {result["accuracy"]:P2} < 97%");
    }

    private static float[,,,] Reshape(float[,] flat)
    {
        var result = new float[flat.GetLength(0), 28, 28, 1];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }
}
