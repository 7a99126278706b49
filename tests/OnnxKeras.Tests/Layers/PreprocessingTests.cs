using OnnxKeras.Data;
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
/// Normalization against Keras 3's documented rules (keras/src/layers/preprocessing/normalization.py): output
/// (x - mean) / max(sqrt(variance), 1e-7), inverted mean + x * max(sqrt(variance), 1e-7); statistics per position of
/// the kept axes over all other axes, population variance. Expected values are the docstring's examples and hand sums.
/// </summary>
public class PreprocessingTests
{
    private static float[] Values(KTensor t) => t.Value.contiguous().data<float>().ToArray();

    private static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
    }

    // ------------------------------------------------------------------ harness (config, shapes, weights, ONNX at opsets 17-21)

    [Fact]
    public void NormalizationHarness_Adapted() => LayerTestHarness.Run(new Normalization(), [4], [4], 0, 3, supportsTraining: false, inputRange: 3);

    [Fact]
    public void NormalizationHarness_GivenMeanAndVariance() =>
        LayerTestHarness.Run(new Normalization(mean: [1, 2, 3, 4], variance: [1, 4, 9, 0.25]), [4], [4], 0, 0, supportsTraining: false, inputRange: 3);

    [Fact]
    public void NormalizationHarness_InvertedOverTwoAxes() =>
        LayerTestHarness.Run(new Normalization(axis: [1, 2], invert: true), [2, 3], [2, 3], 0, 3, supportsTraining: false);

    [Fact]
    public void NormalizationHarness_NoAxis() => LayerTestHarness.Run(new Normalization(axis: null), [2, 3], [2, 3], 0, 3, supportsTraining: false);

    // ------------------------------------------------------------------ numbers

    [Fact]
    public void Adapt_NoAxis_UsesOneMeanAndPopulationVariance()
    {
        // Keras's docstring: adapt on 1..5 with axis=None gives mean 3, variance 2; [1, 2, 3] -> (x - 3) / sqrt(2).
        var layer = new Normalization(axis: null);
        layer.Adapt(new float[] { 1, 2, 3, 4, 5 });
        using var scope = NewDisposeScope();
        Near([-1.4142135f, -0.70710677f, 0f], Values(layer.Apply(tensor(new float[] { 1, 2, 3 }))));
    }

    [Fact]
    public void Adapt_LastAxis_KeepsOneStatisticPerFeature_AndInvertUndoesIt()
    {
        // Keras's docstring: columns (0,2,0,2), (7,9,7,9), (4,6,4,6): means 1, 8, 5 and variances 1, 1, 1.
        var data = new float[,] { { 0, 7, 4 }, { 2, 9, 6 }, { 0, 7, 4 }, { 2, 9, 6 } };
        var layer = new Normalization();
        layer.Adapt(data);
        Assert.Equal(new float[] { 1, 8, 5 }, layer.Weights[0].ToArray());
        Assert.Equal(new float[] { 1, 1, 1 }, layer.Weights[1].ToArray());
        using var scope = NewDisposeScope();
        Near([-1, -1, -1], Values(layer.Apply(tensor(new float[] { 0, 7, 4 }, [1, 3]))));
        var inverse = new Normalization(invert: true);
        inverse.Adapt(data);
        Near([2, 10, 8], Values(inverse.Apply(tensor(new float[] { 1, 2, 3 }, [1, 3])))); // 1 + 1*1, 8 + 2*1, 5 + 3*1
    }

    [Fact]
    public void GivenMeanAndVariance_Normalize_AndTinyVarianceDividesByEpsilon()
    {
        using var scope = NewDisposeScope();
        var layer = new Normalization(mean: [3], variance: [2]);
        Near([-1.4142135f, -0.70710677f, 0f], Values(layer.Apply(tensor(new float[] { 1, 2, 3 }, [3, 1]))));
        // variance 0: the divisor is max(sqrt(0), 1e-7) = 1e-7, so 1.5 - 1 = 0.5 becomes 5e6.
        var flat = new Normalization(mean: [1, 0], variance: [0, 4]);
        var y = Values(flat.Apply(tensor(new float[] { 1.5f, 2 }, [1, 2])));
        Assert.Equal(5e6f, y[0], 1f);
        Assert.Equal(1f, y[1], 1e-6f); // (2 - 0) / 2
    }

    [Fact]
    public void Adapt_OnABatchedDataset_PoolsTheBatchesExactly()
    {
        // One feature, values 1..6 in batches of 4 and 2: mean 3.5, population variance (6^2 - 1) / 12 = 35/12.
        var x = new float[,] { { 1 }, { 2 }, { 3 }, { 4 }, { 5 }, { 6 } };
        var layer = new Normalization();
        layer.Adapt(Dataset.FromTensorSlices(x, new[] { 0, 0, 0, 0, 0, 0 }).Batch(4));
        Assert.Equal(3.5f, layer.Weights[0].ToArray()[0], 1e-6f);
        Assert.Equal(35f / 12, layer.Weights[1].ToArray()[0], 1e-6f);
        // An unbatched dataset is read in batches of 128, as Keras does.
        var unbatched = new Normalization();
        unbatched.Adapt(Dataset.FromTensorSlices(x));
        Assert.Equal(35f / 12, unbatched.Weights[1].ToArray()[0], 1e-6f);
    }

    [Fact]
    public void Adapt_OverTheMiddleAxis_ReducesBatchAndLastAxes()
    {
        // x[b, i, j] = 10 i + j + 100 b for b in {0, 1}, i in {0, 1}, j in {0, 1, 2}: for row i the values are
        // 10i + {0, 1, 2, 100, 101, 102}: mean 10i + 51, variance mean of squares of {-51, -50, -49, 49, 50, 51} = 7502/3.
        var data = new float[2, 2, 3];
        for (int b = 0; b < 2; b++) for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) data[b, i, j] = 10 * i + j + 100 * b;
        var layer = new Normalization(axis: 1);
        layer.Adapt(data);
        Near([51, 61], layer.Weights[0].ToArray());
        Near([7502f / 3, 7502f / 3], layer.Weights[1].ToArray());
        Assert.Equal(new Shape(null, 2, 3), layer.BuildInputShape);
    }

    // ------------------------------------------------------------------ config, saving

    [Fact]
    public void Config_HasKerasKeys_AndGivenStatistics()
    {
        var config = new Normalization(mean: [1, 2], variance: [3, 4], invert: true).GetConfig();
        Assert.Equal(new[] { -1 }, config["axis"]);
        Assert.Equal(true, config["invert"]);
        Assert.Equal(new double[] { 1, 2 }, config["mean"]);
        Assert.Equal(new double[] { 3, 4 }, config["variance"]);
        var adapted = new Normalization().GetConfig();
        Assert.Null(adapted["mean"]);
        Assert.Null(adapted["variance"]);
        // Keras writes axis as a list and a scalar mean as a number.
        var keras = new LayerConfig().With("name", "normalization").With("axis", new object[] { -1L }).With("invert", false).With("mean", 3.0).With("variance", 2.0);
        var rebuilt = (Normalization)LayerRegistry.FromConfig("Normalization", keras);
        Assert.Equal(new double[] { 3 }, rebuilt.Mean);
        Assert.Equal(new[] { -1 }, rebuilt.Axis);
    }

    [Fact]
    public void AdaptedState_RoundTripsThroughKerasFileAndWeightsFile()
    {
        var norm = new Normalization();
        norm.Adapt(new float[,] { { 0, 7, 4 }, { 2, 9, 6 }, { 0, 7, 4 }, { 2, 9, 6 } });
        using var model = new Sequential(new InputLayer([3]), norm);
        var input = new float[,] { { 1, 2, 3 } };
        var expected = model.Predict(input).Data; // (1-1)/1, (2-8)/1, (3-5)/1
        Assert.Equal(new float[] { 0, -6, -2 }, expected);
        var dir = Directory.CreateTempSubdirectory("onnxkeras-norm-");
        try
        {
            string keras = Path.Combine(dir.FullName, "m.keras"), weights = Path.Combine(dir.FullName, "m.weights.h5");
            model.Save(keras);
            model.SaveWeights(weights);
            using var loaded = Model.LoadModel(keras);
            Assert.Equal(expected, loaded.Predict(input).Data);
            Assert.Equal(new[] { "mean", "variance", "count" }, loaded.Layers[^1].Weights.Select(w => w.Name));
            using var fresh = new Sequential(new InputLayer([3]), new Normalization());
            fresh.LoadWeights(weights);
            Assert.Equal(expected, fresh.Predict(input).Data);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(17)]
    [InlineData(21)]
    public void Export_IsSubAndDivWithTheStatisticsAsConstants(int opset)
    {
        var norm = new Normalization();
        norm.Adapt(new float[,] { { 0, 7, 4 }, { 2, 9, 6 }, { 0, 7, 4 }, { 2, 9, 6 } });
        using var model = new Sequential(new InputLayer([3]), norm);
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset, Verify = true });
        var types = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Subset(new HashSet<string> { "Cast", "Identity", "Sub", "Div" }, types); // Reshape/Sqrt/Max of the weights folded
        Assert.Contains("Sub", types);
        Assert.Contains("Div", types);
        using var scope = NewDisposeScope();
        OnnxTestHelpers.AssertParityOn(model, bytes, tensor(new float[] { 1, 2, 3, 0, 7, 4 }, [2, 3]));
    }

    // ------------------------------------------------------------------ errors

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new Normalization(mean: [1]));
        Assert.Throws<ArgumentException>(() => new Normalization(mean: [1, 2], variance: [1]));
        Assert.Throws<ArgumentException>(() => new Normalization(mean: [1], variance: [-1]));
        Assert.Throws<ArgumentException>(() => new Normalization(axis: null, mean: [1, 2], variance: [1, 1]));
        Assert.Throws<ArgumentException>(() => new Normalization(axis: 3).Build(new Shape(null, 4)));
        Assert.Throws<ArgumentException>(() => new Normalization(mean: [1, 2, 3], variance: [1, 1, 1]).Build(new Shape(null, 4)));
        Assert.Throws<InvalidOperationException>(() => new Normalization(mean: [1], variance: [1]).Adapt(new float[] { 1, 2 }));
        var built = new Normalization();
        built.Adapt(new float[,] { { 1, 2 } });
        Assert.Throws<ArgumentException>(() => built.Adapt(new float[,] { { 1, 2, 3 } }));
        Assert.Throws<ArgumentException>(() => new Normalization().Adapt(Dataset.FromTensorSlices(zeros(4, 2)).Batch(2).Repeat()));
    }
}

/// <summary>CategoryEncoding against Keras 3's documented rules (keras/src/layers/preprocessing/category_encoding.py), values by hand.</summary>
public class CategoryEncodingTests
{
    private static float[] Encode(CategoryEncoding layer, float[] ids, params long[] shape)
    {
        using var scope = NewDisposeScope();
        return layer.Apply(tensor(ids, shape)).Value.contiguous().data<float>().ToArray();
    }

    [Fact]
    public void Harness_MultiHot() => LayerTestHarness.Run(new CategoryEncoding(numTokens: 5), [3], [5], 0, 0, supportsTraining: false, inputRange: 5, integerInputs: true);

    [Fact]
    public void Harness_Count() => LayerTestHarness.Run(new CategoryEncoding(numTokens: 4, outputMode: "count"), [6], [4], 0, 0, supportsTraining: false, inputRange: 4, integerInputs: true);

    [Fact]
    public void Harness_OneHotOfAColumn() => LayerTestHarness.Run(new CategoryEncoding(numTokens: 3, outputMode: "one_hot"), [1], [3], 0, 0, supportsTraining: false, inputRange: 3, integerInputs: true);

    [Fact]
    public void Harness_OneHotOfASequence() => LayerTestHarness.Run(new CategoryEncoding(numTokens: 3, outputMode: "one_hot"), [2], [2, 3], 0, 0, supportsTraining: false, inputRange: 3, integerInputs: true);

    [Fact]
    public void Modes_MatchKerasDocstringExamples()
    {
        // one_hot of [3, 2, 0, 1] with 4 tokens: the rows of the identity in that order.
        Assert.Equal(new float[] { 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0 }, Encode(new CategoryEncoding(4, "one_hot"), [3, 2, 0, 1], 4));
        // multi_hot of [[0, 1], [0, 0], [1, 2], [3, 1]].
        Assert.Equal(new float[] { 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1 }, Encode(new CategoryEncoding(4), [0, 1, 0, 0, 1, 2, 3, 1], 4, 2));
        // count of [[0, 1], [0, 0], [1, 2], [3, 1]].
        Assert.Equal(new float[] { 1, 1, 0, 0, 2, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1 }, Encode(new CategoryEncoding(4, "count"), [0, 1, 0, 0, 1, 2, 3, 1], 4, 2));
        // a column of ids in one_hot mode: the size-1 axis is replaced.
        Assert.Equal(new float[] { 0, 1, 1, 0 }, Encode(new CategoryEncoding(2, "one_hot"), [1, 0], 2, 1));
    }

    [Fact]
    public void OutputShapes_FollowKeras()
    {
        Assert.Equal(new Shape(null, 5), new CategoryEncoding(5, "one_hot").ComputeOutputShape(new Shape((long?)null)));
        Assert.Equal(new Shape(null, 5), new CategoryEncoding(5, "one_hot").ComputeOutputShape(new Shape(null, 1)));
        Assert.Equal(new Shape(null, 3, 5), new CategoryEncoding(5, "one_hot").ComputeOutputShape(new Shape(null, 3)));
        Assert.Equal(new Shape(null, 5), new CategoryEncoding(5, "count").ComputeOutputShape(new Shape(null, 3)));
    }

    [Fact]
    public void BadArgumentsAndIds_Throw()
    {
        Assert.Throws<ArgumentException>(() => new CategoryEncoding());
        Assert.Throws<ArgumentException>(() => new CategoryEncoding(0));
        Assert.Throws<ArgumentException>(() => new CategoryEncoding(3, "tf_idf"));
        Assert.Throws<ArgumentException>(() => new CategoryEncoding(3, sparse: true));
        Assert.Equal("multi_hot", new CategoryEncoding(3, "binary").OutputMode);
        Assert.Contains("0 <= values < numTokens (3)", Assert.Throws<ArgumentException>(() => Encode(new CategoryEncoding(3), [0, 3], 1, 2)).Message);
        Assert.Throws<ArgumentException>(() => Encode(new CategoryEncoding(3), [-1, 0], 1, 2));
        Assert.Equal(new float[] { 1, 1, 0 }, Encode(new CategoryEncoding(3), [0.5f, 1.9f], 1, 2)); // cast to int64 truncates: ids 0 and 1
        Assert.Throws<ArgumentException>(() => new CategoryEncoding(3).Build(new Shape(null, 2, 2)));
    }
}

/// <summary>Discretization against Keras 3's docstring examples and numpy's digitize rule (bins [b[i-1], b[i])).</summary>
public class DiscretizationTests
{
    private static readonly float[] DocInput = [-1.5f, 1.0f, 3.4f, 0.5f, 0.0f, 3.0f, 1.3f, 0.0f];

    private static T[] Run<T>(Discretization layer, float[] x, params long[] shape) where T : unmanaged
    {
        using var scope = NewDisposeScope();
        return layer.Apply(tensor(x, shape)).Value.contiguous().data<T>().ToArray();
    }

    [Fact]
    public void Harness_OneHot() => LayerTestHarness.Run(new Discretization(binBoundaries: [-0.5, 0, 0.5], outputMode: "one_hot"), [1], [4], 0, 0, supportsTraining: false);

    [Fact]
    public void Harness_Count() => LayerTestHarness.Run(new Discretization(binBoundaries: [-0.5, 0.25], outputMode: "count"), [5], [3], 0, 0, supportsTraining: false);

    [Fact]
    public void GivenBoundaries_MatchKerasDocstring_AndIntModeExports()
    {
        // Keras: Discretization(bin_boundaries=[0., 1., 2.]) on [[-1.5, 1.0, 3.4, .5], [0.0, 3.0, 1.3, 0.0]] -> [[0, 2, 3, 1], [1, 3, 2, 1]].
        var layer = new Discretization(binBoundaries: [0, 1, 2]);
        Assert.Equal(new long[] { 0, 2, 3, 1, 1, 3, 2, 1 }, Run<long>(layer, DocInput, 2, 4));
        var input = Keras.Input([4]);
        using var model = new Model(input, new Discretization(binBoundaries: [0, 1, 2]).Apply(input));
        foreach (int opset in OnnxTestHelpers.Opsets)
        {
            var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset });
            using var session = OnnxKeras.Inference.OnnxModel.Load(bytes);
            var output = session.Predict(DocInput, [2, 4]);
            Assert.Equal(new long[] { 0, 2, 3, 1, 1, 3, 2, 1 }, output.GetData<long>());
        }
    }

    [Fact]
    public void Adapt_MatchesKerasDocstring()
    {
        // Keras: Discretization(num_bins=4, epsilon=0.01).adapt(input) -> [[0, 2, 3, 2], [1, 3, 3, 1]]. By hand: the 8 sorted
        // values each weigh 1, cumulative fractions 1/8 .. 1; the 4-bin compression interpolates fractions 0.25, 0.5, 0.75
        // to the 2nd, 4th and 6th sorted values: boundaries 0, 0.5, 1.3.
        var layer = new Discretization(numBins: 4, epsilon: 0.01);
        layer.Adapt(new float[,] { { -1.5f, 1.0f, 3.4f, 0.5f }, { 0.0f, 3.0f, 1.3f, 0.0f } });
        Assert.Equal(new double[] { 0, 0.5, (float)1.3 }, layer.BinBoundaries);
        Assert.Equal(new long[] { 0, 2, 3, 2, 1, 3, 3, 1 }, Run<long>(layer, DocInput, 2, 4));
        // The adapted boundaries go into the config, as in Keras, with numBins.
        var rebuilt = (Discretization)LayerRegistry.FromConfig("Discretization", layer.GetConfig());
        Assert.Equal(layer.BinBoundaries, rebuilt.BinBoundaries);
        Assert.Equal(4, rebuilt.NumBins);
    }

    [Fact]
    public void EncodedModes_UseBoundariesPlusOneBuckets()
    {
        var x = new float[] { -1, 0.5f, 0.7f };
        Assert.Equal(new float[] { 1, 0, 0, 0, 1, 0, 0, 1, 0 }, Run<float>(new Discretization(binBoundaries: [0, 1], outputMode: "one_hot"), x, 3));
        Assert.Equal(new float[] { 1, 2, 0 }, Run<float>(new Discretization(binBoundaries: [0, 1], outputMode: "count"), x, 1, 3));
        Assert.Equal(new float[] { 1, 1, 0 }, Run<float>(new Discretization(binBoundaries: [0, 1], outputMode: "multi_hot"), x, 1, 3));
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new Discretization());
        Assert.Throws<ArgumentException>(() => new Discretization(binBoundaries: [1, 0]));
        Assert.Throws<ArgumentException>(() => new Discretization(numBins: -1));
        Assert.Throws<ArgumentException>(() => new Discretization(binBoundaries: [0], outputMode: "tf_idf"));
        Assert.Throws<ArgumentException>(() => new Discretization(binBoundaries: [0], sparse: true));
        Assert.Throws<InvalidOperationException>(() => new Discretization(binBoundaries: [0]).Adapt(new float[] { 1, 2 }));
        Assert.Throws<InvalidOperationException>(() => Run<long>(new Discretization(numBins: 2), [1f], 1, 1));
    }
}
