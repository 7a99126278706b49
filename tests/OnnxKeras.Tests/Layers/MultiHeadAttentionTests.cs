using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Tests.Export;
using OnnxKeras.Tests.Saving;
using PureHDF;
using Xunit;
using static OnnxKeras.Tests.Layers.FamilyTestUtil;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

public class MultiHeadAttentionTests
{
    private static Tensor Rand(int seed, params long[] shape) => rand(shape, ScalarType.Float32, generator: new Generator((ulong)seed)) * 2 - 1;

    /// <summary>The plain-loop reference on the layer's current weights.</summary>
    private static (double[] Output, double[] Weights) Reference(MultiHeadAttention mha, Tensor q, Tensor v, Tensor? k,
        Func<int, int, int, bool>? mask)
    {
        k ??= v;
        int b = (int)q.shape[0], t = (int)q.shape[1], s = (int)v.shape[1];
        float[]? Bias(EinsumDense d) => d.Bias?.ToArray();
        return AttentionReference.Mha(Values(q), Values(v), Values(k), b, t, s, (int)q.shape[2], (int)v.shape[2], (int)k.shape[2],
            mha.NumHeads, mha.KeyDim, mha.ValueDim, (int)mha.OutputDense.Kernel.Shape[^1]!.Value,
            mha.QueryDense.Kernel.ToArray(), Bias(mha.QueryDense), mha.KeyDense.Kernel.ToArray(), Bias(mha.KeyDense),
            mha.ValueDense.Kernel.ToArray(), Bias(mha.ValueDense), mha.OutputDense.Kernel.ToArray(), Bias(mha.OutputDense), mask);
    }

    private static void AssertClose(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"[{i}] {expected[i]} vs {actual[i]}");
    }

    private static void Randomize(Layer layer, int seed)
    {
        var g = new Generator((ulong)seed);
        foreach (var w in layer.Weights) w.Assign(((rand(w.Value.shape, ScalarType.Float32, generator: g) * 1.6) - 0.8).data<float>().ToArray());
    }

    [Fact]
    public void WeightsHaveKerasNamesShapesAndOrder()
    {
        var mha = new MultiHeadAttention(numHeads: 2, keyDim: 3, valueDim: 4);
        var q = Keras.Input([5, 6]);
        var v = Keras.Input([7, 8]);
        var y = mha.Apply(q, v);
        Assert.Equal(new Shape(null, 5, 6), y.Shape);
        Assert.Equal(["query", "key", "value", "attention_output"], mha.Sublayers.Select(l => l.Name));
        Assert.Equal(new[] { "abc,cde->abde", "abc,cde->abde", "abc,cde->abde", "abcd,cde->abe" }, mha.Sublayers.Select(l => ((EinsumDense)l).Equation));
        Assert.Equal(new[] { Shape.Of(6, 2, 3), Shape.Of(2, 3), Shape.Of(8, 2, 3), Shape.Of(2, 3), Shape.Of(8, 2, 4), Shape.Of(2, 4),
            Shape.Of(2, 4, 6), Shape.Of(6) }, mha.Weights.Select(w => w.Shape));
        Assert.Equal(new[] { "kernel", "bias", "kernel", "bias", "kernel", "bias", "kernel", "bias" }, mha.Weights.Select(w => w.Name));
        Assert.Equal(4, new MultiHeadAttention(2, 3, useBias: false).Apply(q, v).Shape.Rank == 3 ? 4 : 0);
        var noBias = new MultiHeadAttention(2, 3, useBias: false, outputShape: [9]);
        Assert.Equal(new Shape(null, 5, 9), noBias.Apply(q, v).Shape);
        Assert.Equal(4, noBias.Weights.Count);
    }

    [Fact]
    public void SelfAttentionMatchesLoops()
    {
        // 2 heads, key_dim 2, sequence 3, features 4: the brief's tiny case.
        var mha = new MultiHeadAttention(numHeads: 2, keyDim: 2);
        var x = Rand(1, 2, 3, 4);
        mha.Apply(x, x);
        Randomize(mha, 2);
        var (output, scores) = mha.ApplyWithScores(x, x);
        var (expected, expectedWeights) = Reference(mha, x, x, null, null);
        AssertClose(expected, Values(output));
        AssertClose(expectedWeights, Values(scores));
        Assert.Equal(new long[] { 2, 2, 3, 3 }, scores.Value.shape);
    }

    [Fact]
    public void CrossAttentionWithKeyMaskAndOutputShapeMatchesLoops()
    {
        var mha = new MultiHeadAttention(numHeads: 2, keyDim: 2, valueDim: 3, outputShape: [5]);
        Tensor q = Rand(3, 2, 3, 4), v = Rand(4, 2, 4, 6), k = Rand(5, 2, 4, 2);
        bool Allowed(int b, int t, int s) => (b + t + s) % 3 != 0;
        var maskValues = new float[2 * 3 * 4];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 3; t++)
                for (int s = 0; s < 4; s++) maskValues[(b * 3 + t) * 4 + s] = Allowed(b, t, s) ? 1 : 0;
        var mask = T(maskValues, 2, 3, 4);
        mha.Apply(q, v, k);
        Randomize(mha, 6);
        var (output, scores) = mha.ApplyWithScores(q, v, k, attentionMask: mask);
        var (expected, expectedWeights) = Reference(mha, q, v, k, Allowed);
        Assert.Equal(new long[] { 2, 3, 5 }, output.Value.shape);
        AssertClose(expected, Values(output));
        AssertClose(expectedWeights, Values(scores));
        // A boolean mask gives the same result as its 0/1 form.
        AssertClose(expected, Values(mha.Apply(q, v, k, attentionMask: mask.to_type(ScalarType.Bool))));
    }

    [Fact]
    public void CausalMaskHidesTheFuture()
    {
        var mha = new MultiHeadAttention(numHeads: 2, keyDim: 2);
        var x = Rand(7, 1, 4, 4);
        mha.Apply(x, x);
        Randomize(mha, 8);
        var (output, scores) = mha.ApplyWithScores(x, x, useCausalMask: true);
        var (expected, expectedWeights) = Reference(mha, x, x, null, (b, t, s) => s <= t);
        AssertClose(expected, Values(output));
        AssertClose(expectedWeights, Values(scores));
        // Changing the last timestep changes only the last output row.
        var changed = x.clone();
        changed[0, 3] = Rand(9, 4);
        var after = Values(mha.Apply(changed, changed, useCausalMask: true));
        var before = Values(output);
        for (int i = 0; i < 3 * 4; i++) Assert.Equal(before[i], after[i]);
        Assert.NotEqual(before[15], after[15]);
    }

    [Fact]
    public void KerasMasksOfQueryAndValueAreCombined()
    {
        // Keras's _compute_attention_mask: query mask [B, T, 1] and value mask [B, 1, S], and-ed; the output keeps the query mask.
        var mha = new MultiHeadAttention(numHeads: 2, keyDim: 2);
        var x = Rand(10, 2, 3, 4);
        mha.Apply(x, x);
        Randomize(mha, 11);
        bool[,] keep = { { true, true, false }, { true, false, true } };
        var maskTensor = tensor(new[] { true, true, false, true, false, true }, [2, 3]);
        var masked = new KTensor(x).WithMask(maskTensor);
        var output = mha.Apply(masked, masked);
        var (expected, _) = Reference(mha, x, x, null, (b, t, s) => keep[b, t] && keep[b, s]);
        AssertClose(expected, Values(output));
        Assert.NotNull(output.Mask);
        Assert.Equal(Values(maskTensor.to_type(ScalarType.Float32)), Values(output.Mask!.Value.to_type(ScalarType.Float32)));
    }

    [Fact]
    public void ConfigRoundTripsAndUnsupportedArgumentsAreRefused()
    {
        var mha = new MultiHeadAttention(2, 3, valueDim: 4, dropout: 0.2, useBias: false, outputShape: [7], attentionAxes: [1],
            kernelInitializer: "he_uniform", kernelRegularizer: Regularizers.L2(0.1), seed: 9);
        var config = mha.GetConfig();
        Assert.Equal(LayerTestHarness.Canon(config), LayerTestHarness.Canon(LayerRegistry.FromConfig(typeof(MultiHeadAttention), config).GetConfig()));
        foreach (var key in new[] { "num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape", "attention_axes", "kernel_initializer",
            "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint", "seed" })
            Assert.True(config.ContainsKey(key), key);
        Assert.Equal(3, new MultiHeadAttention(2, 3).ValueDim);

        var axes = Assert.Throws<NotSupportedException>(() => new MultiHeadAttention(2, 3, attentionAxes: [2]).Apply(Keras.Input([3, 4, 5]), Keras.Input([3, 4, 5])));
        Assert.Contains("attention_axes [2]", axes.Message);
        Assert.Contains("num_heads", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(0, 3)).Message);
        var one = Assert.Throws<ArgumentException>(() => new MultiHeadAttention(2, 3).Apply(Keras.Input([3, 4])));
        Assert.Contains("takes query and value", one.Message);
        var kw = Assert.Throws<NotSupportedException>(() => new MultiHeadAttention(2, 3).ApplyWithKwargs(
            [Keras.Input([3, 4]), Keras.Input([3, 4])], new Dictionary<string, object?> { ["bogus"] = true }));
        Assert.Contains("no call argument 'bogus'", kw.Message);
    }

    [Fact]
    public void FunctionalModelWithMaskInputCausalMaskAndScoresExportsAtEveryOpset()
    {
        Keras.SetRandomSeed(3);
        var q = Keras.Input([3, 4], name: "q");
        var v = Keras.Input([4, 6], name: "v");
        var m = Keras.Input([3, 4], name: "m");
        var mha = new MultiHeadAttention(numHeads: 2, keyDim: 2, valueDim: 3);
        var (output, scores) = mha.ApplyWithScores(q, v, attentionMask: m);
        Assert.Equal(new Shape(null, 2, 3, 4), scores.Shape);
        using var model = new Model([q, v, m], [output, scores]);
        OnnxTestHelpers.RandomizeWeights(model, 5);
        var mask = (rand(2, 3, 4, generator: new Generator(4)) > 0.3).to_type(ScalarType.Float32);
        foreach (int opset in OnnxTestHelpers.Opsets)
        {
            var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
            Assert.Equal(opset, report.Opset);
            OnnxTestHelpers.AssertParityOn(model, bytes, Rand(opset, 2, 3, 4), Rand(opset + 10, 2, 4, 6), mask);
        }

        var x = Keras.Input([4, 4]);
        using var causal = new Model(x, new MultiHeadAttention(2, 2).Apply(x, x, useCausalMask: true));
        OnnxTestHelpers.RandomizeWeights(causal, 6);
        foreach (int opset in OnnxTestHelpers.Opsets)
            OnnxTestHelpers.AssertParityOn(causal, causal.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset }), Rand(opset, 3, 4, 4));
    }

    [Fact]
    public void KeywordArgumentsSurviveJsonYamlAndKerasRoundTrips()
    {
        Keras.SetRandomSeed(5);
        var q = Keras.Input([3, 4], name: "q");
        var v = Keras.Input([3, 4], name: "v");
        var m = Keras.Input([3, 3], name: "m");
        var y = new MultiHeadAttention(2, 2).Apply(q, v, attentionMask: m, useCausalMask: true);
        using var model = new Model([q, v, m], [y], "mha_model");
        OnnxTestHelpers.RandomizeWeights(model, 7);
        string json = model.ToJson();
        var kwargs = (Dictionary<string, object?>)MhaNode(json)["kwargs"]!;
        Assert.Equal(true, kwargs["use_causal_mask"]);
        var maskRef = (Dictionary<string, object?>)kwargs["attention_mask"]!;
        Assert.Equal("__keras_tensor__", maskRef["class_name"]);
        Assert.Equal(2, ((List<object?>)MhaNode(json)["args"]!).Count);
        // Keras 3 rebuilds MultiHeadAttention with build(**shapes_dict).
        var tree = (Dictionary<string, object?>)OnnxKeras.Saving.ModelConfig.ParseJson(json)!;
        var entry = ((List<object?>)((Dictionary<string, object?>)tree["config"]!)["layers"]!).Cast<Dictionary<string, object?>>()
            .Single(l => (string?)l["class_name"] == "MultiHeadAttention");
        var shapes = (Dictionary<string, object?>)((Dictionary<string, object?>)entry["build_config"]!)["shapes_dict"]!;
        Assert.Equal(["query_shape", "value_shape"], shapes.Keys.Order());
        var mask = SavingTestHelpers.ToArray([1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1], [2, 3, 3]);
        EveryLayerRoundTripTests.AssertRoundTrips(model, [SavingTestHelpers.Random(1, 2, 3, 4), SavingTestHelpers.Random(2, 2, 3, 4), mask]);
    }

    private static Dictionary<string, object?> MhaNode(string json)
    {
        var tree = (Dictionary<string, object?>)OnnxKeras.Saving.ModelConfig.ParseJson(json)!;
        var layers = (List<object?>)((Dictionary<string, object?>)tree["config"]!)["layers"]!;
        var entry = layers.Cast<Dictionary<string, object?>>().Single(l => (string?)l["class_name"] == "MultiHeadAttention");
        return (Dictionary<string, object?>)((List<object?>)entry["inbound_nodes"]!)[0]!;
    }

    [Fact]
    public void PositionalCallsAreWrittenAsSeparateArguments()
    {
        // Keras calls mha(query, value, key): three positional args, not one list.
        var q = Keras.Input([3, 4]);
        var v = Keras.Input([5, 4]);
        var k = Keras.Input([5, 2]);
        using var model = new Model([q, v, k], [new MultiHeadAttention(2, 2).ApplyMany([q, v, k])[0]]);
        var node = MhaNode(model.ToJson());
        Assert.Equal(3, ((List<object?>)node["args"]!).Count);
        Assert.All((List<object?>)node["args"]!, a => Assert.IsType<Dictionary<string, object?>>(a));
        using var loaded = Model.FromJson(model.ToJson());
        Assert.Equal(model.ToJson(), loaded.ToJson());
    }

    [Fact]
    public void WeightsFileUsesKerasPathsAndLoadsBack()
    {
        // Keras 3 saves the projections under the MHA's properties query_dense, key_dense, value_dense, output_dense.
        var q = Keras.Input([3, 4]);
        var mha = new MultiHeadAttention(2, 2, valueDim: 3);
        using var model = new Model(q, mha.Apply(q, q));
        OnnxTestHelpers.RandomizeWeights(model, 4);
        using var dir = SavingTestHelpers.NewTempDir();
        var path = dir.File("mha.weights.h5");
        model.SaveWeights(path);
        using (var file = H5File.Open(System.IO.File.OpenRead(path), leaveOpen: false))
        {
            foreach (var (sub, shape) in new[] { ("query_dense", new ulong[] { 4, 2, 2 }), ("key_dense", [4, 2, 2]), ("value_dense", [4, 2, 3]),
                ("output_dense", [2, 3, 4]) })
            {
                Assert.Equal(shape, file.Dataset($"layers/multi_head_attention/{sub}/vars/0").Space.Dimensions);
                Assert.Equal(2, file.Group($"layers/multi_head_attention/{sub}/vars").Children().Count());
            }
        }
        var x = Rand(3, 2, 3, 4);
        var expected = Values(model.Apply(x));
        var q2 = Keras.Input([3, 4]);
        using var other = new Model(q2, new MultiHeadAttention(2, 2, valueDim: 3).Apply(q2, q2));
        other.LoadWeights(path);
        Assert.Equal(expected, Values(other.Apply(x)));
    }

    [Fact]
    public void TrainingStepMovesEveryWeight()
    {
        Keras.SetRandomSeed(12);
        var x = Keras.Input([3, 4]);
        var mha = new MultiHeadAttention(2, 2, dropout: 0.1);
        using var model = new Model(x, mha.Apply(x, x));
        model.Compile(new SGD(0.1), "mse");
        var before = model.TrainableWeights.Select(w => w.ToArray()).ToList();
        Assert.Equal(8, before.Count);
        var logs = model.TrainOnBatch(SavingTestHelpers.Random(3, 4, 3, 4), SavingTestHelpers.Random(4, 4, 3, 4));
        Assert.True(double.IsFinite(logs["loss"]));
        var after = model.TrainableWeights.Select(w => w.ToArray()).ToList();
        for (int i = 0; i < before.Count; i++) Assert.False(before[i].SequenceEqual(after[i]), model.TrainableWeights[i].Path);
    }
}
