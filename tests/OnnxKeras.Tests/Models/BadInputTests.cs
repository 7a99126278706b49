using OnnxKeras.Layers;
using OnnxKeras.Metrics;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;

namespace OnnxKeras.Tests.Models;

/// <summary>Mistakes a user makes get an exception of the right type whose message says what is wrong and how to fix it.</summary>
public class BadInputTests
{
    private static readonly float[,] X = { { 1, 2 }, { 3, 4 }, { 5, 6 } };
    private static readonly float[,] Y = { { 1 }, { 2 }, { 3 } };

    [Fact]
    public void FitOrEvaluateBeforeCompile_Throws_MentioningCompile()
    {
        using var model = new Sequential(new InputLayer([2]), new Dense(1));
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(X, Y, verbose: 0));
        Assert.Contains("Compile", e.Message);
        Assert.Contains("Compile", Assert.Throws<InvalidOperationException>(() => model.Evaluate(X, Y)).Message);
        Assert.Contains("Compile", Assert.Throws<InvalidOperationException>(() => _ = model.Optimizer).Message);
        Assert.False(model.IsCompiled);
    }

    [Fact]
    public void UnknownLossName_Throws_ListingValidNames()
    {
        using var model = new Sequential(new InputLayer([2]), new Dense(1));
        var e = Assert.Throws<ArgumentException>(() => model.Compile("sgd", "mean_sqared_error"));
        Assert.Contains("mean_sqared_error", e.Message);
        Assert.Contains("mean_squared_error", e.Message);
        Assert.Contains("categorical_crossentropy", e.Message);
        // Compile without a loss is allowed, as in Keras (for an overridden TrainStep); the built-in step then refuses to run.
        model.Compile("sgd");
        var missing = Assert.Throws<InvalidOperationException>(() => model.Fit(new float[2, 2], new float[2, 1], verbose: 0));
        Assert.Contains("No loss to compute", missing.Message);
        Assert.Contains("binary_crossentropy", missing.Message);
    }

    [Fact]
    public void UnknownOptimizerName_Throws_ListingValidNames()
    {
        using var model = new Sequential(new InputLayer([2]), new Dense(1));
        var e = Assert.Throws<ArgumentException>(() => model.Compile("adamm", "mse"));
        Assert.Contains("adamm", e.Message);
        Assert.Contains("adam", e.Message.Replace("adamm", ""));
        Assert.Contains("rmsprop", e.Message);
        Assert.Contains("sgd", e.Message);
    }

    [Fact]
    public void UnknownMetricName_Throws_ListingValidNames()
    {
        using var model = new Sequential(new InputLayer([2]), new Dense(1));
        var e = Assert.Throws<ArgumentException>(() => model.Compile(new SGD(), "mse", ["acuracy"]));
        Assert.Contains("acuracy", e.Message);
        Assert.Contains("accuracy", e.Message.Replace("acuracy", ""));
        Assert.Contains("mae", e.Message);
        Assert.Throws<ArgumentException>(() => MetricRegistry.Get("f1"));
    }

    [Fact]
    public void UnknownActivationAndInitializerNames_Throw_ListingValidNames()
    {
        var a = Assert.Throws<ArgumentException>(() => new Dense(3, activation: "rellu"));
        Assert.Contains("rellu", a.Message);
        Assert.Contains("relu", a.Message.Replace("rellu", ""));
        Assert.Contains("softmax", a.Message);
        var i = Assert.Throws<ArgumentException>(() => new Dense(3, kernelInitializer: "glorot"));
        Assert.Contains("glorot_uniform", i.Message);
        Assert.Contains("he_normal", i.Message);
    }

    [Fact]
    public void XAndYLengthMismatch_Throws()
    {
        using var model = new Sequential(new InputLayer([2]), new Dense(1));
        model.Compile(new SGD(), "mse");
        var e = Assert.Throws<ArgumentException>(() => model.Fit(X, new float[,] { { 1 }, { 2 } }, verbose: 0));
        Assert.Contains("3", e.Message);
        Assert.Contains("2", e.Message);
        Assert.Throws<ArgumentException>(() => model.Evaluate(X, new float[,] { { 1 } }));
        Assert.Throws<ArgumentException>(() => model.Fit(X, Y, verbose: 0, sampleWeight: new float[] { 1, 1 }));
    }

    [Fact]
    public void SparseLabelsOutOfRange_Throw_NamingTheRange()
    {
        using var model = new Sequential(new InputLayer([2]), new Dense(3, activation: "softmax"));
        model.Compile(new SGD(), "sparse_categorical_crossentropy");
        var high = Assert.Throws<ArgumentException>(() => model.Fit(X, new[] { 0, 3, 1 }, verbose: 0));
        Assert.Contains("[0, 2]", high.Message);
        Assert.Contains("3", high.Message);
        var negative = Assert.Throws<ArgumentException>(() => model.Fit(X, new[] { 0, -1, 1 }, verbose: 0));
        Assert.Contains("-1", negative.Message);
        Assert.Throws<ArgumentException>(() => model.Evaluate(X, new[] { 0, 5, 1 }));
    }

    [Fact]
    public void WrongFeatureCount_Throws_NamingTheModelAndBothShapes()
    {
        using var model = new Sequential(new InputLayer([72]), new Dense(8), new Dense(2)) { Name = "declared72" };
        model.Compile(new SGD(), "mse");
        var x = new float[4, 50];
        var y = new float[4, 2];
        var e = Assert.Throws<ArgumentException>(() => model.Fit(x, y, verbose: 0));
        Assert.Contains("declared72", e.Message);
        Assert.Contains("(None, 72)", e.Message);
        Assert.Contains("50", e.Message);
        Assert.Contains("declared72", Assert.Throws<ArgumentException>(() => model.Predict(x)).Message);
    }

    [Fact]
    public void WrongFeatureCount_AfterBuildingFromData_Throws_NamingTheLayerAndBothShapes()
    {
        var first = new Dense(8) { Name = "first_dense" };
        using var model = new Sequential(first, new Dense(2));
        model.Compile(new SGD(), "mse");
        model.Fit(new float[4, 72], new float[4, 2], verbose: 0); // builds for 72 features
        var e = Assert.Throws<ArgumentException>(() => model.Predict(new float[3, 50]));
        Assert.Contains("first_dense", e.Message);
        Assert.Contains("(None, 72)", e.Message);
        Assert.Contains("50", e.Message);
    }

    [Fact]
    public void DenseWithoutUnits_Throws()
    {
        Assert.Contains("units", Assert.Throws<ArgumentException>(() => new Dense(0)).Message);
        Assert.Throws<ArgumentException>(() => new Dense(-3));
    }

    [Fact]
    public void InvalidFitArguments_Throw()
    {
        using var model = new Sequential(new InputLayer([2]), new Dense(1));
        model.Compile(new SGD(), "mse");
        Assert.Throws<ArgumentException>(() => model.Fit(X, Y, batchSize: 0, verbose: 0));
        Assert.Throws<ArgumentException>(() => model.Fit(X, Y, epochs: -1, verbose: 0));
        Assert.Throws<ArgumentException>(() => model.Fit(X, Y, verbose: 3));
        Assert.Throws<ArgumentException>(() => model.Fit(X, Y, stepsPerEpoch: 0, verbose: 0));
        Assert.Throws<ArgumentException>(() => model.Fit(X, Y, validationFreq: 0, verbose: 0));
    }
}
