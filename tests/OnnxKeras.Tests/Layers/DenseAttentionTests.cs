using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Tests.Export;
using OnnxKeras.Tests.Saving;
using Xunit;
using static OnnxKeras.Tests.Layers.FamilyTestUtil;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>Keras's Attention (Luong) and AdditiveAttention (Bahdanau) against plain-loop references of Keras's formulas.</summary>
public class DenseAttentionTests
{
    private const int B = 2, Tq = 3, Tv = 4, D = 3;

    private static Tensor Rand(int seed, params long[] shape) => rand(shape, ScalarType.Float32, generator: new Generator((ulong)seed)) * 2 - 1;

    private static void AssertClose(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"[{i}] {expected[i]} vs {actual[i]}");
    }

    private static double Dot(float[] q, float[] k, int b, int i, int j)
    {
        double acc = 0;
        for (int e = 0; e < D; e++) acc += q[(b * Tq + i) * D + e] * (double)k[(b * Tv + j) * D + e];
        return acc;
    }

    [Fact]
    public void DotScoresWithScaleKeyAndCausalMaskMatchLoops()
    {
        var layer = new Attention(useScale: true);
        Tensor q = Rand(1, B, Tq, D), v = Rand(2, B, Tv, D), k = Rand(3, B, Tv, D);
        layer.ApplyMany([q, v, k]);
        layer.Scale!.Assign([0.7f]);
        var outputs = layer.ApplyAttention([q, v, k], useCausalMask: true, returnAttentionScores: true);
        float[] qs = Values(q), ks = Values(k);
        var (expected, weights) = AttentionReference.DenseAttention(Values(v), B, Tq, Tv, D, (b, i, j) => 0.7f * Dot(qs, ks, b, i, j),
            (b, i, j) => j <= i, null);
        AssertClose(expected, Values(outputs[0]));
        AssertClose(weights, Values(outputs[1]));
        Assert.Equal("scale", layer.Weights.Single().Name);
        Assert.Equal(0, layer.Scale.Shape.Rank);
    }

    [Fact]
    public void ConcatScoresWithKerasMasksMatchLoops()
    {
        // score = concat_score_weight * sum(tanh(scale * (q_i + k_j))); value mask hides keys, query mask zeroes output rows.
        var layer = new Attention(useScale: true, scoreMode: "concat");
        Tensor q = Rand(4, B, Tq, D), v = Rand(5, B, Tv, D);
        bool[,] vKeep = { { true, false, true, true }, { true, true, true, false } };
        bool[,] qKeep = { { true, true, false }, { false, true, true } };
        var qm = new KTensor(q).WithMask(tensor(new[] { true, true, false, false, true, true }, [B, Tq]));
        var vm = new KTensor(v).WithMask(tensor(new[] { true, false, true, true, true, true, true, false }, [B, Tv]));
        layer.ApplyMany([qm, vm]);
        layer.Scale!.Assign([0.6f]);
        layer.ConcatScoreWeight!.Assign([1.3f]);
        var output = layer.ApplyMany([qm, vm])[0];
        float[] qs = Values(q), vs = Values(v);
        double Score(int b, int i, int j) =>
            1.3 * Enumerable.Range(0, D).Sum(e => Math.Tanh(0.6 * (qs[(b * Tq + i) * D + e] + vs[(b * Tv + j) * D + e])));
        var (expected, _) = AttentionReference.DenseAttention(vs, B, Tq, Tv, D, Score, (b, i, j) => vKeep[b, j], (b, i) => qKeep[b, i]);
        AssertClose(expected, Values(output));
        Assert.NotNull(output.Mask);   // the query's mask passes to the output
        Assert.Equal(["scale", "concat_score_weight"], layer.Weights.Select(w => w.Name));
    }

    [Fact]
    public void AdditiveScoresMatchLoops()
    {
        // AdditiveAttention: score = sum_e scale[e] * tanh(q_ie + k_je), scale [dim] glorot_uniform.
        var layer = new AdditiveAttention();
        Tensor q = Rand(6, B, Tq, D), v = Rand(7, B, Tv, D);
        var outputs = layer.ApplyAttention([q, v], returnAttentionScores: true);
        Assert.Equal(Shape.Of(D), layer.Scale!.Shape);
        var scale = layer.Scale.ToArray();
        float[] qs = Values(q), vs = Values(v);
        double Score(int b, int i, int j) => Enumerable.Range(0, D).Sum(e => scale[e] * Math.Tanh(qs[(b * Tq + i) * D + e] + vs[(b * Tv + j) * D + e]));
        var (expected, weights) = AttentionReference.DenseAttention(vs, B, Tq, Tv, D, Score, null, null);
        AssertClose(expected, Values(outputs[0]));
        AssertClose(weights, Values(outputs[1]));

        var unscaled = new AdditiveAttention(useScale: false);
        var y = unscaled.ApplyMany([q, v])[0];
        Assert.Empty(unscaled.Weights);
        var (plain, _) = AttentionReference.DenseAttention(vs, B, Tq, Tv, D,
            (b, i, j) => Enumerable.Range(0, D).Sum(e => Math.Tanh(qs[(b * Tq + i) * D + e] + vs[(b * Tv + j) * D + e])), null, null);
        AssertClose(plain, Values(y));
        Assert.False(new AdditiveAttention().GetConfig().ContainsKey("score_mode"));
    }

    public static TheoryData<string> Layers => new() { "dot", "dot_scaled", "concat", "additive" };

    private static Attention Make(string name) => name switch
    {
        "dot" => new Attention(),
        "dot_scaled" => new Attention(useScale: true),
        "concat" => new Attention(useScale: true, scoreMode: "concat"),
        _ => new AdditiveAttention(dropout: 0.1),
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void ExportsAtEveryOpsetAndTrains(string name)
    {
        Keras.SetRandomSeed(21);
        var config = Make(name).GetConfig();
        var layer = LayerRegistry.FromConfig(Make(name).GetType(), config);
        Assert.Equal(LayerTestHarness.Canon(config), LayerTestHarness.Canon(layer.GetConfig()));
        var q = Keras.Input([Tq, D], name: "q");
        var v = Keras.Input([Tv, D], name: "v");
        var outputs = ((Attention)layer).ApplyAttention([q, v], useCausalMask: true, returnAttentionScores: true);
        Assert.Equal(new Shape(null, Tq, D), outputs[0].Shape);
        Assert.Equal(new Shape(null, Tq, Tv), outputs[1].Shape);
        using var model = new Model([q, v], outputs);
        OnnxTestHelpers.RandomizeWeights(model, 3);
        foreach (int opset in OnnxTestHelpers.Opsets)
        {
            var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset, Verify = true });
            OnnxTestHelpers.AssertParityOn(model, bytes, Rand(opset, 2, Tq, D), Rand(opset + 1, 2, Tv, D));
        }

        // Self-attention in a model with one input: one training step moves every weight.
        var x = Keras.Input([Tq, D]);
        var attention = Make(name);
        using var trained = new Model(x, attention.Apply([x, x]));
        trained.Compile(new SGD(0.5), "mse");
        var before = trained.TrainableWeights.Select(w => w.ToArray()).ToList();
        var logs = trained.TrainOnBatch(SavingTestHelpers.Random(8, 4, Tq, D), SavingTestHelpers.Random(9, 4, Tq, D));
        Assert.True(double.IsFinite(logs["loss"]));
        var after = trained.TrainableWeights.Select(w => w.ToArray()).ToList();
        for (int i = 0; i < before.Count; i++) Assert.False(before[i].SequenceEqual(after[i]), trained.TrainableWeights[i].Path);
    }

    [Fact]
    public void BadInputsAndArgumentsAreRefused()
    {
        Assert.Contains("score_mode", Assert.Throws<ArgumentException>(() => new Attention(scoreMode: "general")).Message);
        Assert.Contains("[query, value]", Assert.Throws<ArgumentException>(() => new Attention().Apply(Keras.Input([3, 4]))).Message);
        Assert.Contains("[query, value]", Assert.Throws<ArgumentException>(() => new Attention().Apply([Keras.Input([3, 4])])).Message);
        var kw = Assert.Throws<NotSupportedException>(() => new Attention().ApplyWithKwargs([Keras.Input([3, 4]), Keras.Input([3, 4])],
            new Dictionary<string, object?> { ["attention_mask"] = true }));
        Assert.Contains("no call argument 'attention_mask'", kw.Message);
    }
}
