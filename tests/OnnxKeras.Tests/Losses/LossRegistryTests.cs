using OnnxKeras.Losses;
using Xunit;

namespace OnnxKeras.Tests.Losses;

/// <summary>Looking up losses by Keras name, aliases included, and the error for an unknown name.</summary>
public class LossRegistryTests
{
    public static TheoryData<string, Type> NamesAndTypes => new()
    {
        { "categorical_crossentropy", typeof(CategoricalCrossentropy) },
        { "sparse_categorical_crossentropy", typeof(SparseCategoricalCrossentropy) },
        { "binary_crossentropy", typeof(BinaryCrossentropy) },
        { "mean_squared_error", typeof(MeanSquaredError) },
        { "mse", typeof(MeanSquaredError) },
        { "mean_absolute_error", typeof(MeanAbsoluteError) },
        { "mae", typeof(MeanAbsoluteError) },
        { "mean_absolute_percentage_error", typeof(MeanAbsolutePercentageError) },
        { "mape", typeof(MeanAbsolutePercentageError) },
        { "mean_squared_logarithmic_error", typeof(MeanSquaredLogarithmicError) },
        { "msle", typeof(MeanSquaredLogarithmicError) },
        { "huber", typeof(Huber) },
        { "log_cosh", typeof(LogCosh) },
        { "kl_divergence", typeof(KLDivergence) },
        { "kld", typeof(KLDivergence) },
        { "poisson", typeof(Poisson) },
        { "hinge", typeof(Hinge) },
        { "squared_hinge", typeof(SquaredHinge) },
        { "cosine_similarity", typeof(CosineSimilarity) },
    };

    [Theory]
    [MemberData(nameof(NamesAndTypes))]
    public void Get_ReturnsANewLossOfTheNamedKind(string name, Type type)
    {
        var a = LossRegistry.Get(name);
        Loss b = name; // implicit conversion, as used by Compile(loss: "...")

        Assert.IsType(type, a);
        Assert.IsType(type, b);
        Assert.NotSame(a, b);
    }

    [Fact]
    public void Names_AreExactlyTheDocumentedSet()
    {
        var expected = NamesAndTypes.Select(row => (string)row[0]).Order().ToArray();

        Assert.Equal(expected, LossRegistry.Names.Order().ToArray());
    }

    [Fact]
    public void Get_ByName_UsesKerasDefaults()
    {
        var cce = Assert.IsType<CategoricalCrossentropy>(LossRegistry.Get("categorical_crossentropy"));
        Assert.False(cce.FromLogits);
        Assert.Equal(0.0, cce.LabelSmoothing);
        Assert.False(Assert.IsType<SparseCategoricalCrossentropy>(LossRegistry.Get("sparse_categorical_crossentropy")).FromLogits);
        Assert.False(Assert.IsType<BinaryCrossentropy>(LossRegistry.Get("binary_crossentropy")).FromLogits);
        Assert.Equal(1.0, Assert.IsType<Huber>(LossRegistry.Get("huber")).Delta);
    }

    [Theory]
    [InlineData("mean_squared_eror")]
    [InlineData("MSE")]
    [InlineData("")]
    public void Get_UnknownName_ThrowsListingEveryValidName(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => LossRegistry.Get(name));

        Assert.Equal("name", ex.ParamName);
        Assert.Contains($"Unknown loss '{name}'", ex.Message);
        foreach (var valid in LossRegistry.Names) Assert.Contains(valid, ex.Message);
    }
}
