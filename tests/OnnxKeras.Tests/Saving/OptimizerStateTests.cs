using System.IO.Compression;
using System.Text;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using PureHDF;
using Xunit;

namespace OnnxKeras.Tests.Saving;

public class OptimizerStateTests
{
    private static Sequential NewModel(Optimizer optimizer)
    {
        Keras.SetRandomSeed(77);
        var model = new Sequential(new InputLayer([6]), new Dense(5, activation: "tanh"), new Dense(3, activation: "softmax"));
        model.Compile(optimizer: optimizer, loss: "categorical_crossentropy");
        return model;
    }

    /// <summary>
    /// Each stateful optimizer, and its state as Keras 3 builds it: the kinds of state (by creation index) that each
    /// <c>add_optimizer_variables</c> call (Keras 3.9: each loop over the variables) creates together, in build() order;
    /// the kind order OnnxKeras files stored before; and how many scalars Keras creates after them.
    /// </summary>
    private static (Func<Optimizer> New, int[][] KerasCalls, int[] OldKindOrder, int Trailing) Case(string name) => name switch
    {
        "adam" => (() => new Adam(0.01), [[0, 1]], [0, 1], 0),
        "adam_amsgrad" => (() => new Adam(0.01, amsgrad: true), [[0, 1], [2]], [0, 1, 2], 0),
        "adamw" => (() => new AdamW(0.01), [[0, 1]], [0, 1], 0),
        "adamw_amsgrad" => (() => new AdamW(0.01, amsgrad: true), [[0, 1], [2]], [0, 1, 2], 0),
        "nadam" => (() => new Nadam(0.01), [[0, 1]], [0, 1], 1),
        "adamax" => (() => new Adamax(0.01), [[0, 1]], [0, 1], 0),
        "adadelta" => (() => new Adadelta(1.0), [[0, 1]], [0, 1], 0),
        "adagrad" => (() => new Adagrad(0.05), [[0]], [0], 0),
        "sgd_momentum" => (() => new SGD(0.05, momentum: 0.9), [[0]], [0], 0),
        "sgd_nesterov" => (() => new SGD(0.05, momentum: 0.9, nesterov: true), [[0]], [0], 0),
        "rmsprop" => (() => new RMSprop(0.01), [[0]], [0], 0),
        "rmsprop_momentum" => (() => new RMSprop(0.01, momentum: 0.5), [[0], [1]], [0, 1], 0),
        "rmsprop_centered" => (() => new RMSprop(0.01, centered: true), [[0], [1]], [0, 1], 0),
        // Keras: velocity, momentum, average_gradient; OnnxKeras stored the average gradients before the momentums.
        "rmsprop_centered_momentum" => (() => new RMSprop(0.01, momentum: 0.5, centered: true), [[0], [1], [2]], [0, 2, 1], 0),
        "adam_schedule" => (() => new Adam(new ExponentialDecay(0.01, 3, 0.9)), [[0, 1]], [0, 1], 0),
        _ => throw new ArgumentException(name),
    };

    /// <summary>The cases a .keras file resumes (a learning-rate schedule in compile_config is not rebuilt by LoadModel yet).</summary>
    public static TheoryData<string> ResumableCases() =>
    [
        "adam", "adam_amsgrad", "adamw", "adamw_amsgrad", "nadam", "adamax", "adadelta", "adagrad", "sgd_momentum", "sgd_nesterov",
        "rmsprop", "rmsprop_momentum", "rmsprop_centered", "rmsprop_centered_momentum",
    ];

    /// <summary>Every case, with a schedule (Keras then writes no learning-rate variable).</summary>
    public static TheoryData<string> AllCases()
    {
        var all = new TheoryData<string>();
        foreach (string name in ResumableCases()) all.Add(name);
        all.Add("adam_schedule");
        return all;
    }

    /// <summary>Trains 2 epochs, saves, lets <paramref name="rewrite"/> change the file, loads, trains a third; returns both runs' weights.</summary>
    private static void ResumeEqualsUninterrupted(string name, Action<string>? rewrite = null)
    {
        var (x, y) = TestData.RandomClassification(96, 6, 3, 5);
        using var dir = SavingTestHelpers.NewTempDir();
        var c = Case(name);
        using var straight = NewModel(c.New());
        straight.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false, verbose: 0);

        using var first = NewModel(c.New());
        first.Fit(x, y, epochs: 2, batchSize: 16, shuffle: false, verbose: 0);
        var path = dir.File("checkpoint.keras");
        first.Save(path);
        rewrite?.Invoke(path);
        var (resumed, stderr) = KerasOptimizerStateTests.LoadCapturingStderr(path);
        using var _ = resumed;
        Assert.True(stderr == "", stderr);
        Assert.Equal(first.Optimizer.Iterations, resumed.Optimizer.Iterations);
        resumed.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, verbose: 0);

        var expected = straight.GetWeights();
        var actual = resumed.GetWeights();
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Data, actual[i].Data);
        Assert.Equal(3 * 6, resumed.Optimizer.Iterations);
    }

    [Theory]
    [MemberData(nameof(ResumableCases))]
    public void ContinuingFromASavedModelEqualsUninterruptedTraining(string name) => ResumeEqualsUninterrupted(name);

    [Theory]
    [MemberData(nameof(AllCases))]
    public void OurFilesListTheStateInKerasOrder(string name)
    {
        var (x, y) = TestData.RandomClassification(32, 6, 3, 5);
        using var dir = SavingTestHelpers.NewTempDir();
        var c = Case(name);
        using var model = NewModel(c.New());
        model.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, verbose: 0);
        var path = dir.File("m.keras");
        model.Save(path);
        using var h5 = KerasOptimizerStateTests.WeightsEntry(path);
        var vars = KerasOptimizerStateTests.OptimizerVars(h5);
        long[][] shapes = [[6, 5], [5], [5, 3], [3]];
        bool constantRate = !name.EndsWith("_schedule", StringComparison.Ordinal);
        var expected = new List<long[]> { Array.Empty<long>() };
        if (constantRate) expected.Add([]);
        foreach (var call in c.KerasCalls)
        {
            foreach (var s in shapes)
            {
                foreach (var _ in call) expected.Add(s);
            }
        }
        for (int i = 0; i < c.Trailing; i++) expected.Add([]);
        Assert.Equal(expected, vars.Select(v => v.Shape));
        Assert.Equal(2, vars[0].Data[0]);
        if (constantRate) Assert.Equal(model.Optimizer.LearningRate.At(0), vars[1].Data[0], 6);
        // In Adam's interleaved pairs the second of each (the velocity) is never negative, the first (momentum) is.
        if (name == "adam")
        {
            for (int i = 0; i < 4; i++)
            {
                Assert.Contains(vars[2 + 2 * i].Data, v => v < 0);
                Assert.All(vars[3 + 2 * i].Data, v => Assert.True(v >= 0));
            }
        }
    }

    /// <summary>
    /// Rewrites the optimizer variables of a .keras file we wrote (Keras's order, marked) into another layout: Keras's
    /// grouped order as a Keras file would hold it (no mark, no producer), or the order OnnxKeras wrote before (no mark,
    /// producer onnxkeras, learning rate always, no trailing scalars).
    /// </summary>
    private static void Rewrite(string path, string name, bool oldOnnxKeras)
    {
        var c = Case(name);
        bool constantRate = !name.EndsWith("_schedule", StringComparison.Ordinal);
        int lead = constantRate ? 2 : 1;
        const int n = 4;
        // Keras position (after the leading scalars) of kind k for variable v.
        var position = new Dictionary<(int Kind, int Var), int>();
        int p = 0;
        foreach (var call in c.KerasCalls)
        {
            for (int v = 0; v < n; v++)
            {
                foreach (int k in call) position[(k, v)] = p++;
            }
        }
        int kinds = c.KerasCalls.Sum(call => call.Length);
        var kindOrder = oldOnnxKeras ? c.OldKindOrder : Enumerable.Range(0, kinds).ToArray();

        byte[] weights, metadata, config;
        using (var zip = ZipFile.OpenRead(path))
        {
            byte[] Read(string e)
            {
                using var s = zip.GetEntry(e)!.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                return ms.ToArray();
            }
            (weights, metadata, config) = (Read("model.weights.h5"), Read("metadata.json"), Read("config.json"));
        }
        using var input = H5File.Open(new MemoryStream(weights));
        var output = new H5File();
        void Copy(IH5Group from, H5Group to)
        {
            foreach (var child in from.Children())
            {
                if (child is IH5Group g)
                {
                    var copy = new H5Group();
                    if (g.AttributeExists("name")) copy.Attributes["name"] = new H5Attribute(g.Attribute("name").Read<string>());
                    if (g.Name == "vars" && from.Name == "optimizer")
                    {
                        var ds = g.Children().OfType<IH5Dataset>().OrderBy(d => int.Parse(d.Name)).ToList();
                        var arrays = ds.Select(d => (Shape: d.Space.Dimensions, Data: d.Type.Class == H5DataTypeClass.FixedPoint ? null : d.Space.Dimensions.Length == 0 ? [d.Read<float>()] : d.Read<float[]>())).ToList();
                        int next = 0;
                        void Add(ulong[] shape, float[] data) => copy[(next++).ToString()] = new H5Dataset(data, fileDims: shape);
                        copy["0"] = new H5Dataset(new long[] { ds[0].Read<long>() }, fileDims: []);
                        next = 1;
                        if (oldOnnxKeras || constantRate) Add([], constantRate ? arrays[1].Data! : [0.01f]);
                        foreach (int k in kindOrder)
                        {
                            for (int v = 0; v < n; v++)
                            {
                                var a = arrays[lead + position[(k, v)]];
                                Add(a.Shape, a.Data!);
                            }
                        }
                        if (!oldOnnxKeras)
                        {
                            for (int t = 0; t < c.Trailing; t++) Add([], arrays[lead + kinds * n + t].Data!);
                        }
                    }
                    else Copy(g, copy);
                    to[g.Name] = copy;
                }
                else if (child is IH5Dataset d)
                {
                    to[d.Name] = new H5Dataset(d.Read<float[]>(), fileDims: d.Space.Dimensions);
                }
            }
        }
        Copy(input, output);
        using var rewritten = new MemoryStream();
        output.Write(rewritten);
        var metaNode = System.Text.Json.Nodes.JsonNode.Parse(metadata)!.AsObject();
        Assert.Equal("onnxkeras", (string?)metaNode["producer"]);
        if (!oldOnnxKeras) metaNode.Remove("producer");
        var meta = metaNode.ToJsonString();
        File.Delete(path);
        using var zipOut = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (e, bytes) in new[] { ("metadata.json", Encoding.UTF8.GetBytes(meta)), ("config.json", config), ("model.weights.h5", rewritten.ToArray()) })
        {
            using var s = zipOut.CreateEntry(e).Open();
            s.Write(bytes);
        }
    }

    [Theory]
    [MemberData(nameof(ResumableCases))]
    public void FilesInKerasGroupedOrderResumeExactly(string name) => ResumeEqualsUninterrupted(name, path => Rewrite(path, name, oldOnnxKeras: false));

    [Theory]
    [MemberData(nameof(ResumableCases))]
    public void OurEarlierFilesResumeExactly(string name) => ResumeEqualsUninterrupted(name, path => Rewrite(path, name, oldOnnxKeras: true));

    [Fact]
    public void WithoutTheSavedStateTheResumedRunDiffers()
    {
        // The check above can fail: a fresh Adam (zero moments, step 1 bias correction) moves the weights differently.
        var (x, y) = TestData.RandomClassification(96, 6, 3, 5);
        using var straight = NewModel("adam");
        straight.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false, verbose: 0);
        using var first = NewModel("adam");
        first.Fit(x, y, epochs: 2, batchSize: 16, shuffle: false, verbose: 0);
        first.Compile(optimizer: "adam", loss: "categorical_crossentropy");
        first.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, verbose: 0);
        Assert.NotEqual(straight.GetWeights()[0].Data, first.GetWeights()[0].Data);
    }
}
