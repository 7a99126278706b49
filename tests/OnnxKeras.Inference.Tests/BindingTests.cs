using Xunit;

namespace OnnxKeras.Inference.Tests;

public class BindingTests
{
    [Fact]
    public void RepeatedRunsReuseBuffersAndMatchHandComputedValues()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        using var b = m.CreateBinding(2, 3);
        Assert.Equal(["x"], b.InputNames);
        Assert.Equal(["y"], b.OutputNames);
        Assert.Equal([2L, 3L], b.GetInputShape("x"));

        var input = b.GetInputBuffer<float>("x");
        Assert.Equal(6, input.Length);
        new float[] { 1, 2, 3, 0, 0, 0 }.CopyTo(input);
        b.Run();
        var y = b.GetOutput("y");
        Assert.Equal([2L, 2L], b.GetOutputShape("y"));
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), y[0], 1e-6);
        Assert.Equal(Math.Exp(0.5) / (1 + Math.Exp(0.5)), y[3], 1e-6);
        var copy = b.GetOutputCopy("y");

        // Second run with new values in the same bound buffer: the same output buffer is overwritten.
        b.SetInput<float>("x", [-1, 1, 0, 1, 2, 3]);
        b.Run();
        var y2 = b.GetOutput("y");
        Assert.Equal(1 / (1 + Math.Exp(1.5)), y2[0], 1e-6);
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), y2[2], 1e-6);
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), copy.Data[0], 1e-6); // the copy is the caller's
        Assert.Equal(m.Predict(new float[] { -1, 1, 0, 1, 2, 3 }, [2, 3]).Data, y2.ToArray());
    }

    [Fact]
    public void MultiInputBindingAndOutputsTheBindingCannotPresize()
    {
        using var addMul = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());
        using (var b = addMul.CreateBinding(new Dictionary<string, long[]> { ["a"] = [1, 2], ["b"] = [1, 2] }))
        {
            b.SetInput<float>("a", [3, 4]);
            b.SetInput<float>("b", [0.5f, -2]);
            b.Run();
            Assert.Equal([3.5f, 2f], b.GetOutput("sum").ToArray());
            Assert.Equal([1.5f, -8f], b.GetOutput("prod").ToArray());
        }

        // Output nz is [2, number of non-zeros]: ONNX Runtime allocates it per run and the binding copies it out.
        using var m = OnnxModel.Load(TestModels.ReluAndNonZero(), TestModels.Cpu());
        using var bn = m.CreateBinding(3, 2);
        bn.SetInput<float>("x", [1, -2, 0, 0, 5, -6]);
        bn.Run();
        // Non-zeros at (0,0), (0,1), (2,0), (2,1): row indices then column indices.
        Assert.Equal([2L, 4L], bn.GetOutputShape("nz"));
        Assert.Equal([0f, 0f, 2f, 2f, 0f, 1f, 0f, 1f], bn.GetOutput("nz").ToArray());
        Assert.Equal([1f, 0f, 0f, 0f, 5f, 0f], bn.GetOutput("y").ToArray());
        bn.SetInput<float>("x", [0, 1, 0, 1, 0, 1]);
        bn.Run();
        Assert.Equal([2L, 3L], bn.GetOutputShape("nz"));
        Assert.Equal([0f, 1f, 2f, 1f, 1f, 1f], bn.GetOutput("nz").ToArray());
        Assert.Equal([0f, 1f, 0f, 1f, 0f, 1f], bn.GetOutput("y").ToArray());
    }

    [Fact]
    public void Int64InputBinding()
    {
        using var m = OnnxModel.Load(TestModels.CastInt64(), TestModels.Cpu());
        using var b = m.CreateBinding(1, 2);
        b.SetInput<long>("ids", [5, -9]);
        b.Run();
        Assert.Equal([5f, -9f], b.GetOutput("y").ToArray());
        var e = Assert.Throws<ArgumentException>(() => b.GetInputBuffer<float>("ids"));
        Assert.Contains("Int64", e.Message);
    }

    [Fact]
    public void BindingMisuseIsReported()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var shapeError = Assert.Throws<ArgumentException>(() => m.CreateBinding(2, 4));
        Assert.Contains("Input 'x' expects shape [batch, 3] but got shape [2, 4]", shapeError.Message);
        var missing = Assert.Throws<ArgumentException>(() => m.CreateBinding(new Dictionary<string, long[]>()));
        Assert.Contains("'x'", missing.Message);

        using var b = m.CreateBinding(2, 3);
        Assert.Throws<InvalidOperationException>(() => b.GetOutput("y").ToArray());
        var length = Assert.Throws<ArgumentException>(() => b.SetInput<float>("x", [1, 2, 3]));
        Assert.Contains("[2, 3] (6 elements) but got 3 values", length.Message);
        Assert.Throws<ArgumentException>(() => b.GetInputBuffer<float>("z"));
        b.Run();
        Assert.Throws<ArgumentException>(() => b.GetOutput("nope").ToArray());
        b.Dispose();
        Assert.Throws<ObjectDisposedException>(() => b.Run());
    }

    [Fact]
    public void DisposingTheModelDisposesItsOpenBindings()
    {
        var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var b = m.CreateBinding(1, 3);
        using (var closed = m.CreateBinding(2, 3)) closed.Run();
        b.SetInput<float>("x", [1, 2, 3]);
        b.Run();
        m.Dispose();
        Assert.Throws<ObjectDisposedException>(() => b.Run());
        Assert.Throws<ObjectDisposedException>(() => b.GetInputBuffer<float>("x"));
        b.Dispose(); // idempotent after the model disposed it
    }

    [Fact]
    public void ABindingLargerThanAnArrayIsAnArgumentException()
    {
        // Issue 13, item 8: 2^40 rows of 3 used to end in OverflowException from a checked cast.
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var e = Assert.Throws<ArgumentException>(() => m.CreateBinding(1L << 40, 3));
        Assert.Contains("Input 'x' would have shape [1099511627776, 3]: more elements than one .NET array holds", e.Message, StringComparison.Ordinal);
        using var ok = m.CreateBinding(2, 3);   // the model is still usable
    }
}
