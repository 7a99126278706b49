using Xunit;

namespace OnnxKeras.Inference.Tests;

/// <summary>Bad inputs are rejected before ONNX Runtime runs, with the input named and both shapes in the message.</summary>
public class ValidationTests : IDisposable
{
    private readonly OnnxModel dense = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
    private readonly OnnxModel addMul = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());

    public void Dispose()
    {
        dense.Dispose();
        addMul.Dispose();
    }

    private static Dictionary<string, TensorInput> Pair(long rowsA, long rowsB) => new()
    {
        ["a"] = new(new float[rowsA * 2], rowsA, 2),
        ["b"] = new(new float[rowsB * 2], rowsB, 2),
    };

    [Fact]
    public void WrongFixedDimensionNamesInputExpectedAndActual()
    {
        var e = Assert.Throws<ArgumentException>(() => dense.Predict(new float[2, 4]));
        Assert.Equal("Input 'x' expects shape [batch, 3] but got shape [2, 4]: dimension 1 must be 3. (Parameter 'inputs')", e.Message);
    }

    [Fact]
    public void WrongRankNamesInputExpectedAndActual()
    {
        var e = Assert.Throws<ArgumentException>(() => dense.Predict(new float[6], [2, 3, 1]));
        Assert.Contains("Input 'x' expects shape [batch, 3] (rank 2) but got shape [2, 3, 1] (rank 3)", e.Message);
    }

    [Fact]
    public void WrongElementCountNamesInputShapeAndLength()
    {
        var e = Assert.Throws<ArgumentException>(() => dense.Predict(new float[5], [2, 3]));
        Assert.Contains("Input 'x' has shape [2, 3], which needs 6 elements, but its data holds 5", e.Message);
    }

    [Fact]
    public void OverflowingShapeIsAnArgumentException()
    {
        var e = Assert.Throws<ArgumentException>(() => dense.Predict(new float[3], [long.MaxValue / 2, 3]));
        Assert.Contains("Input 'x'", e.Message);
        Assert.Contains("more than long.MaxValue", e.Message);
    }

    [Fact]
    public void UnknownInputNameListsTheModelsInputs()
    {
        var inputs = Pair(1, 1);
        inputs["c"] = new(new float[2], 1, 2);
        var e = Assert.Throws<ArgumentException>(() => addMul.Predict(inputs));
        Assert.Contains("no input named 'c'", e.Message);
        Assert.Contains("a: Float [batch, 2]; b: Float [batch, 2]", e.Message);
    }

    [Fact]
    public void MissingInputIsNamedWithItsExpectedShape()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            addMul.Predict(new Dictionary<string, TensorInput> { ["a"] = new(new float[2], 1, 2) }));
        Assert.Contains("Missing model input(s): 'b' (expected shape [batch, 2])", e.Message);
    }

    [Fact]
    public void NullInputValueIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            addMul.Predict(new Dictionary<string, TensorInput> { ["a"] = new(new float[2], 1, 2), ["b"] = null! }));
        Assert.Contains("Input 'b' is null", e.Message);
    }

    [Fact]
    public void InputsDisagreeingOnASharedSymbolicDimensionAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => addMul.Predict(Pair(2, 3)));
        Assert.Contains("batch = 3", e.Message);
        Assert.Contains("batch = 2", e.Message);
        Assert.Contains("'a'", e.Message);
        Assert.Contains("'b'", e.Message);
    }

    [Fact]
    public void WrongElementTypeIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => dense.Predict(new TensorInput(new long[3], 1, 3)));
        Assert.Contains("Input 'x' expects Float elements but got Int64", e.Message);
        using var cast = OnnxModel.Load(TestModels.CastInt64(), TestModels.Cpu());
        var e2 = Assert.Throws<ArgumentException>(() => cast.Predict(new float[,] { { 1, 2 } }));
        Assert.Contains("Input 'ids' expects Int64 elements but got Float", e2.Message);
    }

    [Fact]
    public void NegativeDimensionIsRejectedAtConstruction()
    {
        var e = Assert.Throws<ArgumentException>(() => new TensorInput(new float[3], -1, 3));
        Assert.Contains("[-1, 3]", e.Message);
    }

    [Fact]
    public void UnknownOrDuplicateOrEmptyOutputNamesAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => addMul.Predict(Pair(1, 1), outputNames: ["quotient"]));
        Assert.Contains("no output named 'quotient'", e.Message);
        Assert.Contains("sum: Float [batch, 2]", e.Message);
        Assert.Throws<ArgumentException>(() => addMul.Predict(Pair(1, 1), outputNames: ["sum", "sum"]));
        Assert.Throws<ArgumentException>(() => addMul.Predict(Pair(1, 1), outputNames: []));
    }

    [Fact]
    public void NonFloatOutputsComeBackWithTheirElementType()
    {
        using var m = OnnxModel.Load(TestModels.ArgMax(), TestModels.Cpu());
        // ArgMax over each row of [[1, 5, 2], [7, 0, 3]]: columns 1 and 0.
        float[] x = [1, 5, 2, 7, 0, 3];
        var r = m.Predict(new TensorInput(x, 2, 3));
        Assert.Equal(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64, r.ElementType);
        Assert.Equal([1L, 0L], r.GetData<long>());
        Assert.Equal([2L], r.Shape);
        Assert.Equal("Int64 [2]", r.ToString());
        var e = Assert.Throws<InvalidOperationException>(() => r.Data);
        Assert.Contains("GetData<long>()", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => r.GetData<int>());
        Assert.Equal(MemoryMarshalBytes([1L, 0L]), r.AsBytes().ToArray());
        // Split into one-row slices and concatenated again: the same int64 values.
        Assert.Equal([1L, 0L], m.Predict(new TensorInput(x, 2, 3), maxBatchSize: 1).GetData<long>());
    }

    private static byte[] MemoryMarshalBytes(long[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    [Fact]
    public void SingleInputOverloadsRefuseMultiInputModels()
    {
        var e = Assert.Throws<InvalidOperationException>(() => addMul.Predict(new float[1, 2]));
        Assert.Contains("one input and one output", e.Message);
        Assert.Throws<InvalidOperationException>(() => addMul.CreateBinding(1, 2));
    }

    [Fact]
    public void NonPositiveMaxBatchSizeIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => dense.Predict(new float[2, 3], maxBatchSize: 0));
    }

    [Fact]
    public void DenseTensorResultChecksItsShape()
    {
        var e = Assert.Throws<ArgumentException>(() => new DenseTensorResult(new float[5], 2, 3));
        Assert.Contains("needs 6 elements", e.Message);
        var r = new DenseTensorResult(new float[6], 2, 3);
        Assert.Throws<IndexOutOfRangeException>(() => r[2, 0]);
        Assert.Throws<ArgumentException>(() => r[1]);
    }

    [Fact]
    public void TheModelStillWorksAfterRejectedCalls()
    {
        Assert.Throws<ArgumentException>(() => dense.Predict(new float[2, 4]));
        var y = dense.Predict(new float[,] { { 1, 2, 3 } });
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), y[0, 0], 1e-6);
    }
}
