using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using Xunit;

namespace OnnxKeras.Tests.Saving;

/// <summary>Config values are checked by type, and a small config cannot make libtorch allocate a huge weight.</summary>
public class ConfigValidationTests
{
    private static string Sequential(int inputWidth, string denseConfig) =>
        $$$"""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, {{{inputWidth}}}], "name": "in"}}, {"class_name": "Dense", "config": {"name": "d", {{{denseConfig}}}}}]}}""";

    [Theory]
    [InlineData("\"units\": \"16\"", "key 'units' is the string \"16\"; expected an integer")]
    [InlineData("\"units\": 1.5", "key 'units' is 1.5; expected an integer (Int32), not a fraction")]
    [InlineData("\"units\": true", "key 'units' is true; expected an integer")]
    [InlineData("\"units\": 4294967296", "key 'units' is 4294967296, out of the range of Int32")]
    [InlineData("\"units\": 2, \"use_bias\": \"false\"", "key 'use_bias' is the string \"false\"; expected true or false")]
    public void ValuesOfTheWrongTypeAreRefusedNamingTheLayerAndKey(string config, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Sequential(3, config)));
        Assert.Contains("layer 'd' (Dense), " + expected, e.Message);
    }

    [Fact]
    public void NestedValuesAreCheckedToo()
    {
        // A regularizer's factor and a tensor reference's indices used to escape as FormatException.
        var e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Sequential(3, "\"units\": 2, \"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": \"abc\"}}")));
        Assert.Contains("regularizer L2, key 'l2' is the string \"abc\"; expected a number", e.Message);
        const string functional = """
            {"class_name": "Functional", "config": {"name": "f", "layers": [
              {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [null, 3], "name": "in"}, "inbound_nodes": []},
              {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}, "inbound_nodes": [[["in", "zero", 0, {}]]]}],
             "input_layers": [["in", 0, 0]], "output_layers": [["d", 0, 0]]}}
            """;
        Assert.Contains("the node index of a reference to 'in' is the string \"zero\"", Assert.Throws<InvalidDataException>(() => Model.FromJson(functional)).Message);
    }

    [Fact]
    public void AWholeNumberWrittenAsFloatIsStillAnInteger()
    {
        using var model = Model.FromJson(Sequential(3, "\"units\": 16.0"));
        Assert.Equal(16, ((Dense)model.Layers[^1]).Units);
        Assert.Equal(3 * 16 + 16, model.CountParams());
    }

    [Fact]
    public void ShapesInConfigsMustBeNonNegativeIntegers()
    {
        const string json = """{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, "8"], "name": "in"}}]}}""";
        Assert.Contains("the string \"8\"", Assert.Throws<InvalidDataException>(() => Model.FromJson(json)).Message);
        Assert.Contains("dimension -8", Assert.Throws<InvalidDataException>(() => Model.FromJson(json.Replace("\"8\"", "-8", StringComparison.Ordinal))).Message);
    }

    [Fact]
    public void AWeightAboveTheConfigLimitIsRefusedBeforeAllocation()
    {
        Assert.Equal(1L << 30, ModelConfig.MaxWeightBytes);
        // Dense(30000) on 30000 inputs: a (30000, 30000) float32 kernel, 30000 * 30000 * 4 = 3,600,000,000 bytes (it took
        // 3.6 GB before being refused).
        var e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Sequential(30000, "\"units\": 30000")));
        Assert.Contains("Layer 'd': weight 'kernel' of shape (30000, 30000) would have 900,000,000 elements (3,600,000,000 bytes), more than the 1,073,741,824 bytes", e.Message);
        // units = int.MaxValue on 8 inputs: 8 * 2,147,483,647 = 17,179,869,176 elements, past one array's 2,147,483,591 (libtorch's ExternalException for 68 GB before).
        e = Assert.Throws<InvalidDataException>(() => Model.FromJson(Sequential(8, "\"units\": 2147483647")));
        Assert.Contains("weight 'kernel' of shape (8, 2147483647) would have more than 2,147,483,591 elements, more than the 1,073,741,824 bytes", e.Message);
        // .keras files go through the same path and name the file (tested with KerasArchive's own message prefix elsewhere).
    }

    [Fact]
    public void TheLimitIsConfigurableAndCoversEachWeight()
    {
        long old = ModelConfig.MaxWeightBytes;
        try
        {
            // kernel (8, 4) = 128 bytes is over a 100-byte limit; with 128 bytes allowed, kernel and bias (16 bytes) are built.
            ModelConfig.MaxWeightBytes = 100;
            Assert.Contains("weight 'kernel' of shape (8, 4) would have 32 elements (128 bytes), more than the 100 bytes",
                Assert.Throws<InvalidDataException>(() => Model.FromJson(Sequential(8, "\"units\": 4"))).Message);
            ModelConfig.MaxWeightBytes = 128;
            using var model = Model.FromJson(Sequential(8, "\"units\": 4"));
            Assert.Equal(8 * 4 + 4, model.CountParams());
            Assert.Throws<ArgumentOutOfRangeException>(() => ModelConfig.MaxWeightBytes = 0);
        }
        finally
        {
            ModelConfig.MaxWeightBytes = old;
        }
        // Models built in code are not limited by MaxWeightBytes, only by the element limit of one .NET array.
        var input = Keras.Input([8]);
        var big = new Dense(int.MaxValue) { Name = "huge" };
        var a = Assert.Throws<ArgumentException>(() => big.Apply(input));
        Assert.Contains("Layer 'huge': weight 'kernel' of shape (8, 2147483647) would have more than 2,147,483,591 elements", a.Message);
    }
}
