using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Models;

/// <summary>Fit, Evaluate and Predict refuse empty data with ArgumentException (as Keras raises), never report a loss of 0.</summary>
public class EmptyDataTests
{
    private static readonly float[,] X = { { 1, 2 }, { 3, 4 }, { 5, 6 } };
    private static readonly float[,] Y = { { 1 }, { 2 }, { 3 } };

    private static Sequential Compiled()
    {
        var model = new Sequential(new InputLayer([2]), new Dense(1));
        model.Compile("sgd", "mse");
        return model;
    }

    [Fact]
    public void FitOnAnEmptyDatasetThrowsInsteadOfReportingLoss0()
    {
        using var model = Compiled();
        var empty = Dataset.FromTensorSlices(new float[0, 2], new float[0, 1]).Batch(2);
        Assert.Contains("no batches", Assert.Throws<ArgumentException>(() => model.Fit(empty, epochs: 3, verbose: 0)).Message);
        Assert.Contains("no batches", Assert.Throws<ArgumentException>(() => model.Fit(empty, epochs: 3, verbose: 0, stepsPerEpoch: 2)).Message);
        Assert.Contains("no batches", Assert.Throws<ArgumentException>(() => model.Fit(empty.Repeat(), epochs: 3, verbose: 0, stepsPerEpoch: 2)).Message);
    }

    [Fact]
    public void FitOnZeroRowArraysSaysThereAreNoSamples()
    {
        using var model = Compiled();
        // This used to fail with "Shuffle buffer size must be positive", which says nothing about the data.
        var e = Assert.Throws<ArgumentException>(() => model.Fit(new float[0, 2], new float[0, 1], verbose: 0));
        Assert.Contains("no samples", e.Message);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => model.Fit(new float[0, 2], new float[0, 1], verbose: 0, shuffle: false)).Message);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => model.Fit(X, Y, verbose: 0, validationData: (new float[0, 2], new float[0, 1]))).Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.PositiveInfinity)]
    public void ValidationSplitOutsideZeroToOneIsRefused(double split)
    {
        using var model = Compiled();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(X, Y, verbose: 0, validationSplit: split));
        Assert.Equal("validationSplit", e.ParamName);
    }

    [Fact]
    public void EvaluateAndPredictOnEmptyInputThrowToo()
    {
        using var model = Compiled();
        Assert.Contains("no data", Assert.Throws<ArgumentException>(() => model.Evaluate(new float[0, 2], new float[0, 1])).Message);
        Assert.Contains("no data", Assert.Throws<ArgumentException>(() => model.Predict(new float[0, 2])).Message);
        Assert.Contains("no data", Assert.Throws<ArgumentException>(() => model.Evaluate(Dataset.FromTensorSlices(new float[0, 2], new float[0, 1]).Batch(2))).Message);
        Assert.Contains("no data", Assert.Throws<ArgumentException>(() => model.Predict(Dataset.FromTensorSlices(new float[0, 2]).Batch(2))).Message);
    }
}
