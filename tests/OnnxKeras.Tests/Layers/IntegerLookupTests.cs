using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using OnnxKeras.Tests.Export;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// IntegerLookup against Keras 3's rules (keras/src/layers/preprocessing/index_lookup.py and integer_lookup.py): index
/// layout [mask (int mode)] [OOV x num_oov_indices] [tokens], OOV bucket floormod(x, num_oov_indices), adapt ordering by
/// count descending then token descending (np.lexsort(...)[::-1]), tf_idf = count x idf with idf = log(1 + docs / (1 + df))
/// and the OOV weight the mean. Expected values are Keras's docstring examples or worked by hand in each test.
/// </summary>
public class IntegerLookupTests
{
    private static long[] Ints(Layer layer, long[] x, params long[] shape)
    {
        using var scope = NewDisposeScope();
        return layer.Apply(new KTensor(tensor(x, shape)), training: false).Value.contiguous().data<long>().ToArray();
    }

    private static float[] Floats(Layer layer, long[] x, params long[] shape)
    {
        using var scope = NewDisposeScope();
        return layer.Apply(new KTensor(tensor(x, shape)), training: false).Value.contiguous().data<float>().ToArray();
    }

    /// <summary>ONNX Runtime directly (no OnnxKeras code) on one float input, int64 output.</summary>
    internal static long[] RunOrtInt64(byte[] onnx, float[] x, int[] shape)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx, options);
        var feed = Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(),
            new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, shape));
        using var results = session.Run([feed]);
        return results.Single().AsTensor<long>().ToArray();
    }

    private static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-6f);
    }

    // ------------------------------------------------------------------ harness (config, shapes, ONNX at opsets 17-21)

    [Fact]
    public void Harness_Int() => LayerTestHarness.Run(new IntegerLookup(vocabulary: [1, 3, 5, 7]), [3], [3], 0, 0,
        supportsTraining: false, inputRange: 10, integerInputs: true);

    [Fact]
    public void Harness_MaskAndHashedOov() => LayerTestHarness.Run(new IntegerLookup(numOovIndices: 3, maskToken: 0, vocabulary: [2, 4, 6]),
        [4], [4], 0, 0, supportsTraining: false, inputRange: 9, integerInputs: true);

    [Fact]
    public void Harness_Invert() => LayerTestHarness.Run(new IntegerLookup(maskToken: 0, vocabulary: [10, 20, 30], invert: true),
        [3], [3], 0, 0, supportsTraining: false, inputRange: 6, integerInputs: true);

    [Fact]
    public void Harness_MultiHotPadded() => LayerTestHarness.Run(
        new IntegerLookup(maxTokens: 8, maskToken: 0, vocabulary: [1, 2, 3], outputMode: "multi_hot", padToMaxTokens: true),
        [5], [8], 0, 0, supportsTraining: false, inputRange: 6, integerInputs: true);

    [Fact]
    public void Harness_OneHotOfAColumn() => LayerTestHarness.Run(new IntegerLookup(vocabulary: [1, 2, 3], outputMode: "one_hot"),
        [1], [4], 0, 0, supportsTraining: false, inputRange: 5, integerInputs: true);

    [Fact]
    public void Harness_Count() => LayerTestHarness.Run(new IntegerLookup(numOovIndices: 2, vocabulary: [1, 2], outputMode: "count"),
        [6], [4], 0, 0, supportsTraining: false, inputRange: 5, integerInputs: true);

    [Fact]
    public void Harness_TfIdf() => LayerTestHarness.Run(
        new IntegerLookup(vocabulary: [1, 2, 3], idfWeights: [0.5, 0.25, 2], outputMode: "tf_idf"),
        [6], [4], 0, 0, supportsTraining: false, inputRange: 5, integerInputs: true);

    // ------------------------------------------------------------------ values

    [Fact]
    public void Int_MatchesKerasDocstring()
    {
        // integer_lookup.py: vocab [12, 36, 1138, 42], data [[12, 1138, 42], [42, 1000, 36]] -> [[1, 3, 4], [4, 0, 2]].
        var layer = new IntegerLookup(vocabulary: [12, 36, 1138, 42]);
        Assert.Equal(new long[] { 1, 3, 4, 4, 0, 2 }, Ints(layer, [12, 1138, 42, 42, 1000, 36], 2, 3));
        // num_oov_indices=2: OOV 1000 -> floormod(1000, 2) = 0 -> index 0; 13 -> 1; tokens start at 2.
        var two = new IntegerLookup(numOovIndices: 2, vocabulary: [12, 36, 1138, 42]);
        Assert.Equal(new long[] { 2, 4, 5, 5, 0, 3, 1 }, Ints(two, [12, 1138, 42, 42, 1000, 36, 13], 7));
        // Negative OOV values: floormod(-3, 2) = 1 (Python's sign-of-divisor modulo).
        Assert.Equal(new long[] { 1 }, Ints(two, [-3], 1));
        // mask_token 0: index 0 for the mask; OOV at 1; tokens from 2.
        var masked = new IntegerLookup(maskToken: 0, vocabulary: [12, 36, 1138, 42]);
        Assert.Equal(new long[] { 2, 4, 5, 5, 1, 0 }, Ints(masked, [12, 1138, 42, 42, 1000, 0], 6));
        Assert.Equal(new long[] { 0, -1, 12, 36, 1138, 42 }, masked.GetVocabulary());
        Assert.Equal(new long[] { 12, 36, 1138, 42 }, masked.GetVocabulary(includeSpecialTokens: false));
    }

    [Fact]
    public void Invert_MatchesKerasDocstring()
    {
        // integer_lookup.py: vocab [12, 36, 1138, 42], data [[1, 3, 4], [4, 0, 2]] -> [[12, 1138, 42], [42, -1, 36]].
        var layer = new IntegerLookup(vocabulary: [12, 36, 1138, 42], invert: true);
        Assert.Equal(new long[] { 12, 1138, 42, 42, -1, 36 }, Ints(layer, [1, 3, 4, 4, 0, 2], 2, 3));
        // Out-of-range indices are OOV too; with a mask token, index 0 is the mask token.
        var masked = new IntegerLookup(maskToken: 0, oovToken: -7, vocabulary: [12, 36], invert: true);
        Assert.Equal(new long[] { 0, -7, 12, 36, -7 }, Ints(masked, [0, 1, 2, 3, 9], 5));
    }

    [Fact]
    public void Encodings_ByHand()
    {
        // Vocabulary [-1(oov), 12, 36, 1138, 42]; sample [12, 1138, 42, 42] and [42, 7, 36, 7].
        long[] data = [12, 1138, 42, 42, 42, 7, 36, 7];
        var multi = new IntegerLookup(vocabulary: [12, 36, 1138, 42], outputMode: "multi_hot");
        Assert.Equal(new float[] { 0, 1, 0, 1, 1, /**/ 1, 0, 1, 0, 1 }, Floats(multi, data, 2, 4));
        var count = new IntegerLookup(vocabulary: [12, 36, 1138, 42], outputMode: "count");
        Assert.Equal(new float[] { 0, 1, 0, 1, 2, /**/ 2, 0, 1, 0, 1 }, Floats(count, data, 2, 4));
        // one_hot of a column [12, 7, 42]: one row each.
        var oneHot = new IntegerLookup(vocabulary: [12, 36, 1138, 42], outputMode: "one_hot");
        Assert.Equal(new float[] { 0, 1, 0, 0, 0, /**/ 1, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 1 }, Floats(oneHot, [12, 7, 42], 3, 1));
        // The mask token adds nothing in the encodings (Keras maps it past the last bin); padded to max_tokens 7.
        var padded = new IntegerLookup(maxTokens: 7, maskToken: 0, vocabulary: [12, 36], outputMode: "count", padToMaxTokens: true);
        Assert.Equal(new float[] { 1, 2, 0, 0, 0, 0, 0 }, Floats(padded, [0, 12, 12, 0, 99], 1, 5));
    }

    [Fact]
    public void TfIdf_MatchesKerasDocstring()
    {
        // integer_lookup.py: vocab [12, 36, 1138, 42], idf [0.25, 0.75, 0.6, 0.4]; the OOV weight is their mean 0.5.
        long[] data = [12, 1138, 42, 42, 42, 7, 36, 7];
        var layer = new IntegerLookup(outputMode: "tf_idf", vocabulary: [12, 36, 1138, 42], idfWeights: [0.25, 0.75, 0.6, 0.4]);
        Near([0, 0.25f, 0, 0.6f, 0.8f, 1.0f, 0, 0.75f, 0, 0.4f], Floats(layer, data, 2, 4));
        // With the special token in the vocabulary its weight is given: [-1, 12, 36, 1138, 42], idf [0.9, ...] -> OOV 2 x 0.9.
        var full = new IntegerLookup(outputMode: "tf_idf", vocabulary: [-1, 12, 36, 1138, 42], idfWeights: [0.9, 0.25, 0.75, 0.6, 0.4]);
        Near([0, 0.25f, 0, 0.6f, 0.8f, 1.8f, 0, 0.75f, 0, 0.4f], Floats(full, data, 2, 4));
    }

    [Fact]
    public void Adapt_SortsByCountThenLargerTokenFirst_AndTruncates()
    {
        // Counts: 5 x3, 9 x2, 2 x2, 7 x1, 4 x1. Ties by token descending: 9 before 2, 7 before 4.
        var layer = new IntegerLookup();
        layer.Adapt(new long[] { 5, 2, 9, 5, 7, 2, 9, 5, 4 });
        Assert.Equal(new long[] { -1, 5, 9, 2, 7, 4 }, layer.GetVocabulary());
        // max_tokens 4 keeps the OOV index and the 3 most frequent; the mask and OOV tokens are never learned.
        var small = new IntegerLookup(maxTokens: 4, maskToken: 0);
        small.Adapt(new long[,] { { 5, 2, 9, 5 }, { 0, 0, 0, -1 }, { -1, 2, 9, 5 } });
        Assert.Equal(new long[] { 0, -1, 5, 9 }, small.GetVocabulary());
        Assert.Equal(new long[] { 2, 3, 1, 0 }, Ints(small, [5, 9, 2, 0], 4));
    }

    [Fact]
    public void Adapt_TfIdf_WeightsFromDocumentFrequencies()
    {
        // Documents (rows): [1, 1, 2], [2, 3, 3], [1, 4, 4]. Counts: 1 x3, 4 x2, 3 x2, 2 x2 -> vocab [1, 4, 3, 2].
        // df: 1 -> 2 docs, 4 -> 1, 3 -> 1, 2 -> 2. idf = ln(1 + 3 / (1 + df)).
        var layer = new IntegerLookup(outputMode: "tf_idf");
        layer.Adapt(new long[,] { { 1, 1, 2 }, { 2, 3, 3 }, { 1, 4, 4 } });
        Assert.Equal(new long[] { -1, 1, 4, 3, 2 }, layer.GetVocabulary());
        double i1 = Math.Log(1 + 3.0 / 3), i4 = Math.Log(1 + 3.0 / 2), i3 = i4, i2 = i1;
        float mean = ((float)i1 + (float)i4 + (float)i3 + (float)i2) / 4;
        var w = layer.IdfWeights!;
        Near([mean, (float)i1, (float)i4, (float)i3, (float)i2], w.Select(v => (float)v).ToArray());
        // [1, 1, 9]: count(1) = 2, OOV 1.
        Near([mean, 2 * (float)i1, 0, 0, 0], Floats(layer, [1, 1, 9], 1, 3));
    }

    // ------------------------------------------------------------------ state, export, errors

    [Fact]
    public void AdaptedVocabulary_RoundTripsThroughKerasFile()
    {
        var layer = new IntegerLookup(outputMode: "tf_idf");
        layer.Adapt(new long[,] { { 1, 1, 2 }, { 2, 3, 3 }, { 1, 4, 4 } });
        using var model = new Sequential(new InputLayer([3]), layer);
        var input = new float[,] { { 1, 4, 9 }, { 2, 2, 3 } };
        var expected = model.Predict(input).Data;
        var dir = Directory.CreateTempSubdirectory("onnxkeras-lookup-");
        try
        {
            string path = Path.Combine(dir.FullName, "m.keras");
            model.Save(path);
            using var loaded = Model.LoadModel(path);
            var restored = (IntegerLookup)loaded.Layers[^1];
            Assert.Equal(layer.GetVocabulary(), restored.GetVocabulary());
            Assert.Equal(layer.IdfWeights, restored.IdfWeights);
            Assert.Equal(expected, loaded.Predict(input).Data);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void Export_UsesLabelEncoder_AndMatchesOnRawTokens(int opset)
    {
        var layer = new IntegerLookup(numOovIndices: 2, maskToken: 0, vocabulary: [1000, 20, 3]);
        using var model = new Sequential(new InputLayer([4]), layer);
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset, Verify = true });
        var proto = Onnx.ModelProto.Parser.ParseFrom(bytes);
        Assert.Contains(proto.Graph.Node, n => n.OpType == "LabelEncoder" && n.Domain == "ai.onnx.ml");
        Assert.Contains(proto.OpsetImport, o => o.Domain == "ai.onnx.ml" && o.Version == 2);
        var x = new float[] { 1000, 0, 7, -5, 20, 3, 8, 1000 };
        // By hand: mask 0 -> 0; OOV x -> 1 + floormod(x, 2); tokens 1000 -> 3, 20 -> 4, 3 -> 5.
        var onnx = RunOrtInt64(bytes, x, [2, 4]);
        Assert.Equal(new long[] { 3, 0, 2, 2, 4, 5, 1, 3 }, onnx);
        using var scope = NewDisposeScope();
        OnnxTestHelpers.AssertParityOn(model, bytes, tensor(x, [2, 4]));
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new IntegerLookup(maxTokens: 1));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(padToMaxTokens: true));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(numOovIndices: -1));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(outputMode: "bogus"));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(invert: true, outputMode: "count"));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(outputMode: "count", sparse: true));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(vocabulary: [1, 2], idfWeights: [1, 1]));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(vocabulary: [1, 2], outputMode: "tf_idf"));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(vocabulary: [1, 2, 1]));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(maskToken: 0, vocabulary: [1, 0]));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(maxTokens: 3, vocabulary: [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(vocabularyDtype: "int32"));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(oovMethod: "farmhash"));
        Assert.Throws<ArgumentException>(() => new IntegerLookup(vocabulary: []));
        Assert.Throws<InvalidOperationException>(() => new IntegerLookup(vocabulary: [1]).Adapt(new long[] { 1 }));
        Assert.Throws<InvalidOperationException>(() => Ints(new IntegerLookup(), [1], 1));
        var strict = new IntegerLookup(numOovIndices: 0, vocabulary: [1, 2]);
        Assert.Equal(new long[] { 0, 1 }, Ints(strict, [1, 2], 2));
        var e = Assert.Throws<ArgumentException>(() => Ints(strict, [1, 5], 2));
        Assert.Contains("5", e.Message);
    }
}
