using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;

namespace OnnxKeras.Tests.Saving;

public class OptimizerStateTests
{
    private static Sequential NewModel(Optimizer optimizer)
    {
        Keras.SetRandomSeed(77);
        var model = new Sequential(new InputLayer([6]), new Dense(5, activation: "tanh"), new Dense(3, activation: "softmax"));
        model.Compile(optimizer: optimizer, loss: "categorical_crossentropy");
        return model;
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("nadam")]
    [InlineData("rmsprop")]
    public void ContinuingFromASavedModelEqualsUninterruptedTraining(string optimizerName)
    {
        var (x, y) = TestData.RandomClassification(96, 6, 3, 5);
        var dir = Directory.CreateTempSubdirectory("onnxkeras-resume-");
        try
        {
            using var straight = NewModel(optimizerName);
            straight.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false, verbose: 0);

            using var first = NewModel(optimizerName);
            first.Fit(x, y, epochs: 2, batchSize: 16, shuffle: false, verbose: 0);
            var path = Path.Combine(dir.FullName, "checkpoint.keras");
            first.Save(path);
            using var resumed = Model.LoadModel(path);
            Assert.Equal(first.Optimizer.Iterations, resumed.Optimizer.Iterations);
            resumed.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, verbose: 0);

            var expected = straight.GetWeights();
            var actual = resumed.GetWeights();
            for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Data, actual[i].Data);
            Assert.Equal(3 * 6, resumed.Optimizer.Iterations);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void WithoutTheSavedStateTheResumedRunDiffers()
    {
        // The check above can fail: a fresh Adam (zero moments, step 1 bias correction) moves the weights differently.
        var (x, y) = TestData.RandomClassification(96, 6, 3, 5);
        using var straight = NewModel("adam");
        straight.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false, verbose: 0);
        using var first = NewModel("adam");
        first.Fit(x, y, epochs: 2, batchSize: 16, shuffle: false, verbose: 0);
        first.Compile(optimizer: "adam", loss: "categorical_crossentropy");
        first.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, verbose: 0);
        Assert.NotEqual(straight.GetWeights()[0].Data, first.GetWeights()[0].Data);
    }
}
