using Xunit;

namespace OnnxKeras.Inference.Tests;

public class BatchingTests
{
    private static float[] RandomRows(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var x = new float[rows * cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 8 - 4);
        return x;
    }

    [Fact]
    public void SplitPredictionEqualsUnsplitAndTheIndependentReference()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var x = RandomRows(1000, 3, seed: 1);
        var whole = m.Predict(x, [1000, 3]);
        var split = m.Predict(x, [1000, 3], maxBatchSize: 64);
        Assert.Equal([1000L, 2L], split.Shape);
        Assert.Equal(whole.Data, split.Data); // row-wise model: slicing must not change a single bit
        var reference = TestModels.DenseReference(x);
        for (int i = 0; i < reference.Length; i++)
            Assert.Equal(reference[i], split.Data[i], 1e-6);
    }

    [Fact]
    public void InputsAreRunInSlicesOfAtMostMaxBatchSizeRows()
    {
        using var m = OnnxModel.Load(TestModels.RowCounter(), TestModels.Cpu());
        var x = RandomRows(150, 2, seed: 2);
        var r = m.Predict(new Dictionary<string, TensorInput> { ["x"] = new(x, 150, 2) }, maxBatchSize: 64);
        // 150 rows in slices of 64: 64 + 64 + 22. Each row reports the row count of the run it was in.
        var expected = Enumerable.Repeat(64f, 128).Concat(Enumerable.Repeat(22f, 22)).ToArray();
        Assert.Equal(expected, r["rows"].Data);
        Assert.Equal([150L, 1L], r["rows"].Shape);
        Assert.Equal(x, r["y"].Data); // the identity output is reassembled in order
        var unsplit = m.Predict(new Dictionary<string, TensorInput> { ["x"] = new(x, 150, 2) });
        Assert.All(unsplit["rows"].Data, v => Assert.Equal(150f, v));
    }

    [Fact]
    public void MaxBatchSizeFromOptionsIsTheDefaultAndTheArgumentOverridesIt()
    {
        using var m = OnnxModel.Load(TestModels.RowCounter(), TestModels.Cpu(maxBatchSize: 40));
        var x = new float[100 * 2];
        var byOptions = m.Predict(new Dictionary<string, TensorInput> { ["x"] = new(x, 100, 2) });
        var expected = Enumerable.Repeat(40f, 80).Concat(Enumerable.Repeat(20f, 20)).ToArray();
        Assert.Equal(expected, byOptions["rows"].Data);
        var byArgument = m.Predict(new Dictionary<string, TensorInput> { ["x"] = new(x, 100, 2) }, maxBatchSize: 100);
        Assert.All(byArgument["rows"].Data, v => Assert.Equal(100f, v));
    }

    [Fact]
    public void MultiInputModelsAreSplitTogether()
    {
        using var m = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());
        var a = RandomRows(77, 2, 3);
        var b = RandomRows(77, 2, 4);
        var r = m.Predict(new Dictionary<string, TensorInput> { ["a"] = new(a, 77, 2), ["b"] = new(b, 77, 2) }, maxBatchSize: 10);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i] + b[i], r["sum"].Data[i]);
            Assert.Equal(a[i] * b[i], r["prod"].Data[i]);
        }
    }

    [Fact]
    public void Float2DOverloadSplitsToo()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var flat = RandomRows(50, 3, 5);
        var x = new float[50, 3];
        Buffer.BlockCopy(flat, 0, x, 0, flat.Length * sizeof(float));
        Assert.Equal(m.Predict(x), m.Predict(x, maxBatchSize: 7));
    }

    [Fact]
    public void OutputsWithoutABatchDimensionAreNotSplitAndThatIsLoggedOnce()
    {
        var log = new List<string>();
        using var m = OnnxModel.Load(TestModels.ColumnSum(), TestModels.Cpu(log.Add));
        var x = new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }; // 4 rows: column sums 1+3+5+7 = 16, 2+4+6+8 = 20
        var r1 = m.Predict(new TensorInput(x, 4, 2), maxBatchSize: 2);
        var r2 = m.Predict(new TensorInput(x, 4, 2), maxBatchSize: 2);
        Assert.Equal([16f, 20f], r1.Data);
        Assert.Equal([16f, 20f], r2.Data);
        var warning = Assert.Single(log);
        Assert.Contains("output 's' has shape [2]", warning);
    }

    [Fact]
    public void SmallInputsAreNotSplit()
    {
        using var m = OnnxModel.Load(TestModels.RowCounter(), TestModels.Cpu());
        var r = m.Predict(new Dictionary<string, TensorInput> { ["x"] = new(new float[20], 10, 2) }, maxBatchSize: 10);
        Assert.All(r["rows"].Data, v => Assert.Equal(10f, v));
    }
}
