using OnnxKeras.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

public class EmbeddingTests
{
    [Fact]
    public void EmbeddingHarness() =>
        LayerTestHarness.Run(new Embedding(10, 3), [4], [4, 3], 1, 0, inputRange: 10, integerInputs: true);

    [Fact]
    public void EmbeddingHarnessRank2Indices() =>
        LayerTestHarness.Run(new Embedding(6, 2, maskZero: true), [2, 3], [2, 3, 2], 1, 0, inputRange: 6, integerInputs: true);

    [Fact]
    public void EmbeddingKerasDefaults()
    {
        var e = new Embedding(5, 2);
        Assert.IsType<RandomUniform>(e.EmbeddingsInitializer);
        Assert.Equal(-0.05, ((RandomUniform)e.EmbeddingsInitializer).Minval);
        Assert.Equal(0.05, ((RandomUniform)e.EmbeddingsInitializer).Maxval);
        Assert.False(e.MaskZero);
        e.EnsureBuilt(new Shape(null, 7));
        Assert.Equal("embeddings", e.Weights.Single().Name);
        Assert.Equal(Shape.Of(5, 2), e.Embeddings.Shape);
        Assert.Equal(new Shape(null, 7, 2), e.ComputeOutputShape(new Shape(null, 7)));
        Assert.True(new Embedding(5, 2, maskZero: true).GetConfig()["mask_zero"] is true);
    }

    private static Embedding Table(out float[] rows)
    {
        // Row i of the table is [10 i, 10 i + 1, 10 i + 2].
        rows = Enumerable.Range(0, 5 * 3).Select(k => (float)(10 * (k / 3) + k % 3)).ToArray();
        var e = new Embedding(5, 3);
        e.EnsureBuilt(new Shape(null, 3));
        e.SetWeights([new NDArray(rows, 5, 3)]);
        return e;
    }

    [Fact]
    public void EmbeddingLooksUpRowsForFloatAndIntegerIndices()
    {
        using var scope = NewDisposeScope();
        var e = Table(out var rows);
        long[,] indices = { { 1, 0, 4 }, { 3, 3, 2 } };
        var expected = new List<float>();
        foreach (var i in indices) expected.AddRange(rows.Skip((int)i * 3).Take(3));

        var fromFloat = e.Apply(tensor(new float[] { 1, 0, 4, 3, 3, 2 }, [2, 3]));
        Assert.Equal([2L, 3, 3], fromFloat.Value.shape);
        Assert.Equal(expected, FamilyTestUtil.Values(fromFloat));
        var fromLong = e.Apply(tensor(new long[] { 1, 0, 4, 3, 3, 2 }, [2, 3]));
        Assert.Equal(expected, FamilyTestUtil.Values(fromLong));
        var fromInt = e.Apply(tensor(new int[] { 1, 0, 4, 3, 3, 2 }, [2, 3]));
        Assert.Equal(expected, FamilyTestUtil.Values(fromInt));
    }

    [Fact]
    public void EmbeddingGradientCountsEachIndex()
    {
        using var scope = NewDisposeScope();
        var e = Table(out _);
        e.Embeddings.Value.grad = null;
        var y = e.Apply(tensor(new float[] { 1, 0, 4, 3, 3, 2 }, [2, 3]));
        y.Value.sum().backward();
        var grad = FamilyTestUtil.Values(e.Embeddings.Value.grad!);
        int[] counts = [1, 1, 1, 2, 1];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++) Assert.Equal(counts[i], grad[i * 3 + j]);
        e.Embeddings.Value.grad = null;
    }

    [Fact]
    public void EmbeddingRejectsOutOfRangeIndicesAndBadArguments()
    {
        Assert.Throws<ArgumentException>(() => new Embedding(0, 3));
        Assert.Throws<ArgumentException>(() => new Embedding(3, -1));

        using var scope = NewDisposeScope();
        var e = new Embedding(5, 2) { Name = "emb_range" };
        var tooLarge = Assert.Throws<ArgumentException>(() => e.Apply(tensor(new float[] { 0, 5 }, [1, 2])));
        Assert.Contains("emb_range", tooLarge.Message);
        Assert.Contains("[0, 5)", tooLarge.Message);
        Assert.Contains("5", tooLarge.Message);
        var negative = Assert.Throws<ArgumentException>(() => e.Apply(tensor(new long[] { -1, 2 }, [1, 2])));
        Assert.Contains("-1", negative.Message);
    }
}
