using OnnxKeras.Metrics;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Metrics;

/// <summary>Looking up metrics by Keras name, and the error for an unknown name.</summary>
public class MetricRegistryTests
{
    public static TheoryData<string, Type> NamesAndTypes => new()
    {
        { "categorical_accuracy", typeof(MeanMetricWrapper) },
        { "sparse_categorical_accuracy", typeof(MeanMetricWrapper) },
        { "binary_accuracy", typeof(MeanMetricWrapper) },
        { "top_k_categorical_accuracy", typeof(MeanMetricWrapper) },
        { "sparse_top_k_categorical_accuracy", typeof(MeanMetricWrapper) },
        { "mean_squared_error", typeof(MeanMetricWrapper) },
        { "mse", typeof(MeanMetricWrapper) },
        { "mean_absolute_error", typeof(MeanMetricWrapper) },
        { "mae", typeof(MeanMetricWrapper) },
        { "precision", typeof(Precision) },
        { "recall", typeof(Recall) },
        { "auc", typeof(AUC) },
    };

    [Theory]
    [MemberData(nameof(NamesAndTypes))]
    public void Get_ReturnsAMetricOfTheNamedKindReportedUnderThatName(string name, Type type)
    {
        using var a = MetricRegistry.Get(name);
        using Metric b = name;

        Assert.IsType(type, a);
        Assert.IsType(type, b);
        Assert.Equal(name, a.Name);
        Assert.NotSame(a, b);
    }

    [Fact]
    public void Names_AreTheRegisteredOnesPlusAccuracyAndAcc()
    {
        var expected = NamesAndTypes.Select(row => (string)row[0]).Append("accuracy").Append("acc").Order().ToArray();

        Assert.Equal(expected, MetricRegistry.Names.Order().ToArray());
    }

    [Theory]
    [InlineData("accuracy")]
    [InlineData("acc")]
    public void Accuracy_OutsideCompile_IsUnresolvedAndSaysHowToUseIt(string name)
    {
        using Metric m = name;
        Assert.Equal(name, m.Name);

        var ex = Assert.Throws<InvalidOperationException>(() => m.UpdateState(zeros(2, 1), zeros(2, 1)));
        Assert.Contains("Compile", ex.Message);
        Assert.Throws<InvalidOperationException>(() => m.Result());
    }

    [Theory]
    [InlineData("accuracyy")]
    [InlineData("Accuracy")]
    [InlineData("f1")]
    public void Get_UnknownName_ThrowsListingEveryValidName(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => MetricRegistry.Get(name));

        Assert.Equal("name", ex.ParamName);
        Assert.Contains($"Unknown metric '{name}'", ex.Message);
        foreach (var valid in MetricRegistry.Names) Assert.Contains(valid, ex.Message);
    }
}
