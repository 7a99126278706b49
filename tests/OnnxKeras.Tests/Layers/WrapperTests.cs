using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;
using static OnnxKeras.Tests.Layers.FamilyTestUtil;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// TimeDistributed: the layer harness (config, shapes, ONNX export at every opset, a training step) with an inner Dense
/// and an inner Conv2D, outputs worked by hand, and a check against the wrapped layer applied to each timestep alone.
/// </summary>
public class WrapperTests
{
    [Fact]
    public void TimeDistributedDenseHarness() =>
        LayerTestHarness.Run(new TimeDistributed(new Dense(3)), [4, 2], [4, 3], 2, 0);

    [Fact]
    public void TimeDistributedConv2DHarness() =>
        LayerTestHarness.Run(new TimeDistributed(new Conv2D(2, 3)), [3, 5, 5, 1], [3, 3, 3, 2], 2, 0);

    private static Dense FixedDense()
    {
        var dense = new Dense(2);
        dense.EnsureBuilt(new Shape(null, 2));
        dense.SetWeights([new NDArray([1f, 2f, 3f, 4f], [2, 2]), new NDArray([0.5f, -0.5f], [2])]);
        return dense;
    }

    [Fact]
    public void TimeDistributedDenseAppliesTheSameWeightsAtEveryTimestep()
    {
        using var scope = NewDisposeScope();
        // kernel [[1, 2], [3, 4]], bias [0.5, -0.5]: [1, 2] -> [1 + 6, 2 + 8] + b = [7.5, 9.5]; [3, -1] -> [3 - 3, 6 - 4] + b = [0.5, 1.5].
        var y = new TimeDistributed(FixedDense()).Apply(T([1, 2, 3, -1], 1, 2, 2));
        Assert.Equal(new long[] { 1, 2, 2 }, y.Value.shape);
        Assert.Equal(new float[] { 7.5f, 9.5f, 0.5f, 1.5f }, Values(y));
    }

    [Fact]
    public void TimeDistributedMatchesTheLayerCalledOnEachTimestepAlone()
    {
        using var scope = NewDisposeScope();
        Keras.SetRandomSeed(7);
        var conv = new Conv2D(3, 2, activation: "relu");
        var x = randn([2, 3, 4, 4, 1]);
        var y = new TimeDistributed(conv).Apply(x);
        Assert.Equal(new long[] { 2, 3, 3, 3, 3 }, y.Value.shape);
        for (int t = 0; t < 3; t++)
        {
            var expected = Values(conv.Apply(x.select(1, t)));
            var actual = Values(y.Value.select(1, t));
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-6f);
        }
    }

    [Fact]
    public void TimeDistributedPassesTheMaskThrough()
    {
        using var scope = NewDisposeScope();
        var masked = new Masking().Apply(T([1, 2, 0, 0, 3, 4], 1, 3, 2));
        var y = new TimeDistributed(new Dense(3)).Apply(masked);
        Assert.Equal(new[] { true, false, true }, y.Mask!.Value.data<bool>().ToArray());
    }

    [Fact]
    public void TimeDistributedRefusesAnInputWithoutATimeAxis()
    {
        var e = Assert.Throws<ArgumentException>(() => new TimeDistributed(new Dense(2)).Apply(Keras.Input([4])));
        Assert.Contains("at least 3 dimensions", e.Message);
        Assert.Throws<ArgumentNullException>(() => new TimeDistributed(null!));
    }

    [Fact]
    public void TimeDistributedConfigHoldsTheWrappedLayerAndRoundTripsInAModel()
    {
        var input = Keras.Input([2, 2]);
        using var model = new Model(input, new TimeDistributed(FixedDense()) { Name = "td" }.Apply(input));
        var inner = (Dictionary<string, object?>)model.GetLayer("td").GetConfig()["layer"]!;
        Assert.Equal("Dense", inner["class_name"]);
        using var copy = Model.FromJson(model.ToJson());
        copy.SetWeights(model.GetWeights());
        using var scope = NewDisposeScope();
        var y = copy.Apply(T([1, 2, 3, -1], 1, 2, 2));
        Assert.Equal(new float[] { 7.5f, 9.5f, 0.5f, 1.5f }, Values(y));
    }
}
