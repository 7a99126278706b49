using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Saving;
using PureHDF;
using Xunit;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// Loading parses a weights file once: a compiled <c>.keras</c> file's <c>model.weights.h5</c> gives the weights and
/// the optimizer state in one pass, and a backup's optimizer state is read and checked before any weight is assigned.
/// </summary>
public class SingleParseLoadTests
{
    [Fact]
    public void LoadModel_CompiledKerasFile_ParsesItsWeightsOnceAndRestoresTheOptimizer()
    {
        var (x, y) = TestData.RandomClassification(32, 6, 3, 5);
        using var dir = SavingTestHelpers.NewTempDir();
        Keras.SetRandomSeed(3);
        using var model = new Sequential(new InputLayer([6]), new Dense(3, activation: "softmax"));
        model.Compile(optimizer: new Adam(0.01), loss: "categorical_crossentropy");
        model.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, verbose: 0);
        var path = dir.File("model.keras");
        model.Save(path);

        WeightsH5.FilesParsed = 0;
        using var loaded = Model.LoadModel(path);
        Assert.Equal(1, WeightsH5.FilesParsed);
        Assert.Equal(2, loaded.Optimizer.Iterations); // 32 samples in batches of 16: two steps
        var expected = model.GetWeights();
        var actual = loaded.GetWeights();
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Data, actual[i].Data);
    }

    [Fact]
    public void LoadWithOptimizer_DamagedOptimizerState_LeavesTheWeightsUnchanged()
    {
        using var dir = SavingTestHelpers.NewTempDir();
        using var model = new Sequential(new InputLayer([2]), new Dense(1));
        model.Compile(optimizer: new Adam(0.01), loss: "mse");
        model.SetWeights([new NDArray([1f, 2f], [2, 1]), new NDArray([3f], [1])]);
        // Keras 3's layout with valid weights (kernel 5, 6; bias 7) but an optimizer variable of int32, which no optimizer holds.
        var path = dir.File("latest.weights.h5");
        var file = new H5File
        {
            ["layers"] = new H5Group
            {
                ["dense"] = new H5Group
                {
                    ["vars"] = new H5Group
                    {
                        ["0"] = new H5Dataset(new[] { 5f, 6f }, fileDims: [2, 1]),
                        ["1"] = new H5Dataset(new[] { 7f }, fileDims: [1]),
                    },
                },
            },
            ["optimizer"] = new H5Group
            {
                ["vars"] = new H5Group
                {
                    ["0"] = new H5Dataset(new long[] { 4 }, fileDims: []),
                    ["1"] = new H5Dataset(new[] { 1, 2 }, fileDims: [2]),
                },
            },
        };
        file.Write(path);

        var e = Assert.Throws<InvalidDataException>(() => WeightFiles.LoadWithOptimizer(model, path));
        Assert.Contains("optimizer/vars/1", e.Message);
        var weights = model.GetWeights();
        Assert.Equal([1f, 2f], weights[0].Data);
        Assert.Equal([3f], weights[1].Data);
        Assert.Equal(0, model.Optimizer.Iterations);
    }
}
