using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Tests.Export;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Core;

/// <summary>A layer that computes only with the ops named after keras.ops (slice, split, stack, flip, take, unstack, cast, scalar add/multiply).</summary>
public sealed class KerasVocabularyLayer : Layer
{
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var block = Ops.Slice(inputs, [0, 1, 2], [-1, 2, 3]);          // [b, 2, 3]
        var columns = Ops.Split(block, 3, axis: 2);                   // 3 x [b, 2, 1]
        var stacked = Ops.Flip(Ops.Stack(columns, axis: 1), 1);       // [b, 3, 2, 1], columns reversed
        var rows = Ops.Unstack(Ops.Take(stacked, 0, axis: 3), axis: 1); // 3 x [b, 2]
        var positive = Ops.Cast(Ops.NotEqual(rows[1], 0.0), "float32");
        return Ops.Add(Ops.Multiply(rows[0], 2.5), -1.0) + rows[2] * positive;
    }

    public override Shape ComputeOutputShape(Shape inputShape) => new(inputShape[0], 2);
}

/// <summary>Eager values of the ops with Keras's names against hand computation, their errors, and their ONNX export.</summary>
public class KerasOpsTests
{
    private static KTensor Arange(params long[] shape) => new(arange(shape.Aggregate(1L, (a, b) => a * b), ScalarType.Float32).reshape(shape));

    private static float[] Values(KTensor t) => t.Value.contiguous().data<float>().ToArray();

    [Fact]
    public void SliceTakesTheBlockAndMinusOneTakesTheRestOfTheAxis()
    {
        // x[i, j, k] = 12 i + 4 j + k; x[1:, 0:2, 1:3] = [[13, 14], [17, 18]].
        var s = Ops.Slice(Arange(2, 3, 4), [1, 0, 1], [-1, 2, 2]);
        Assert.Equal(new long[] { 1, 2, 2 }, s.Value.shape);
        Assert.Equal(new float[] { 13, 14, 17, 18 }, Values(s));
    }

    [Fact]
    public void SliceRejectsAWrongCountOrABlockOutsideTheTensor()
    {
        var x = Arange(2, 3);
        Assert.Throws<ArgumentException>(() => Ops.Slice(x, [0], [1]));
        Assert.Throws<ArgumentException>(() => Ops.Slice(x, [0, 2], [1, 2]));
        Assert.Throws<ArgumentException>(() => Ops.Slice(x, [0, -1], [1, 1]));
        Assert.Throws<ArgumentException>(() => Ops.Slice(x, [0, 0], [1, -2]));
    }

    [Fact]
    public void TakeWithAnIndexRemovesTheAxisAndUnstackReturnsEverySlice()
    {
        var x = Arange(2, 3, 4);
        Assert.Equal(new float[] { 8, 9, 10, 11, 20, 21, 22, 23 }, Values(Ops.Take(x, 2, axis: 1)));
        var parts = Ops.Unstack(x, axis: -1);
        Assert.Equal(4, parts.Length);
        Assert.Equal(new float[] { 3, 7, 11, 15, 19, 23 }, Values(parts[3]));
    }

    [Fact]
    public void SplitStackAndFlipFollowNumpy()
    {
        var pieces = Ops.Split(Arange(6), 3); // axis 0 by default, as in Keras
        Assert.Equal(new[] { new float[] { 0, 1 }, [2, 3], [4, 5] }, pieces.Select(Values).ToArray());
        var stacked = Ops.Stack([pieces[2], pieces[0]]);
        Assert.Equal(new long[] { 2, 2 }, stacked.Value.shape);
        Assert.Equal(new float[] { 4, 5, 0, 1 }, Values(stacked));
        Assert.Equal(new float[] { 3, 2, 1, 0 }, Values(Ops.Flip(Arange(4), 0)));
        Assert.Throws<ArgumentException>(() => Ops.Split(Arange(6), 4));
    }

    [Fact]
    public void CastConvertsToKerasDtypesAndRejectsOthers()
    {
        var x = new KTensor(tensor(new float[] { 1.7f, -0.2f, 0f }));
        Assert.Equal(new long[] { 1, 0, 0 }, Ops.Cast(x, "int64").Value.data<long>().ToArray()); // truncation toward zero
        Assert.Equal(new[] { true, true, false }, Ops.Cast(x, "bool").Value.data<bool>().ToArray());
        var e = Assert.Throws<ArgumentException>(() => Ops.Cast(x, "float16"));
        Assert.Contains("float16", e.Message);
    }

    [Fact]
    public void ScalarAddAndMultiplyAreKerasAddAndMultiply()
    {
        Assert.Equal(new float[] { -1, 1.5f, 4 }, Values(Ops.Add(Ops.Multiply(Arange(3), 2.5), -1.0)));
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void TheOpsExportWithParityForAnyBatchSize(int opset)
    {
        using var model = new Sequential(new InputLayer([4, 6]), new KerasVocabularyLayer());
        // x[b, 1 + r, 2 + c] for rows r < 2 and columns c < 3: after the flip, row 0 of the output is column 2, and so on.
        var x = Arange(1, 4, 6);
        var y = Values(model.Predict(x.Value));
        float At(int r, int c) => 6 * (1 + r) + 2 + c;
        Assert.Equal(new[] { At(0, 2) * 2.5f - 1 + At(0, 0), At(1, 2) * 2.5f - 1 + At(1, 0) }, y);
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset, Verify = true });
        OnnxTestHelpers.AssertParity(model, bytes, 1);
        OnnxTestHelpers.AssertParity(model, bytes, 3, seed: 2);
        var types = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Superset(new HashSet<string> { "Slice", "Gather", "Concat", "Cast", "Not" }, types);
    }
}
