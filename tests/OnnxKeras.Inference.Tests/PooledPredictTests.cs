using Google.Protobuf;
using Xunit;
using static OnnxKeras.Inference.Tests.OnnxBuilder;

namespace OnnxKeras.Inference.Tests;

/// <summary>
/// Predict reuses pinned buffers, native values and an I/O binding between calls with a shape it has seen (issue 17).
/// What must not change: every result is a fresh array of the current input's outputs, refusals keep their messages,
/// and shapes may change freely between calls. Expected values come from <see cref="TestModels.DenseReference"/> (plain
/// loops in double precision) or hand calculation.
/// </summary>
public class PooledPredictTests
{
    private static float[] Rows(int rows, int seed)
    {
        var x = new float[rows * 3];
        for (int i = 0; i < x.Length; i++) x[i] = ((seed * 13 + i * 5) % 11 - 5) / 2f;
        return x;
    }

    private static void AssertDense(float[] x, DenseTensorResult y)
    {
        var expected = TestModels.DenseReference(x);
        Assert.Equal([x.Length / 3, 2L], y.Shape);
        Assert.Equal(expected.Length, y.Data.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], y.Data[i], 1e-6);
    }

    [Fact]
    public void RepeatedCallsWithOneShapeReadTheCurrentInputAndReturnFreshArrays()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var x = Rows(1, 1);
        var first = m.Predict(x, [1, 3]);
        var firstCopy = first.Data.ToArray();
        AssertDense(x, first);

        // The caller changes its array in place and calls again with the same shape: the new values are used.
        float[] original = x.ToArray();
        x[0] = 7; x[1] = -2; x[2] = 0.5f;
        var second = m.Predict(x, [1, 3]);
        AssertDense(x, second);
        Assert.NotSame(first.Data, second.Data);
        Assert.Equal(firstCopy, first.Data); // a later call does not overwrite an earlier result
        AssertDense(original, first);

        // A result is the caller's: writing into it does not reach later results.
        second.Data[0] = 123;
        var third = m.Predict(x, [1, 3]);
        AssertDense(x, third);
    }

    [Fact]
    public void ShapesChangingBetweenCallsGiveTheirOwnResults()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        // More distinct shapes than the pool has places (at least 4, at most 32), visited twice, so slots are evicted
        // and rebuilt; the 2-D, TensorInput and dictionary overloads share the pool.
        int distinct = 2 * Math.Clamp(2 * Environment.ProcessorCount, 4, 32) + 1;
        for (int round = 0; round < 2; round++)
            for (int rows = 1; rows <= distinct; rows++)
            {
                var x = Rows(rows, rows + round);
                AssertDense(x, m.Predict(x, [rows, 3]));
                AssertDense(x, m.Predict(new TensorInput(x, rows, 3)));
                AssertDense(x, m.Predict(new Dictionary<string, TensorInput> { ["x"] = new(x, rows, 3) })["y"]);
            }
    }

    [Fact]
    public void InputsLargerThanThePooledBuffersAreReadInPlace()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var x = Rows(2000, 3); // 24,000 bytes: above the 16 KiB copied into pooled buffers
        AssertDense(x, m.Predict(x, [2000, 3]));
        AssertDense(x, m.Predict(x, [2000, 3]));
    }

    [Fact]
    public void InputsThatDisagreeWithAShapeSeenBeforeAreStillRefused()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var x = Rows(1, 2);
        AssertDense(x, m.Predict(x, [1, 3]));
        AssertDense(x, m.Predict(x, [1, 3])); // now pooled

        // Same shape, but 4 elements of data: the element count is checked on every call.
        var longer = new float[4];
        var e = Assert.Throws<ArgumentException>(() => m.Predict(longer, [1, 3]));
        Assert.Equal("Input 'x' has shape [1, 3], which needs 3 elements, but its data holds 4. (Parameter 'inputs')", e.Message);
        var negative = Assert.Throws<ArgumentException>(() => m.Predict(x, [-1, 3]));
        Assert.StartsWith("Dimension 0 of shape [-1, 3] is negative.", negative.Message);
        var rank = Assert.Throws<ArgumentException>(() => m.Predict(x, [3]));
        Assert.StartsWith("Input 'x' expects shape [batch, 3] (rank 2) but got shape [3] (rank 1).", rank.Message);
        var type = Assert.Throws<ArgumentException>(() => m.Predict(new TensorInput(new long[3], 1, 3)));
        Assert.StartsWith("Input 'x' expects Float elements but got Int64.", type.Message);
        AssertDense(x, m.Predict(x, [1, 3])); // the pool is unharmed by the refusals
    }

    [Fact]
    public void Int64InputsArePooledWithTheirOwnElementSize()
    {
        using var m = OnnxModel.Load(TestModels.CastInt64(), TestModels.Cpu());
        // ids [batch, 2] int64 -> Cast to float: y = ids.
        for (int call = 0; call < 3; call++)
        {
            long[] ids = [call, -5, 1L << 40, 7];
            var y = m.Predict(new TensorInput(ids, 2, 2));
            Assert.Equal([2L, 2L], y.Shape);
            Assert.Equal(new[] { call, -5f, (float)(1L << 40), 7f }, y.Data);
        }
    }

    [Fact]
    public void BatchLimitSplitsLargeInputsAndPoolsSmallOnes()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu(maxBatchSize: 2));
        foreach (int rows in new[] { 1, 2, 5, 1, 5 })
        {
            var x = Rows(rows, rows);
            AssertDense(x, m.Predict(x, [rows, 3]));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Predict(Rows(1, 1), [1, 3], maxBatchSize: 0));
    }

    /// <summary>
    /// x [batch, 2] -> Reshape to [-1, 2] -> Relu -> y, but y is declared [batch, 3]. The Reshape's target is computed
    /// from x's values (sum * 0 + [-1, 2]), so ONNX Runtime cannot infer y's dimensions at load, keeps the declared ones,
    /// and refuses a preallocated [batch, 3] output at run time.
    /// </summary>
    private static byte[] ReluWithWrongOutputShape() => Model(Graph("wrong_output_shape",
        [
            Node("ReduceSum", ["x"], ["s"], IntAttr("keepdims", 0)),
            Node("Mul", ["s", "zero"], ["z"]),
            Node("Add", ["z", "target"], ["tf"]),
            Node("Cast", ["tf"], ["t"], IntAttr("to", Int64Type)),
            Node("Reshape", ["x", "t"], ["r"]),
            Node("Relu", ["r"], ["y"]),
        ],
        [Value("x", FloatType, "batch", 2)],
        [Value("y", FloatType, "batch", 3)],
        [FloatInit("zero", [], 0f), FloatInit("target", [2], -1f, 2f)])).ToByteArray();

    [Fact]
    public void AnOutputShapeThatDiffersFromTheMetadataStillGivesTheRealOutput()
    {
        using var m = OnnxModel.Load(ReluWithWrongOutputShape(), TestModels.Cpu());
        for (int call = 0; call < 3; call++)
        {
            var y = m.Predict(new float[] { -1, 2, 3, -4 }, [2, 2]);
            Assert.Equal([2L, 2L], y.Shape);
            Assert.Equal(new float[] { 0, 2, 3, 0 }, y.Data);
        }
    }

    [Fact]
    public void CallsAfterDisposeThrowObjectDisposedEvenForAPooledShape()
    {
        var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var x = Rows(1, 4);
        m.Predict(x, [1, 3]);
        m.Dispose();
        Assert.Throws<ObjectDisposedException>(() => m.Predict(x, [1, 3]));
        Assert.Throws<ObjectDisposedException>(() => m.Predict(new TensorInput(x, 1, 3)));
    }
}
