using System.IO.Compression;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using PureHDF;
using Xunit;
using Xunit.Abstractions;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// Group names in Keras 3 weights files follow Keras's object paths (keras/src/saving/saving_lib.py: <c>_save_state</c>,
/// <c>_walk_saveable</c>, <c>_save_container_state</c>), not layer names: <c>layers/&lt;snake_case class&gt;[_k]</c>.
/// </summary>
public class KerasWeightPathsTests(ITestOutputHelper output)
{
    /// <summary>Every group (with its <c>name</c> attribute, if any) and dataset (with shape and values) of an HDF5 stream.</summary>
    private static SortedDictionary<string, string> Tree(Stream s)
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        using var f = H5File.Open(s, leaveOpen: true);
        void Walk(IH5Group g, string prefix)
        {
            foreach (var c in g.Children())
            {
                var path = $"{prefix}/{c.Name}";
                if (c is IH5Group sub)
                {
                    found[path + "/"] = sub.AttributeExists("name") ? $"name={sub.Attribute("name").Read<string>()}" : "";
                    Walk(sub, path);
                }
                else if (c is IH5Dataset ds)
                {
                    double[] values = ds.Type.Class == H5DataTypeClass.FixedPoint ? ds.Read<long[]>().Select(v => (double)v).ToArray()
                        : ds.Type.Size == 8 ? ds.Read<double[]>() : ds.Read<float[]>().Select(v => (double)v).ToArray();
                    found[path] = $"[{string.Join(",", ds.Space.Dimensions)}] {string.Join(",", values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}";
                }
            }
        }
        Walk(f, "");
        return found;
    }

    private static SortedDictionary<string, string> ArchiveTree(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        using var ms = new MemoryStream();
        using (var e = zip.GetEntry("model.weights.h5")!.Open()) e.CopyTo(ms);
        ms.Position = 0;
        return Tree(ms);
    }

    private static SortedDictionary<string, string> FileTree(string path)
    {
        using var fs = File.OpenRead(path);
        return Tree(fs);
    }

    [Theory]
    [InlineData("flownet_final_model.keras")]
    [InlineData("keras_mlx_branch_model.keras")]
    [InlineData("pre_pr22362_nested_container.keras")]
    public void ResavingAKerasFixtureWritesKerasOwnGroupsDatasetsAndValues(string fixture)
    {
        var path = Fixture(fixture);
        if (fixture.StartsWith("pre_pr22362", StringComparison.Ordinal)) LayerRegistry.Register<NestedDenseModel>("NestedDenseModel", "legacy_nested_container");
        var expected = ArchiveTree(path);
        using var dir = NewTempDir();
        var again = dir.File("again.keras");
        using (var model = Model.LoadModel(path)) model.Save(again);
        var actual = ArchiveTree(again);
        foreach (var (k, v) in expected) output.WriteLine($"{k} {(v.Length > 60 ? v[..60] + "..." : v)}");
        // Same groups (with the same `name` attributes), same datasets, same shapes, same values.
        Assert.Equal(expected.Keys, actual.Keys);
        // Optimizer state: same datasets, but values are not compared: Keras 3.9 stores Adam's slots interleaved per variable
        // (m0, v0, m1, v1, ...), which our optimizer restore does not read yet (it starts fresh with a warning).
        var differ = expected.Where(e => !e.Key.StartsWith("/optimizer/vars/", StringComparison.Ordinal) || e.Key.EndsWith('/'))
            .Where(e => e.Value != actual[e.Key]).Select(e => $"{e.Key}: Keras wrote {e.Value[..Math.Min(e.Value.Length, 80)]}, we wrote {actual[e.Key][..Math.Min(actual[e.Key].Length, 80)]}").ToList();
        Assert.True(differ.Count == 0, string.Join("\n", differ));
    }

    [Fact]
    public void GroupsAreNamedByClassAndCounterNotByLayerName()
    {
        using var dir = NewTempDir();
        var path = dir.File("m.weights.h5");
        Keras.SetRandomSeed(3);
        using var model = new Sequential(new InputLayer([4]), new Dense(5) { Name = "dense_7" }, new BatchNormalization { Name = "bn_a" }, new Dropout(0.1),
            new Dense(3) { Name = "dense_8" })
        { Name = "my_model" };
        model.SaveWeights(path);
        var tree = FileTree(path);
        Assert.Equal(
            [
                "/layers/", "/layers/batch_normalization/", "/layers/batch_normalization/vars/",
                "/layers/batch_normalization/vars/0", "/layers/batch_normalization/vars/1", "/layers/batch_normalization/vars/2", "/layers/batch_normalization/vars/3",
                "/layers/dense/", "/layers/dense/vars/", "/layers/dense/vars/0", "/layers/dense/vars/1",
                "/layers/dense_1/", "/layers/dense_1/vars/", "/layers/dense_1/vars/0", "/layers/dense_1/vars/1",
                "/layers/dropout/", "/layers/dropout/vars/",
                "/vars/",
            ], tree.Keys);
        Assert.Equal("name=dense_7", tree["/layers/dense/vars/"]);
        Assert.Equal("name=dense_8", tree["/layers/dense_1/vars/"]);
        Assert.Equal("name=bn_a", tree["/layers/batch_normalization/vars/"]);
        Assert.Equal("name=my_model", tree["/vars/"]);
        Assert.StartsWith("[4,5] ", tree["/layers/dense/vars/0"]);
        Assert.StartsWith("[5,3] ", tree["/layers/dense_1/vars/0"]);

        // Loads into the same architecture with other layer names: by Keras path, so a name sort
        // (batch_normalization < dense < dense_1) cannot reorder the layers.
        using var fresh = new Sequential(new InputLayer([4]), new Dense(5), new BatchNormalization(), new Dropout(0.1), new Dense(3));
        Assert.Empty(fresh.LoadWeights(path));
        Assert.Equal(model.Weights.Select(w => w.ToArray()), fresh.Weights.Select(w => w.ToArray()));
    }

    /// <summary>A functional model with branches of different depth, recurrent layers and a nested Sequential; layer names are the caller's.</summary>
    private static Model BranchyModel(Func<string, string?> name)
    {
        var input = Keras.Input([3, 2], name: name("seq"));
        // Two branches of different depth: Keras orders layers by depth first (a1 before c1), then by first visit.
        var flat = new Flatten().Apply(input);
        var c1 = (name("c1") is { } nc1 ? new Dense(4) { Name = nc1 } : new Dense(4)).Apply(flat);
        var a1Layer = name("a1") is { } na1 ? new Dense(5) { Name = na1 } : new Dense(5);
        var a2Layer = name("a2") is { } na2 ? new Dense(4) { Name = na2 } : new Dense(4);
        var a2 = a2Layer.Apply(a1Layer.Apply(flat));
        var rnn = (name("my_lstm") is { } nl ? new LSTM(2) { Name = nl } : new LSTM(2)).Apply(input);
        var bi = new Bidirectional(new GRU(3)).Apply(input);
        var innerDense = name("inner_dense") is { } nd ? new Dense(2) { Name = nd } : new Dense(2);
        var inner = name("inner") is { } ni ? new Sequential(innerDense) { Name = ni } : new Sequential(innerDense);
        var merged = new Concatenate().Apply([c1, a2, rnn, bi]);
        return new Model(input, inner.Apply(merged), name: name("func"));
    }

    [Fact]
    public void FunctionalModelsFollowKerasOperationOrderAndNestTheirContainers()
    {
        Keras.SetRandomSeed(4);
        using var model = BranchyModel(n => n);
        using var dir = NewTempDir();
        var path = dir.File("f.weights.h5");
        model.SaveWeights(path);
        var tree = FileTree(path);
        foreach (var k in tree.Keys) output.WriteLine(k);
        Assert.Equal("name=seq", tree["/layers/input_layer/vars/"]);
        Assert.Equal("name=a1", tree["/layers/dense/vars/"]);
        Assert.Equal("name=c1", tree["/layers/dense_1/vars/"]);
        Assert.Equal("name=a2", tree["/layers/dense_2/vars/"]);
        Assert.Equal("name=my_lstm", tree["/layers/lstm/vars/"]);
        Assert.Equal("name=lstm_cell", tree["/layers/lstm/cell/vars/"]);
        Assert.StartsWith("[2,8] ", tree["/layers/lstm/cell/vars/0"]);
        Assert.StartsWith("[3,9] ", tree["/layers/bidirectional/forward_layer/cell/vars/1"]);
        Assert.StartsWith("[3,9] ", tree["/layers/bidirectional/backward_layer/cell/vars/1"]);
        Assert.Equal("name=inner", tree["/layers/sequential/vars/"]);
        Assert.Equal("name=inner_dense", tree["/layers/sequential/layers/dense/vars/"]);
        Assert.DoesNotContain(tree.Keys, k => k.Contains("/layers/c1", StringComparison.Ordinal) || k.Contains("inner_dense/", StringComparison.Ordinal));

        // The same architecture with generated layer names loads it by path.
        using var fresh = BranchyModel(_ => null);
        fresh.LoadWeights(path);
        var x = Random(5, 3, 3, 2);
        Assert.Equal(0.0, MaxDiff(model.Predict(x), fresh.Predict(x)));
    }

    [Fact]
    public void AMismatchAtAKerasPathChangesNothing()
    {
        using var dir = NewTempDir();
        var path = dir.File("m.weights.h5");
        using (var small = new Sequential(new InputLayer([4]), new Dense(3), new Dense(2))) small.SaveWeights(path);
        using var other = new Sequential(new InputLayer([4]), new Dense(3), new Dense(5));
        var before = other.Weights.Select(w => w.ToArray()).ToList();
        var e = Assert.Throws<InvalidDataException>(() => other.LoadWeights(path));
        output.WriteLine(e.Message);
        Assert.Contains("Nothing was changed", e.Message);
        Assert.Equal(before, other.Weights.Select(w => w.ToArray()));
    }

    /// <summary>A <c>.weights.h5</c> as OnnxKeras wrote it before Keras's paths: groups named by layer name, plus the order attribute.</summary>
    private static void WriteOldOnnxKerasFile(string path, params (string Name, float[,] Kernel, float[] Bias)[] layers)
    {
        var layersGroup = new H5Group();
        foreach (var (name, kernel, bias) in layers)
        {
            layersGroup[name] = new H5Group
            {
                ["vars"] = new H5Group
                {
                    ["0"] = new H5Dataset(kernel.Cast<float>().ToArray(), fileDims: [(ulong)kernel.GetLength(0), (ulong)kernel.GetLength(1)]),
                    ["1"] = new H5Dataset(bias, fileDims: [(ulong)bias.Length]),
                },
            };
        }
        var file = new H5File { ["layers"] = layersGroup, ["optimizer"] = new H5Group { ["vars"] = new H5Group() }, ["vars"] = new H5Group() };
        file.Attributes["onnxkeras_layer_order"] = new H5Attribute(layers.Select(l => l.Name).ToArray());
        file.Write(path);
    }

    [Fact]
    public void FilesFromEarlierOnnxKerasVersionsStillLoadByLayerName()
    {
        using var dir = NewTempDir();
        var path = dir.File("old.weights.h5");
        float[,] k1 = { { 1, 2 }, { 3, 4 } }, k2 = { { 5, 6 }, { 7, 8 } };
        // The first layer was named dense_1 and the second dense: Keras's paths would swap them; the old reading must not.
        WriteOldOnnxKerasFile(path, ("dense_1", k1, [0.5f, 0.25f]), ("dense", k2, [-1f, -2f]));
        using var model = new Sequential(new InputLayer([2]), new Dense(2) { Name = "dense_1" }, new Dense(2) { Name = "dense" });
        model.LoadWeights(path);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, model.Layers[0].Weights[0].ToArray());
        Assert.Equal(new float[] { -1, -2 }, model.Layers[1].Weights[1].ToArray());

        // Other names: by the order the old file recorded (zeta before alpha), not by name sort.
        var byOrder = dir.File("order.weights.h5");
        WriteOldOnnxKerasFile(byOrder, ("zeta", k1, [0.5f, 0.25f]), ("alpha", k2, [-1f, -2f]));
        using var fresh = new Sequential(new InputLayer([2]), new Dense(2), new Dense(2));
        fresh.LoadWeights(byOrder);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, fresh.Layers[0].Weights[0].ToArray());
        Assert.Equal(new float[] { 5, 6, 7, 8 }, fresh.Layers[1].Weights[0].ToArray());
    }
}
