using System.IO.Compression;
using System.Text;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using PureHDF;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// Adapted lookup vocabularies in a .keras archive as Keras 3 keeps them: config <c>vocabulary: null</c> and the tokens,
/// special tokens first, one per line joined by "\n", in <c>assets/&lt;object path&gt;/vocabulary.txt</c>
/// (saving_lib.py DiskIOStore; index_lookup.py save_assets/load_assets).
/// </summary>
public class KerasAssetsTests
{
    // The config Keras 3 writes for Sequential([Input((3,), dtype="int64"), IntegerLookup(mask_token=0)]) after adapt:
    // the vocabulary is null (it is in the asset), vocabulary_size is the adapted size with the special tokens, and the
    // dtype is the default policy (IndexLookup drops the dtype argument).
    private const string KerasConfig = """
        {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, "dtype": "float32",
         "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "int64",
           "sparse": false, "name": "input_layer"}, "registered_name": null},
          {"module": "keras.layers", "class_name": "IntegerLookup", "config": {"name": "integer_lookup", "trainable": true,
           "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
           "invert": false, "max_tokens": null, "num_oov_indices": 1, "oov_token": -1, "mask_token": 0,
           "output_mode": "int", "sparse": false, "pad_to_max_tokens": false, "vocabulary_dtype": "int64", "idf_weights": null,
           "vocabulary": null, "vocabulary_size": 5, "oov_method": "floormod"},
           "registered_name": null, "build_config": {"input_shape": [null, 3]}}],
         "build_input_shape": [null, 3]}, "registered_name": null, "build_config": {"input_shape": [null, 3]}}
        """;

    private const string VocabularyEntry = "assets/layers/integer_lookup/vocabulary.txt";

    /// <summary>A .keras zip in Keras's layout; model.weights.h5 from our writer for the same (weightless) model.</summary>
    private static void WriteKerasLayoutFile(string path, string config, IReadOnlyDictionary<string, byte[]> assets, TempDir dir,
        PureHDF.H5File? weightsFile = null)
    {
        var weights = dir.File("w.weights.h5");
        if (weightsFile is not null)
            weightsFile.Write(weights);
        else
        {
            using var twin = new Sequential(new InputLayer([3]), new IntegerLookup(maskToken: 0, vocabulary: [1]));
            twin.SaveWeights(weights);
        }
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string name, byte[] bytes)
        {
            using var s = zip.CreateEntry(name).Open();
            s.Write(bytes);
        }
        Add("metadata.json", Encoding.UTF8.GetBytes("""{"keras_version": "3.9.2", "date_saved": "2026-12-06@07:00:00"}"""));
        Add("config.json", Encoding.UTF8.GetBytes(config));
        Add("model.weights.h5", File.ReadAllBytes(weights));
        foreach (var (name, bytes) in assets) Add(name, bytes);
    }

    private static float[] Indices(Model model, float[,] x) => model.Predict(x).Data;

    /// <summary>The config of the lookup layer (the second, after the InputLayer) in an archive's config.json.</summary>
    private static System.Text.Json.JsonElement LookupLayerConfig(ZipArchive zip)
    {
        using var entry = zip.GetEntry("config.json")!.Open();
        using var config = System.Text.Json.JsonDocument.Parse(entry);
        return config.RootElement.GetProperty("config").GetProperty("layers")[1].GetProperty("config").Clone();
    }

    [Theory]
    [InlineData("0\n-1\n42\n7\n1000")]   // as Keras writes it: no newline at the end
    [InlineData("0\n-1\n42\n7\n1000\n")] // Keras's load_assets drops trailing empty lines
    [InlineData("0\r\n-1\r\n42\r\n7\r\n1000")]
    public void KerasLayoutFile_LoadsTheVocabularyFromItsAsset(string vocabularyTxt)
    {
        using var dir = NewTempDir();
        var path = dir.File("keras.keras");
        WriteKerasLayoutFile(path, KerasConfig, new Dictionary<string, byte[]> { [VocabularyEntry] = Encoding.UTF8.GetBytes(vocabularyTxt) }, dir);
        using var model = Model.LoadModel(path);
        var lookup = Assert.IsType<IntegerLookup>(model.Layers[^1]);
        Assert.Equal(new long[] { 0, -1, 42, 7, 1000 }, lookup.GetVocabulary());
        // By hand: mask 0 -> 0, OOV -> 1, then 42 -> 2, 7 -> 3, 1000 -> 4.
        Assert.Equal(new float[] { 2, 1, 4, 3, 3, 0 }, Indices(model, new float[,] { { 42, 5, 1000 }, { 7, 7, 0 } }));
    }

    [Fact]
    public void SaveWritesTheAdaptedVocabularyAsKerasDoes_AndLoadsIt()
    {
        using var dir = NewTempDir();
        var path = dir.File("ours.keras");
        var lookup = new IntegerLookup(maskToken: 0);
        // Counts: 7 three times, 42 twice, 1000 once (0 is the mask, dropped) -> tokens by count: 7, 42, 1000.
        lookup.Adapt(new long[,] { { 7, 42, 7 }, { 1000, 7, 42 }, { 0, 0, 0 } });
        using (var model = new Sequential(new InputLayer([3]), lookup))
            model.Save(path);
        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.Equal(["metadata.json", "config.json", "model.weights.h5", VocabularyEntry], zip.Entries.Select(e => e.FullName));
            using var r = ReadEntry(zip, VocabularyEntry);
            Assert.Equal("0\n-1\n7\n42\n1000", Encoding.UTF8.GetString(r.ToArray()));
            var layer = LookupLayerConfig(zip);
            Assert.Equal(System.Text.Json.JsonValueKind.Null, layer.GetProperty("vocabulary").ValueKind);
            Assert.Equal(5, layer.GetProperty("vocabulary_size").GetInt64());
        }
        using var loaded = Model.LoadModel(path);
        Assert.Equal(new long[] { 0, -1, 7, 42, 1000 }, ((IntegerLookup)loaded.Layers[^1]).GetVocabulary());
        Assert.Equal(new float[] { 2, 1, 4, 3, 0, 0 }, Indices(loaded, new float[,] { { 7, 9, 1000 }, { 42, 0, 0 } }));
        // Outside a .keras archive (GetConfig, JSON, legacy .h5) the adapted vocabulary stays in the config.
        Assert.Equal(new long[] { 0, -1, 7, 42, 1000 }, (long[])lookup.GetConfig()["vocabulary"]!);
    }

    [Fact]
    public void AGivenVocabularyStaysInTheConfig_WithoutAssets()
    {
        using var dir = NewTempDir();
        var path = dir.File("given.keras");
        using (var model = new Sequential(new InputLayer([3]), new IntegerLookup(vocabulary: [5, 6])))
            model.Save(path);
        using (var zip = ZipFile.OpenRead(path))
            Assert.DoesNotContain(zip.Entries, e => e.FullName.StartsWith("assets/", StringComparison.Ordinal));
        using var loaded = Model.LoadModel(path);
        Assert.Equal(new long[] { -1, 5, 6 }, ((IntegerLookup)loaded.Layers[^1]).GetVocabulary());
    }

    [Theory]
    [InlineData(null, "has no")]                          // the asset is missing
    [InlineData(new byte[] { 0x30, 0x0a, 0xff, 0x0a }, "UTF-8")]
    [InlineData(new byte[] { 0x30, 0x0a, 0x78 }, "line 2")] // "0\nx": not an integer
    [InlineData(new byte[] { 0x30, 0x0a, 0x37, 0x0a, 0x37 }, "repeated")]
    [InlineData(new byte[] { 0x0a, 0x0a }, "empty")]
    public void AMissingOrDamagedAssetIsRefused(byte[]? asset, string message)
    {
        using var dir = NewTempDir();
        var path = dir.File("bad.keras");
        var assets = new Dictionary<string, byte[]>();
        if (asset is not null) assets[VocabularyEntry] = asset;
        WriteKerasLayoutFile(path, KerasConfig, assets, dir);
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadModel(path));
        Assert.Contains("integer_lookup", e.Message);
        Assert.Contains(message, e.Message);
    }

    // An adapted TF-IDF IntegerLookup as Keras 3 writes it: vocabulary and idf_weights null in the config, the tokens in
    // vocabulary.txt and the weights (OOV first) in the layer's idf_weights variable (IndexLookup.save_own_variables).
    private static readonly string KerasTfIdfConfig = KerasConfig.Replace("\"output_mode\": \"int\"", "\"output_mode\": \"tf_idf\"")
        .Replace("\"mask_token\": 0", "\"mask_token\": null").Replace("\"vocabulary_size\": 5", "\"vocabulary_size\": 3");

    private static PureHDF.H5File IdfWeightsFile(float[]? idf) => new()
    {
        ["layers"] = new PureHDF.H5Group
        {
            ["integer_lookup"] = new PureHDF.H5Group
            {
                ["vars"] = idf is null ? new PureHDF.H5Group()
                    : new PureHDF.H5Group { ["idf_weights"] = new PureHDF.H5Dataset(idf, fileDims: [(ulong)idf.Length]) },
            },
        },
        ["vars"] = new PureHDF.H5Group(),
    };

    [Fact]
    public void KerasTfIdfFile_TakesItsWeightsFromTheIdfWeightsVariable()
    {
        using var dir = NewTempDir();
        var path = dir.File("tfidf.keras");
        WriteKerasLayoutFile(path, KerasTfIdfConfig, new Dictionary<string, byte[]> { [VocabularyEntry] = "-1\n42\n7"u8.ToArray() }, dir,
            IdfWeightsFile([0.5f, 1.25f, 2f]));
        using var model = Model.LoadModel(path);
        var lookup = Assert.IsType<IntegerLookup>(model.Layers[^1]);
        Assert.Equal(new long[] { -1, 42, 7 }, lookup.GetVocabulary());
        // Counts times the weights, columns [OOV, 42, 7]: (42, 7, 7) -> 0, 1 * 1.25, 2 * 2; (5, 5, 42) -> 2 * 0.5, 1.25, 0.
        Assert.Equal(new float[] { 0, 1.25f, 4, 1, 1.25f, 0 }, Indices(model, new float[,] { { 42, 7, 7 }, { 5, 5, 42 } }));
    }

    [Fact]
    public void KerasTfIdfFile_WithoutItsIdfWeightsVariable_IsRefused()
    {
        using var dir = NewTempDir();
        var path = dir.File("tfidf.keras");
        WriteKerasLayoutFile(path, KerasTfIdfConfig, new Dictionary<string, byte[]> { [VocabularyEntry] = "-1\n42\n7"u8.ToArray() }, dir,
            IdfWeightsFile(null));
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadModel(path));
        Assert.Contains("integer_lookup", e.Message);
        Assert.Contains("'idf_weights'", e.Message);
    }

    [Fact]
    public void AnAdaptedTfIdfLayerIsSavedAsKerasDoes_AndLoads()
    {
        using var dir = NewTempDir();
        var path = dir.File("ours-tfidf.keras");
        // As IntegerLookupTests: documents [1, 1, 2], [2, 3, 3], [1, 4, 4] -> vocabulary [-1, 1, 4, 3, 2];
        // idf = ln(1 + 3 / (1 + df)) with df 2, 1, 1, 2; the OOV weight is the mean of the four (float32).
        var lookup = new IntegerLookup(outputMode: "tf_idf");
        lookup.Adapt(new long[,] { { 1, 1, 2 }, { 2, 3, 3 }, { 1, 4, 4 } });
        float i1 = (float)Math.Log(2), i4 = (float)Math.Log(2.5);
        float[] idf = [(i1 + i4 + i4 + i1) / 4, i1, i4, i4, i1];
        using var model = new Sequential(new InputLayer([3]), lookup);
        model.Save(path);
        using (var zip = ZipFile.OpenRead(path))
        {
            using var r = ReadEntry(zip, VocabularyEntry);
            Assert.Equal("-1\n1\n4\n3\n2", Encoding.UTF8.GetString(r.ToArray()));
            var layer = LookupLayerConfig(zip);
            Assert.Equal(System.Text.Json.JsonValueKind.Null, layer.GetProperty("vocabulary").ValueKind);
            Assert.Equal(System.Text.Json.JsonValueKind.Null, layer.GetProperty("idf_weights").ValueKind);
            using var weights = ReadEntry(zip, "model.weights.h5");
            using var h5 = PureHDF.H5File.Open(weights);
            Assert.Equal(idf, h5.Dataset("layers/integer_lookup/vars/idf_weights").Read<float[]>());
        }
        using var loaded = Model.LoadModel(path);
        Assert.Equal(lookup.IdfWeights, ((IntegerLookup)loaded.Layers[^1]).IdfWeights);
        var x = new float[,] { { 1, 4, 9 }, { 2, 2, 3 } };
        Assert.Equal(model.Predict(x).Data, loaded.Predict(x).Data);
        // Outside a .keras archive the adapted vocabulary and weights stay in the config.
        Assert.Equal(new long[] { -1, 1, 4, 3, 2 }, (long[])lookup.GetConfig()["vocabulary"]!);
        Assert.NotNull(lookup.GetConfig()["idf_weights"]);
    }

    [Fact]
    public void OurEarlierTfIdfFiles_WithVocabularyAndWeightsInTheConfig_StillLoad()
    {
        using var dir = NewTempDir();
        var path = dir.File("earlier.keras");
        var config = KerasTfIdfConfig.Replace("\"idf_weights\": null", "\"idf_weights\": [0.5, 1.25, 2.0]")
            .Replace("\"vocabulary\": null", "\"vocabulary\": [-1, 42, 7]");
        WriteKerasLayoutFile(path, config, new Dictionary<string, byte[]>(), dir, IdfWeightsFile(null));
        using var model = Model.LoadModel(path);
        Assert.Equal(new float[] { 0, 1.25f, 4, 1, 1.25f, 0 }, Indices(model, new float[,] { { 42, 7, 7 }, { 5, 5, 42 } }));
    }

    [Fact]
    public void StringLayersWriteAndReadTheirVocabularyAsKerasDoes()
    {
        var text = new TextVectorization();
        text.Adapt(new[] { "b a b", "c b" }); // counts b 3, a 1, c 1 (tie: larger first) -> b, c, a
        var files = ((IKerasAssets)text).SaveAssets().ToList();
        // TextVectorization delegates to its StringLookup, which Keras also visits as attribute _lookup_layer.
        Assert.Equal(["vocabulary.txt", "_lookup_layer/vocabulary.txt"], files.Select(f => f.Name));
        Assert.Equal("\n[UNK]\nb\nc\na", Encoding.UTF8.GetString(files[0].Bytes));
        var restored = new TextVectorization();
        ((IKerasAssets)restored).LoadAssets(name => name == "vocabulary.txt" ? files[0].Bytes : null, _ => null, "test");
        Assert.Equal(["", "[UNK]", "b", "c", "a"], restored.GetVocabulary());

        var lookup = new StringLookup();
        Assert.True(((IKerasAssets)lookup).UsesAssets);
        ((IKerasAssets)lookup).LoadAssets(_ => Encoding.UTF8.GetBytes("[UNK]\nzoë\nx"), _ => null, "test");
        Assert.Equal(["[UNK]", "zoë", "x"], lookup.GetVocabulary());
        Assert.Equal("[UNK]\nzoë\nx", Encoding.UTF8.GetString(((IKerasAssets)lookup).SaveAssets().Single().Bytes));
        Assert.False(((IKerasAssets)new StringLookup(vocabulary: ["q"])).UsesAssets);
    }

    /// <summary>Every "vocabulary" value in a config.json tree, in document order.</summary>
    private static List<System.Text.Json.JsonElement> Vocabularies(System.Text.Json.JsonElement e)
    {
        var found = new List<System.Text.Json.JsonElement>();
        void Walk(System.Text.Json.JsonElement x)
        {
            if (x.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                foreach (var p in x.EnumerateObject())
                {
                    if (p.Name == "vocabulary") found.Add(p.Value);
                    else Walk(p.Value);
                }
            }
            else if (x.ValueKind == System.Text.Json.JsonValueKind.Array)
            {
                foreach (var v in x.EnumerateArray()) Walk(v);
            }
        }
        Walk(e);
        return found;
    }

    [Fact]
    public void NestedAdaptedLookups_GoToAssetsWithANullConfigVocabulary_AndLoad()
    {
        using var dir = NewTempDir();
        var path = dir.File("nested.keras");
        // Counts as above: 7 three times, 42 twice, 1000 once -> 7, 42, 1000 after the mask 0 and the OOV -1.
        var inner = new IntegerLookup(maskToken: 0) { Name = "inner_lookup" };
        inner.Adapt(new long[,] { { 7, 42, 7 }, { 1000, 7, 42 } });
        var wrapped = new IntegerLookup(maskToken: 0) { Name = "wrapped_lookup" };
        wrapped.Adapt(new long[,] { { 5, 5, 6 } }); // 5 twice, 6 once -> 5, 6
        var given = new IntegerLookup(vocabulary: [8, 9]) { Name = "given_lookup" };
        var input = Keras.Input([2, 3]);
        var a = new Sequential(new InputLayer([2, 3]), new TimeDistributed(inner)) { Name = "nested" }.Apply(input);
        var b = new TimeDistributed(wrapped).Apply(input);
        var c = new TimeDistributed(given).Apply(input);
        using var model = new Model(input, new Concatenate().Apply([a, b, c]));
        model.Save(path);
        using (var zip = ZipFile.OpenRead(path))
        {
            var assets = zip.Entries.Select(e => e.FullName).Where(n => n.StartsWith("assets/", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, assets.Count);
            Assert.All(assets, n => Assert.EndsWith("/vocabulary.txt", n));
            using var config = System.Text.Json.JsonDocument.Parse(zip.GetEntry("config.json")!.Open());
            var vocabularies = Vocabularies(config.RootElement);
            Assert.Equal(3, vocabularies.Count);
            Assert.Equal(2, vocabularies.Count(v => v.ValueKind == System.Text.Json.JsonValueKind.Null));
            Assert.Equal("[8,9]", vocabularies.Single(v => v.ValueKind != System.Text.Json.JsonValueKind.Null).GetRawText());
        }
        // JSON outside an archive keeps the adapted vocabularies.
        using (var json = System.Text.Json.JsonDocument.Parse(model.ToJson()))
            Assert.DoesNotContain(Vocabularies(json.RootElement), v => v.ValueKind == System.Text.Json.JsonValueKind.Null);

        using var loaded = Model.LoadModel(path);
        var x = new float[,,] { { { 7, 42, 1000 }, { 5, 6, 9 } } };
        Assert.Equal(model.Predict(x).Data, loaded.Predict(x).Data);
        // By hand, per timestep [inner, wrapped, given]: inner 0 mask, 1 OOV, 7 -> 2, 42 -> 3, 1000 -> 4; wrapped 0 mask,
        // 1 OOV, 5 -> 2, 6 -> 3; given (no mask) 0 OOV, 8 -> 1, 9 -> 2.
        Assert.Equal(new float[] { 2, 3, 4, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2, 3, 1, 0, 0, 2 }, loaded.Predict(x).Data);
    }
}
