using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Data;

/// <summary>TextDatasetFromDirectory and Dataset.FromCsv on fixtures written here.</summary>
public class TextAndCsvDatasetTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("onnxkeras-text-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Reviews()
    {
        string dir = Path.Combine(root, "reviews");
        foreach (var (cls, n) in new[] { ("pos", 6), ("neg", 4) })
        {
            Directory.CreateDirectory(Path.Combine(dir, cls));
            for (int i = 0; i < n; i++) File.WriteAllText(Path.Combine(dir, cls, $"{i}.txt"), $"{cls} review number {i} é");
        }
        File.WriteAllText(Path.Combine(dir, "pos", "skip.md"), "not text");
        return dir;
    }

    [Fact]
    public void TextDataset_ReadsClassFoldersInOrder_WithLabelsAndMaxLength()
    {
        var ds = Keras.Utils.TextDatasetFromDirectory(Reviews(), batchSize: 4, shuffle: false, verbose: false);
        Assert.Equal(["neg", "pos"], ds.ClassNames);
        Assert.Equal(3, ds.Cardinality);
        var batches = ds.ToList();
        Assert.Equal(["neg review number 0 é", "neg review number 1 é", "neg review number 2 é", "neg review number 3 é"], batches[0].Texts);
        Assert.Equal(new long[] { 0, 0, 0, 0 }, batches[0].Labels!.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1 }, batches[2].Labels!.data<long>().ToArray());
        Assert.Equal(10, batches.Sum(b => b.Texts.Length));
        var cut = Keras.Utils.TextDatasetFromDirectory(Reviews(), batchSize: 10, maxLength: 3, labelMode: "binary", shuffle: false, verbose: false);
        var all = cut.Single();
        Assert.All(all.Texts, t => Assert.Equal(3, t.Length));
        Assert.Equal(new long[] { 10, 1 }, all.Labels!.shape);
        Assert.Equal(6f, all.Labels.sum().item<float>());
    }

    [Fact]
    public void TextDataset_SplitIsDeterministic_AndMapFeedsFit()
    {
        string dir = Reviews();
        var (train, val) = Keras.Utils.TextDatasetFromDirectoryBoth(dir, validationSplit: 0.3, batchSize: 2, seed: 5, verbose: false);
        Assert.Equal(7, train.FilePaths.Count);
        Assert.Equal(3, val.FilePaths.Count);
        Assert.Empty(train.FilePaths.Intersect(val.FilePaths));
        Assert.Equal(train.FilePaths, Keras.Utils.TextDatasetFromDirectory(dir, validationSplit: 0.3, subset: "training", seed: 5, verbose: false).FilePaths);
        // A .NET-side vectorizer: [is the text about "pos", its length] per text.
        var vectors = train.Map(b => tensor(b.Texts.SelectMany(t => new[] { t.StartsWith("pos") ? 1f : 0f, t.Length }).ToArray(), [b.Texts.Length, 2]));
        Assert.True(vectors.IsBatched);
        var first = vectors.Elements().First();
        Assert.Equal(new long[] { 2, 2 }, first[0].shape);
        // The vectorized flag equals the label: the model can learn it.
        foreach (var e in vectors.Elements()) Assert.Equal(e[1].data<long>().ToArray(), e[0][.., 0].data<float>().Select(v => (long)v).ToArray());
        Keras.SetRandomSeed(1);
        using var model = new Sequential(new InputLayer([2]), new Dense(2, activation: "softmax"));
        model.Compile(new SGD(0.05), "sparse_categorical_crossentropy");
        var h = model.Fit(vectors, epochs: 2, verbose: 0);
        Assert.Equal(2, h["loss"].Count);
        var single = Keras.Utils.TextDatasetFromDirectory(dir, batchSize: null, shuffle: false, verbose: false)
            .Map(b => tensor(new[] { (float)b.Texts[0].Length }, [1, 1]));
        Assert.False(single.IsBatched);
        Assert.Equal(new long[] { 1 }, single.Elements().First()[0].shape);
        Assert.Equal(Array.Empty<long>(), single.Elements().First()[1].shape);
        Assert.Throws<ArgumentException>(() => Keras.Utils.TextDatasetFromDirectory(dir, labelMode: "sparse", verbose: false));
        Assert.Throws<ArgumentException>(() => Keras.Utils.TextDatasetFromDirectory(Path.Combine(dir, "pos", ".."), validationSplit: 1.5,
            subset: "training", seed: 1, verbose: false));
    }

    private string Csv(string name, string text)
    {
        string path = Path.Combine(root, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void FromCsv_PacksFeatures_InfersTypes_AppliesDefaultsAndQuotes()
    {
        string path = Csv("iris.csv", "sepal,petal,\"name, quoted\",species\n1.5,2,\"7\",0\n\n3,,\"8\"\"\",2\n-1e1,4,9,1\n");
        // 'name, quoted' holds text ("8\"") on one row: refused unless left out.
        var text = Assert.Throws<ArgumentException>(() => Dataset.FromCsv(path, labelName: "species", shuffle: false));
        Assert.Contains("name, quoted", text.Message);
        Assert.Contains("line 4", text.Message);
        var ds = Dataset.FromCsv(path, batchSize: 2, labelName: "species", selectColumns: ["sepal", "petal", "species"],
            columnDefaults: [null, 0.5f, null], shuffle: false);
        var batches = ds.Elements().ToList();
        Assert.Equal(2, batches.Count);
        Assert.Equal(new float[] { 1.5f, 2, 3, 0.5f }, batches[0][0].data<float>().ToArray());
        Assert.Equal(new float[] { -10, 4 }, batches[1][0].data<float>().ToArray());
        Assert.Equal(ScalarType.Int64, batches[0][1].dtype);   // every label is an integer
        Assert.Equal(new long[] { 0, 2, 1 }, batches.SelectMany(b => b[1].data<long>().ToArray()));
        // Without a label: features only; without a header: names given.
        string noHeader = Csv("nh.csv", "1;2\n3;4\n");
        var rows = Dataset.FromCsv(noHeader, batchSize: null, header: false, columnNames: ["a", "b"], fieldDelim: ';', shuffle: false);
        Assert.Equal(new float[] { 3, 4 }, rows.Elements().Last()[0].data<float>().ToArray());
        Assert.Single(rows.Elements().First());
        // Shuffled with a seed: the same rows, in an order that repeats for the seed.
        string many = Csv("many.csv", "v,l\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"{i},{i % 3}\n")));
        List<float> Order(long seed) => Dataset.FromCsv(many, batchSize: 50, labelName: "l", shuffleSeed: seed).Elements().Single()[0]
            .data<float>().ToList();
        Assert.Equal(Order(3), Order(3));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (float)i), Order(3).Order());
        Assert.NotEqual(Enumerable.Range(0, 50).Select(i => (float)i), Order(3));
    }

    [Fact]
    public void FromCsv_MalformedRows_NameTheFileLineAndColumn()
    {
        string fields = Csv("fields.csv", "a,b\n1,2\n3\n");
        var ex = Assert.Throws<InvalidDataException>(() => Dataset.FromCsv(fields));
        Assert.Contains("fields.csv line 3", ex.Message);
        Assert.Contains("1 field(s), expected 2", ex.Message);
        string missing = Csv("missing.csv", "a,b\n1,2\n3,\n");
        var miss = Assert.Throws<InvalidDataException>(() => Dataset.FromCsv(missing, columnDefaults: [typeof(float), typeof(float)]));
        Assert.Contains("missing.csv line 3: column 'b' is empty and has no default", miss.Message);
        string badNumber = Csv("bad.csv", "a,b\n1,2\n3,x\n");
        var bad = Assert.Throws<InvalidDataException>(() => Dataset.FromCsv(badNumber, columnDefaults: [0f, 0f]));
        Assert.Contains("bad.csv line 3: column 'b': 'x' is not a number", bad.Message);
        string quote = Csv("quote.csv", "a,b\n\"1,2\n");
        Assert.Contains("quote.csv line 2: unterminated quote", Assert.Throws<InvalidDataException>(() => Dataset.FromCsv(quote)).Message);
        // ignoreErrors skips the bad rows.
        var kept = Dataset.FromCsv(fields, batchSize: null, ignoreErrors: true, shuffle: false).Elements().ToList();
        Assert.Single(kept);
        string good = Csv("good.csv", "a,b\n1,2\n");
        Assert.Contains("unknown column", Assert.Throws<ArgumentException>(() => Dataset.FromCsv(good, selectColumns: ["z"])).Message);
        Assert.Contains("label column", Assert.Throws<ArgumentException>(() => Dataset.FromCsv(good, labelName: "c")).Message);
        Assert.Contains("columnNames", Assert.Throws<ArgumentException>(() => Dataset.FromCsv(good, header: false)).Message);
    }
}
