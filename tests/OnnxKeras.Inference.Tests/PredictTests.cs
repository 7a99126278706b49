using Xunit;

namespace OnnxKeras.Inference.Tests;

public class PredictTests
{
    // Dense model: W = [[1, 0], [0, 1], [1, -1]], b = [0, 0.5]; y = softmax(relu(x W + b)).
    //   x = [1, 2, 3]:  x W + b = [1 + 3, 2 - 3 + 0.5] = [4, -0.5] -> relu [4, 0]   -> softmax [e^4, 1] / (e^4 + 1)
    //   x = [0, 0, 0]:  [0, 0.5]                                   -> relu [0, 0.5] -> [1, e^0.5] / (1 + e^0.5)
    //   x = [-1, 1, 0]: [-1, 1 + 0.5] = [-1, 1.5]                 -> relu [0, 1.5] -> [1, e^1.5] / (1 + e^1.5)
    private static readonly float[,] X = { { 1, 2, 3 }, { 0, 0, 0 }, { -1, 1, 0 } };

    private static readonly double[,] Expected =
    {
        { Math.Exp(4) / (Math.Exp(4) + 1), 1 / (Math.Exp(4) + 1) },
        { 1 / (1 + Math.Exp(0.5)), Math.Exp(0.5) / (1 + Math.Exp(0.5)) },
        { 1 / (1 + Math.Exp(1.5)), Math.Exp(1.5) / (1 + Math.Exp(1.5)) },
    };

    private static void AssertDense(float[,] y)
    {
        Assert.Equal(3, y.GetLength(0));
        Assert.Equal(2, y.GetLength(1));
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
                Assert.Equal(Expected[i, j], y[i, j], 1e-6);
    }

    [Fact]
    public void Predict2DMatchesHandComputedDense()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        AssertDense(m.Predict(X));
    }

    [Fact]
    public void PredictMemoryWithShapeMatchesAndReadsAnOffsetSlice()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        // The rows sit at offset 5 of a larger buffer: the memory path must honour the slice start.
        var buffer = new float[5 + 9 + 4];
        for (int i = 0; i < buffer.Length; i++) buffer[i] = 99f;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                buffer[5 + i * 3 + j] = X[i, j];
        var r = m.Predict(buffer.AsMemory(5, 9), [3, 3]);
        Assert.Equal([3L, 2L], r.Shape);
        Assert.Equal(2, r.Rank);
        AssertDense(r.To2DArray());
        Assert.Equal(Expected[2, 1], r[2, 1], 1e-6);
        Assert.All(buffer.AsSpan(0, 5).ToArray(), v => Assert.Equal(99f, v)); // inputs are not written
    }

    [Fact]
    public void NamedMultiInputMultiOutput()
    {
        using var m = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());
        var a = new TensorInput(new float[] { 1, 2, 3, 4 }, 2, 2);
        var b = new TensorInput(new float[] { 0.5f, -1, 2, 0.25f }, 2, 2);
        var r = m.Predict(new Dictionary<string, TensorInput> { ["b"] = b, ["a"] = a });
        Assert.Equal(["sum", "prod"], r.Keys);
        Assert.Equal([1.5f, 1f, 5f, 4.25f], r["sum"].Data);
        Assert.Equal([0.5f, -2f, 6f, 1f], r["prod"].Data);
        Assert.Equal([2L, 2L], r["prod"].Shape);
    }

    [Fact]
    public void OutputNamesSelectASubset()
    {
        using var m = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());
        var r = m.Predict(new Dictionary<string, TensorInput>
        {
            ["a"] = new(new float[] { 3, 4 }, 1, 2),
            ["b"] = new(new float[] { 2, -1 }, 1, 2),
        }, outputNames: ["prod"]);
        Assert.Equal(["prod"], r.Keys);
        Assert.Equal([6f, -4f], r["prod"].Data);
    }

    [Fact]
    public void Rank3TensorsThroughTensorInputAndFloat2DRefusesThem()
    {
        using var m = OnnxModel.Load(TestModels.Rank3Relu(), TestModels.Cpu());
        var r = m.Predict(new TensorInput(new float[] { -1, 2, -3, 4, 5, -6, 7, -8 }, 2, 2, 2));
        Assert.Equal([2L, 2L, 2L], r.Shape);
        Assert.Equal([0f, 2f, 0f, 4f, 5f, 0f, 7f, 0f], r.Data);
        Assert.Equal(7f, r[1, 1, 0]);
        Assert.Throws<InvalidOperationException>(() => r.To2DArray());
    }

    [Fact]
    public void Float2DOverloadOnARank3ModelNamesTheInputAndShapes()
    {
        using var m = OnnxModel.Load(TestModels.Rank3Relu(), TestModels.Cpu());
        var e = Assert.Throws<ArgumentException>(() => m.Predict(new float[2, 4]));
        Assert.Contains("'x'", e.Message);
        Assert.Contains("[batch, 2, 2]", e.Message);
        Assert.Contains("[2, 4]", e.Message);
    }

    [Fact]
    public void Int64InputsAreFed()
    {
        using var m = OnnxModel.Load(TestModels.CastInt64(), TestModels.Cpu());
        var r = m.Predict(new TensorInput(new long[] { 7, -2, 1L << 20, 0 }, 2, 2));
        Assert.Equal([7f, -2f, 1048576f, 0f], r.Data);
    }

    [Fact]
    public void NaNInputsPassThroughToNaNOutputs()
    {
        using var m = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());
        var r = m.Predict(new Dictionary<string, TensorInput>
        {
            ["a"] = new(new float[] { float.NaN, 1 }, 1, 2),
            ["b"] = new(new float[] { 1, float.PositiveInfinity }, 1, 2),
        });
        Assert.True(float.IsNaN(r["sum"].Data[0]));
        Assert.True(float.IsNaN(r["prod"].Data[0]));
        Assert.Equal(float.PositiveInfinity, r["sum"].Data[1]);
    }

    [Fact]
    public void ResultsChainIntoAnotherModelAndOutliveTheModel()
    {
        DenseTensorResult first;
        using (var relu = OnnxModel.Load(TestModels.Rank3Relu(), TestModels.Cpu()))
            first = relu.Predict(new TensorInput(new float[] { -1, 2, -3, 4 }, 1, 2, 2));
        Assert.Equal([0f, 2f, 0f, 4f], first.Data); // still readable after the model is gone
        using var again = OnnxModel.Load(TestModels.Rank3Relu(), TestModels.Cpu());
        var second = again.Predict(first);
        Assert.Equal(first.Data, second.Data);
    }

    [Fact]
    public void ZeroRowsGiveAnEmptyResult()
    {
        using var m = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());
        var r = m.Predict(new Dictionary<string, TensorInput>
        {
            ["a"] = new(Array.Empty<float>(), 0, 2),
            ["b"] = new(Array.Empty<float>(), 0, 2),
        });
        Assert.Equal([0L, 2L], r["sum"].Shape);
        Assert.Empty(r["sum"].Data);
    }

    [Fact]
    public void FixedShapeModelRunsAtItsShape()
    {
        using var m = OnnxModel.Load(TestModels.FixedRelu(), TestModels.Cpu());
        var y = m.Predict(new float[,] { { -1, 0, 1 }, { 2, -3, 0.5f } });
        Assert.Equal(new float[,] { { 0, 0, 1 }, { 2, 0, 0.5f } }, y);
    }
}
