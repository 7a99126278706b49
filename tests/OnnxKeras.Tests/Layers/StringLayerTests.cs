using System.Text;
using Google.Protobuf;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// FarmHash Fingerprint64 and SipHash-2-4 against published vectors, and Hashing, StringLookup and TextVectorization
/// against Keras 3's docstring examples (keras/src/layers/preprocessing/*.py) and hand-worked values.
/// </summary>
public class StringLayerTests
{
    private static long[] Ints(KTensor t) => t.Value.contiguous().data<long>().ToArray();

    private static float[] Floats(KTensor t) => t.Value.contiguous().data<float>().ToArray();

    private static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-6f);
    }

    private static T RoundTripConfig<T>(T layer) where T : Layer
    {
        // Through JSON text, as a .keras config.json holds it.
        var json = ConfigJson.Write(layer.GetConfig());
        var parsed = (IDictionary<string, object?>)ModelConfig.ParseJson(json)!;
        var config = new LayerConfig();
        foreach (var (k, v) in parsed) config[k] = v;
        var rebuilt = (T)LayerRegistry.FromConfig(typeof(T), config);
        Assert.Equal(json, ConfigJson.Write(rebuilt.GetConfig()));
        return rebuilt;
    }

    // ------------------------------------------------------------------ hashes

    [Theory]
    // Fingerprint64 (farmhashna::Hash64) values from tecnickcom/farmhash64's test table (c/test/test_farmhash64.c),
    // one or more per length branch: 0, 1-3, 4-7, 8-16, 17-32, 33-64 and over 64 bytes.
    [InlineData("", 0x9ae16a3b2f90404fUL)]
    [InlineData("a", 0xb3454265b6df75e3UL)]
    [InlineData("abc", 0x24a5b3a074e7f369UL)]
    [InlineData("abcd", 0x1a5502de4a1f8101UL)]
    [InlineData("abcdefgh", 0xfee9d22990c82909UL)]
    [InlineData("0123456789@0123", 0x5361eae17c1ff6bcUL)]
    [InlineData("0123456789=012345", 0x46a7416ed4861e3bUL)]
    [InlineData("0123456789%0123456789£", 0x4dbd128af51d77e8UL)]
    [InlineData("C is as portable as Stonehedge!!", 0xb944f8a16261e414UL)]
    [InlineData("Discard medicine more than two years old.", 0xe8f89ab6df9bdd25UL)]
    [InlineData("If the enemy is within range, then so are you.", 0xbdd69b798d6ba37aUL)]
    [InlineData("Even if I could be Shakespeare, I think I should still choose to be Faraday. - A. Huxley", 0x5a05644eb66e435eUL)]
    [InlineData("The fugacity of a constituent in a mixture of gases at a given temperature is proportional to its mole fraction.  " +
        "Lewis-Randall Rule", 0x098eff6958c5e91aUL)]
    public void FarmHashFingerprint64_MatchesPublishedValues(string text, ulong expected) =>
        Assert.Equal(expected, FarmHash.Fingerprint64(text));

    [Fact]
    public void SipHash24_MatchesThePapersVector()
    {
        // SipHash paper (Aumasson, Bernstein), appendix A: key 00..0f, message 00..0e -> a129ca6149be45e5.
        var message = Enumerable.Range(0, 15).Select(i => (byte)i).ToArray();
        Assert.Equal(0xa129ca6149be45e5UL, SipHash.Hash(0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL, message));
    }

    // ------------------------------------------------------------------ Hashing

    [Fact]
    public void Hashing_MatchesKerasDocstrings()
    {
        string[] abcde = ["A", "B", "C", "D", "E"];
        Assert.Equal(new long[] { 1, 0, 1, 1, 2 }, Ints(new Hashing(3).Call(abcde)));
        Assert.Equal(new long[] { 1, 1, 0, 2, 2 }, Ints(new Hashing(3, maskValue: "").Call(["A", "B", "", "C", "D"])));
        Assert.Equal(new long[] { 1, 2, 1, 0, 2 }, Ints(new Hashing(3, salt: [133, 137]).Call(abcde)));
        Assert.Equal(new long[] { 0, 0, 2, 1, 0 }, Ints(new Hashing(3, salt: [133]).Call(abcde)));
    }

    [Fact]
    public void Hashing_IntegersHashTheirDecimalText_AndEncode()
    {
        var layer = new Hashing(7, maskValue: 0L);
        long Expected(long v) => v == 0 ? 0 : 1 + (long)(FarmHash.Fingerprint64(v.ToString(System.Globalization.CultureInfo.InvariantCulture)) % 6);
        long[] values = [0, 5, -12, 1234567]; // exact in float32
        var y = layer.Apply(new KTensor(tensor(new float[] { 0, 5, -12, 1234567 }, [2, 2])));
        Assert.Equal(values.Select(Expected).ToArray(), Ints(y));
        // count over each row of bins
        var counts = new Hashing(4, outputMode: "count").Call(new[,] { { "x", "x", "y" } });
        var expected = new float[4];
        foreach (var s in new[] { "x", "x", "y" }) expected[FarmHash.Fingerprint64(s) % 4]++;
        Assert.Equal(expected, Floats(counts));
        Assert.Equal(new long[] { 1, 4 }, counts.Value.shape);
    }

    [Fact]
    public void Hashing_Harness_NoOnnxForm() => LayerTestHarness.Run(new Hashing(5), [3], [3], 0, 0, supportsTraining: false,
        inputRange: 50, integerInputs: true, noOnnxForm: "FarmHash of the value's decimal text has no standard ONNX op");

    [Fact]
    public void Hashing_ConfigWritesKerasDtype_AndRefusesBadArguments()
    {
        var layer = RoundTripConfig(new Hashing(3, maskValue: "", salt: [133]));
        Assert.Equal("int64", layer.GetConfig()["dtype"]);
        Assert.Equal(new long[] { 133, 133 }, layer.Salt);
        Assert.Equal("float32", new Hashing(3, outputMode: "multi_hot").GetConfig()["dtype"]);
        Assert.Throws<ArgumentException>(() => new Hashing(0));
        Assert.Throws<ArgumentException>(() => new Hashing(3, outputMode: "tf_idf"));
        Assert.Throws<ArgumentException>(() => new Hashing(3, salt: [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => new Hashing(3, maskValue: 1.5));
        Assert.Throws<ArgumentException>(() => new Hashing(3, outputMode: "count", sparse: true));
        using var model = new Sequential(new InputLayer([2]), new Hashing(3));
        var e = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _, new OnnxExportOptions()));
        Assert.Contains("Hashing", e.Message);
    }

    // ------------------------------------------------------------------ StringLookup

    [Fact]
    public void StringLookup_MatchesKerasDocstrings()
    {
        string[] vocab = ["a", "b", "c", "d"];
        Assert.Equal(new long[] { 1, 3, 4, 4, 0, 2 }, Ints(new StringLookup(vocabulary: vocab).Call(new[,] { { "a", "c", "d" }, { "d", "z", "b" } })));
        // num_oov_indices=2: "m" and "z" hash (FarmHash mod 2) to 0 and 1.
        Assert.Equal(new long[] { 2, 4, 5, 0, 1, 3 },
            Ints(new StringLookup(vocabulary: vocab, numOovIndices: 2).Call(new[,] { { "a", "c", "d" }, { "m", "z", "b" } })));
        var data = new[,] { { "a", "c", "d", "d" }, { "d", "z", "b", "z" } };
        Assert.Equal(new float[] { 0, 1, 0, 1, 1, 1, 0, 1, 0, 1 }, Floats(new StringLookup(vocabulary: vocab, outputMode: "multi_hot").Call(data)));
        Assert.Equal(new float[] { 0, 1, 0, 1, 2, 2, 0, 1, 0, 1 }, Floats(new StringLookup(vocabulary: vocab, outputMode: "count").Call(data)));
        Near([0, 0.25f, 0, 0.6f, 0.8f, 1.0f, 0, 0.75f, 0, 0.4f],
            Floats(new StringLookup(vocabulary: vocab, idfWeights: [0.25, 0.75, 0.6, 0.4], outputMode: "tf_idf").Call(data)));
        var inverse = new StringLookup(vocabulary: vocab, invert: true);
        Assert.Equal(["a", "c", "d", "d", "[UNK]", "b"], inverse.CallInverted([1, 3, 4, 4, 0, 2]));
    }

    [Fact]
    public void StringLookup_Adapt_OrdersByCountThenUtf8BytesDescending_AndMasks()
    {
        // Counts: b 2, a 2, é 1, c 1. Ties by token descending in UTF-8 bytes: b > a, é (0xC3 0xA9) > c.
        var layer = new StringLookup(maskToken: "");
        layer.Adapt(new[] { "b", "a", "b", "é", "c", "a", "", "[UNK]" });
        Assert.Equal(["", "[UNK]", "b", "a", "é", "c"], layer.GetVocabulary());
        Assert.Equal(new long[] { 0, 2, 4, 1 }, Ints(layer.Call(["", "b", "é", "zz"])));
        // max_tokens 4 keeps "", "[UNK]" and the 2 most frequent.
        var small = new StringLookup(maxTokens: 4, maskToken: "");
        small.Adapt(new[] { "b", "a", "b", "é", "c", "a" });
        Assert.Equal(["", "[UNK]", "b", "a"], small.GetVocabulary());
    }

    [Fact]
    public void StringLookup_AdaptedVocabulary_RoundTripsThroughConfigAndKerasFile()
    {
        var layer = new StringLookup(outputMode: "tf_idf");
        layer.Adapt(new[] { new[] { "x", "y" }, ["y"], ["y", "z"] });
        // y in 3 docs, x and z in 1: idf(y) = ln(1 + 3/4), idf(x) = idf(z) = ln(1 + 3/2); OOV weight the mean.
        Assert.Equal(["[UNK]", "y", "z", "x"], layer.GetVocabulary());
        float y = (float)Math.Log(1 + 3.0 / 4), xz = (float)Math.Log(1 + 3.0 / 2), mean = (y + xz + xz) / 3;
        Near([mean, y, xz, xz], layer.IdfWeights!.Select(w => (float)w).ToArray());
        var rebuilt = RoundTripConfig(layer);
        Assert.Equal(layer.GetVocabulary(), rebuilt.GetVocabulary());
        Assert.Equal(layer.IdfWeights, rebuilt.IdfWeights);
        Near([0, 2 * y, 0, xz], Floats(rebuilt.Call(["y", "x", "y"])));

        var input = Keras.Input(new Shape(2));
        using var model = new Model(input, layer.Apply(input));
        var dir = Directory.CreateTempSubdirectory("onnxkeras-strlookup-");
        try
        {
            string path = Path.Combine(dir.FullName, "m.keras");
            model.Save(path);
            using var loaded = Model.LoadModel(path);
            var restored = loaded.Layers.OfType<StringLookup>().Single();
            Assert.Equal(layer.GetVocabulary(), restored.GetVocabulary());
            Assert.Equal(layer.IdfWeights, restored.IdfWeights);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void StringLookup_OnTensors_AndInExport_SaysToRunItInDotNet()
    {
        var layer = new StringLookup(vocabulary: ["a"]);
        var e = Assert.Throws<NotSupportedException>(() => layer.Call(new KTensor(zeros(2))));
        Assert.Contains("StringLookup.Call(string[])", e.Message);
        var input = Keras.Input(new Shape(2));
        using var model = new Model(input, new Dense(1).Apply(new StringLookup(vocabulary: ["a"], outputMode: "multi_hot").Apply(input)));
        var export = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _, new OnnxExportOptions()));
        Assert.Contains("StringLookup", export.Message);
    }

    [Fact]
    public void StringLookup_BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new StringLookup(encoding: "latin-1"));
        Assert.Throws<ArgumentException>(() => new StringLookup(vocabulary: ["a", "a"]));
        Assert.Throws<ArgumentException>(() => new StringLookup(vocabulary: ["a", null!]));
        Assert.Throws<ArgumentException>(() => new StringLookup(maskToken: "", vocabulary: ["a", ""]));
        Assert.Throws<ArgumentException>(() => new StringLookup(invert: true, vocabulary: ["a", "[UNK]"]));
        Assert.Throws<ArgumentException>(() => new StringLookup(numOovIndices: 0, vocabulary: ["a"]).Call(["b"]));
        Assert.Throws<InvalidOperationException>(() => new StringLookup().Call(["a"]));
        Assert.Throws<InvalidOperationException>(() => new StringLookup(vocabulary: ["a"]).CallInverted([1]));
        Assert.Throws<InvalidOperationException>(() => new StringLookup(vocabulary: ["a"], invert: true).Call(["a"]));
    }

    // ------------------------------------------------------------------ TextVectorization

    [Fact]
    public void TextVectorization_MatchesKerasDocstrings()
    {
        // text_vectorization.py: adapt ["foo bar", "bar baz", "baz bada boom"], output_sequence_length 4.
        var layer = new TextVectorization(maxTokens: 5000, outputSequenceLength: 4);
        layer.Adapt(new[] { "foo bar", "bar baz", "baz bada boom" });
        Assert.Equal(new long[] { 4, 1, 3, 0, 1, 2, 0, 0 }, Ints(layer.Call(["foo qux bar", "qux baz"])));
        var given = new TextVectorization(maxTokens: 5000, outputSequenceLength: 4, vocabulary: ["earth", "wind", "and", "fire"]);
        Assert.Equal(["", "[UNK]", "earth", "wind", "and", "fire"], given.GetVocabulary());
    }

    [Fact]
    public void TextVectorization_StandardizeSplitNgrams_ByHand()
    {
        var layer = new TextVectorization(vocabulary: ["x"]);
        // ASCII lower-casing only (TensorFlow's strings.lower), ASCII punctuation stripped, whitespace runs split.
        Assert.Equal(["hello", "wörld", "Ä", "its", "email"], layer.Tokenize("  HeLLo,\tWörld!\n Ä it's e-mail. "));
        Assert.Equal(["a", "b", "c", "a b", "b c"], new TextVectorization(ngrams: 2, vocabulary: ["x"]).Tokenize("a b c"));
        Assert.Equal(["a b", "b c"], new TextVectorization(ngrams: new[] { 2 }, vocabulary: ["x"]).Tokenize("a b c"));
        Assert.Equal(["a", "😀", " ", "b"], new TextVectorization(split: "character", standardize: "lower", vocabulary: ["x"]).Tokenize("A😀 B"));
        Assert.Equal(["A b,"], new TextVectorization(split: null, standardize: null, vocabulary: ["x"]).Tokenize("A b,"));
    }

    [Fact]
    public void TextVectorization_Encodings_ByHand()
    {
        // Vocabulary in multi_hot/count: [UNK], the, cat, sat (the mask "" is not an index there).
        string[] vocab = ["the", "cat", "sat"];
        string[] texts = ["The cat, the cat!", "dog sat"];
        Assert.Equal(new float[] { 0, 1, 1, 0, 1, 0, 0, 1 }, Floats(new TextVectorization(outputMode: "multi_hot", vocabulary: vocab).Call(texts)));
        Assert.Equal(new float[] { 0, 2, 2, 0, 1, 0, 0, 1 }, Floats(new TextVectorization(outputMode: "count", vocabulary: vocab).Call(texts)));
        // tf_idf: count x idf, OOV weight the mean of the given weights (1 + 2 + 3) / 3 = 2.
        var tfidf = new TextVectorization(outputMode: "tf_idf", vocabulary: vocab, idfWeights: [1, 2, 3]);
        Near([0, 2, 4, 0, 2, 0, 0, 3], Floats(tfidf.Call(texts)));
        // pad_to_max_tokens: 6 columns.
        var padded = new TextVectorization(maxTokens: 6, outputMode: "count", padToMaxTokens: true, vocabulary: vocab);
        Assert.Equal(new long[] { 2, 6 }, padded.Call(texts).Value.shape);
        // int without output_sequence_length pads to the longest text: [the cat the cat] and [dog sat] -> [1, 4, 0, 0].
        var ints = new TextVectorization(vocabulary: vocab).Call(texts);
        Assert.Equal(new long[] { 2, 3, 2, 3, 1, 4, 0, 0 }, Ints(ints));
        // output_sequence_length 3 cuts.
        Assert.Equal(new long[] { 2, 3, 2, 1, 4, 0 }, Ints(new TextVectorization(outputSequenceLength: 3, vocabulary: vocab).Call(texts)));
    }

    [Fact]
    public void TextVectorization_AdaptTfIdf_AndConfigRoundTrip()
    {
        var layer = new TextVectorization(outputMode: "tf_idf", ngrams: 2);
        layer.Adapt(new[] { "a b", "a" });
        // Tokens: doc1 [a, b, "a b"], doc2 [a]. Counts: a 2, b 1, "a b" 1 -> ties descending: b > "a b".
        Assert.Equal(["[UNK]", "a", "b", "a b"], layer.GetVocabulary());
        float ia = (float)Math.Log(1 + 2.0 / 3), ib = (float)Math.Log(1 + 2.0 / 2), mean = (ia + ib + ib) / 3;
        Near([mean, ia, ib, ib], layer.IdfWeights!.Select(w => (float)w).ToArray());
        var rebuilt = RoundTripConfig(layer);
        Assert.Equal(2L, Convert.ToInt64(rebuilt.GetConfig()["ngrams"], System.Globalization.CultureInfo.InvariantCulture));
        // "c a b" -> c, a, b, "c a", "a b": OOV twice, the others once.
        Near([2 * mean, ia, ib, ib], Floats(rebuilt.Call(["c a b"])));
    }

    [Fact]
    public void TextVectorization_BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new TextVectorization(standardize: "upper"));
        Assert.Throws<ArgumentException>(() => new TextVectorization(split: "comma"));
        Assert.Throws<ArgumentException>(() => new TextVectorization(outputMode: "count", outputSequenceLength: 3));
        Assert.Throws<ArgumentException>(() => new TextVectorization(ragged: true));
        Assert.Throws<ArgumentException>(() => new TextVectorization(ngrams: 0));
        Assert.Throws<ArgumentException>(() => new TextVectorization(outputMode: "one_hot"));
        Assert.Throws<InvalidOperationException>(() => new TextVectorization().Call(["a"]));
        Assert.Throws<NotSupportedException>(() => new TextVectorization(vocabulary: ["a"]).Call(new KTensor(zeros(1))));
    }

    // ------------------------------------------------------------------ string inputs in OnnxModel

    /// <summary>A graph string[N] -> ai.onnx.ml LabelEncoder -> int64[N], written by hand (keys to values, default).</summary>
    private static byte[] StringLabelEncoderModel(string[] keys, long[] values, long fallback)
    {
        static OnnxKeras.Export.Onnx.ValueInfoProto Info(string name, int elem) => new()
        {
            Name = name,
            Type = new() { TensorType = new() { ElemType = elem, Shape = new() { Dim = { new OnnxKeras.Export.Onnx.TensorShapeProto.Types.Dimension { DimParam = "n" } } } } },
        };
        var node = new OnnxKeras.Export.Onnx.NodeProto { OpType = "LabelEncoder", Domain = "ai.onnx.ml", Input = { "text" }, Output = { "ids" } };
        var k = new OnnxKeras.Export.Onnx.AttributeProto { Name = "keys_strings", Type = OnnxKeras.Export.Onnx.AttributeProto.Types.AttributeType.Strings };
        k.Strings.AddRange(keys.Select(ByteString.CopyFromUtf8));
        var v = new OnnxKeras.Export.Onnx.AttributeProto { Name = "values_int64s", Type = OnnxKeras.Export.Onnx.AttributeProto.Types.AttributeType.Ints };
        v.Ints.AddRange(values);
        node.Attribute.Add(k);
        node.Attribute.Add(v);
        node.Attribute.Add(new OnnxKeras.Export.Onnx.AttributeProto
        {
            Name = "default_int64",
            Type = OnnxKeras.Export.Onnx.AttributeProto.Types.AttributeType.Int,
            I = fallback,
        });
        var model = new OnnxKeras.Export.Onnx.ModelProto
        {
            IrVersion = 8,
            Graph = new() { Name = "lookup", Node = { node }, Input = { Info("text", 8) }, Output = { Info("ids", 7) } },
        };
        model.OpsetImport.Add(new OnnxKeras.Export.Onnx.OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OnnxKeras.Export.Onnx.OperatorSetIdProto { Domain = "ai.onnx.ml", Version = 2 });
        return model.ToByteArray();
    }

    [Fact]
    public void OnnxModel_TakesStringInputs_AndAStringLabelEncoderMatchesStringLookup()
    {
        // The vocabulary's indices as StringLookup assigns them (OOV 0, tokens from 1), written into the graph by hand.
        var lookup = new StringLookup(vocabulary: ["cat", "dog", "é"]);
        using var session = OnnxModel.Load(StringLabelEncoderModel(["cat", "dog", "é"], [1, 2, 3], 0));
        string[] texts = ["dog", "bird", "é", "cat", ""];
        var result = session.Predict(new TensorInput(texts, texts.Length));
        Assert.Equal(new long[] { 2, 0, 3, 1, 0 }, result.GetData<long>());
        Assert.Equal(Ints(lookup.Call(texts)), result.GetData<long>());
        // Wrong element type and null strings are refused with clear messages.
        Assert.Throws<ArgumentException>(() => session.Predict(new TensorInput(new float[] { 1 }, 1)));
        Assert.Throws<ArgumentException>(() => new TensorInput(new string[] { "a", null! }, 2));
    }
}

/// <summary>StringLookup's own ONNX model (string input): ONNX Runtime through OnnxModel against the layer in .NET, every mode and opset.</summary>
public class StringLookupExportTests
{
    public static TheoryData<string, int> ModesAndOpsets()
    {
        var data = new TheoryData<string, int>();
        foreach (var mode in new[] { "int", "one_hot", "multi_hot", "count", "tf_idf" })
        {
            foreach (int opset in OnnxKeras.Tests.Export.OnnxTestHelpers.Opsets) data.Add(mode, opset);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ModesAndOpsets))]
    public void Export_MatchesDotNet(string mode, int opset)
    {
        var layer = new StringLookup(maskToken: "", vocabulary: ["the", "cat", "é"], outputMode: mode,
            idfWeights: mode == "tf_idf" ? [0.5, 1.5, 2] : null);
        var bytes = layer.ExportOnnxBytes(new OnnxExportOptions { Opset = opset, Verify = true });
        using var session = OnnxModel.Load(bytes);
        var grid = new[,] { { "the", "", "dog", "cat" }, { "é", "é", "the", "" } };
        var onnx = session.Predict(new TensorInput(grid.Cast<string>().ToArray(), 2, 4));
        using var expected = layer.Call(grid).Value;
        Assert.Equal(expected.shape, onnx.Shape);
        if (mode == "int")
        {
            // By hand: mask "" -> 0, OOV -> 1, the -> 2, cat -> 3, é -> 4.
            Assert.Equal(new long[] { 2, 0, 1, 3, 4, 4, 2, 0 }, onnx.GetData<long>());
            return;
        }
        Assert.Equal(expected.data<float>().ToArray(), onnx.Data);
        if (mode == "count") Assert.Equal(new float[] { 1, 1, 1, 0, 0, 1, 0, 2 }, onnx.Data); // [UNK], the, cat, é
    }

    [Fact]
    public void Export_RefusesWhatHasNoOnnxForm()
    {
        Assert.Throws<NotSupportedException>(() => new StringLookup(numOovIndices: 2, vocabulary: ["a"]).ExportOnnxBytes());
        Assert.Throws<NotSupportedException>(() => new StringLookup(invert: true, vocabulary: ["a"]).ExportOnnxBytes());
        Assert.Throws<InvalidOperationException>(() => new StringLookup().ExportOnnxBytes());
    }
}
