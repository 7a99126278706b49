using OnnxKeras.Layers;
using Xunit;
using static OnnxKeras.Tests.Layers.FamilyTestUtil;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

public class EinsumDenseTests
{
    public static TheoryData<string, long?[], string, long[], long[]> Equations => new()
    {
        { "ab,bc->ac", [3], "c", [4], [3] },
        { "abc,cd->abd", [null, 3], "d", [2, 4], [2, 3] },
        { "abc,cde->abde", [null, 2, 3], "de", [2, 4], [2, 2, 3] },
        { "abcd,cde->abe", [null, 3], "e", [2, 2, 3], [2, 3] },
    };

    [Theory]
    [MemberData(nameof(Equations))]
    public void EinsumDenseHarness(string equation, long?[] outputShape, string biasAxes, long[] input, long[] output) =>
        LayerTestHarness.Run(new EinsumDense(equation, new Shape(outputShape), biasAxes: biasAxes, activation: "tanh"),
            Shape.Of(input), Shape.Of(output), 2, 0);

    [Fact]
    public void KernelAndBiasShapesFollowKeras()
    {
        // Keras's _analyze_split_string: kernel axes sized from the input or the output; the bias spans from the first bias
        // axis to the last output axis, with 1 on the output axes that are not bias axes.
        var a = new EinsumDense("abc,cde->abde", [null, 2, 3], biasAxes: "e");
        a.EnsureBuilt(new Shape(null, 5, 4));
        Assert.Equal(Shape.Of(4, 2, 3), a.Kernel.Shape);
        Assert.Equal(Shape.Of(3), a.Bias!.Shape);
        var b = new EinsumDense("abc,cde->abde", [null, 2, 3], biasAxes: "d");
        b.EnsureBuilt(new Shape(null, 5, 4));
        Assert.Equal(Shape.Of(2, 1), b.Bias!.Shape);
        var c = new EinsumDense("abcd,cde->abe", [null, 6]);
        c.EnsureBuilt(new Shape(null, 5, 2, 3));
        Assert.Equal(Shape.Of(2, 3, 6), c.Kernel.Shape);
        Assert.Null(c.Bias);
        Assert.Equal(new Shape(null, 5, 6), c.ComputeOutputShape(new Shape(null, 5, 2, 3)));
        Assert.Equal(["kernel"], c.Weights.Select(w => w.Name));
    }

    [Fact]
    public void ProjectionMatchesLoops()
    {
        // y[a,b,d,e] = sum_c x[a,b,c] * W[c,d,e] + bias[d,e], computed with loops.
        var layer = new EinsumDense("abc,cde->abde", [null, 2, 3], biasAxes: "de");
        var x = T(Wave(2 * 3 * 4), 2, 3, 4);
        var y = Values(layer.Apply(x));
        var w = layer.Kernel.ToArray();
        layer.Bias!.Assign(Wave(6, 0.5));
        y = Values(layer.Apply(x));
        var bias = layer.Bias.ToArray();
        var xs = Values(x);
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                for (int d = 0; d < 2; d++)
                    for (int e = 0; e < 3; e++)
                    {
                        double acc = bias[d * 3 + e];
                        for (int c = 0; c < 4; c++) acc += xs[(a * 3 + b) * 4 + c] * (double)w[(c * 2 + d) * 3 + e];
                        Assert.Equal(acc, y[((a * 3 + b) * 2 + d) * 3 + e], 5);
                    }
    }

    [Fact]
    public void BadEquationsAreRefused()
    {
        var ellipsis = Assert.Throws<NotSupportedException>(() => new EinsumDense("...b,bc->...c", [3]));
        Assert.Contains("ellipsis", ellipsis.Message);
        Assert.Contains("form 'input,kernel->output'", Assert.Throws<ArgumentException>(() => new EinsumDense("ab,bc", [3])).Message);
        Assert.Contains("form 'input,kernel->output'", Assert.Throws<ArgumentException>(() => new EinsumDense("a1,bc->ac", [3])).Message);
        Assert.Contains("output_shape", Assert.Throws<ArgumentException>(() => new EinsumDense("abc,cd->abd", [3])).Message);
        Assert.Contains("bias_axes 'z'", Assert.Throws<ArgumentException>(() => new EinsumDense("ab,bc->ac", [3], biasAxes: "z")).Message);
        Assert.Contains("kernel axis 'x'", Assert.Throws<ArgumentException>(() => new EinsumDense("ab,bx->ab", [3])).Message);
        var rank = Assert.Throws<ArgumentException>(() => new EinsumDense("ab,bc->ac", [3]).Apply(Keras.Input([2, 4])));
        Assert.Contains("rank 2", rank.Message);
        Assert.Contains("ellipses", Assert.Throws<NotSupportedException>(() => Ops.Einsum("...a,ab->...b", ones(2, 3), ones(3, 2))).Message);
        Assert.Contains("rank 2", Assert.Throws<ArgumentException>(() => Ops.Einsum("abc,cd->abd", ones(2, 3), ones(3, 2))).Message);
    }

    [Fact]
    public void IntOutputShapeInAConfigIsOneAxis()
    {
        // Keras writes output_shape as an int when it was given as one ("ab,bc->ac" with output_shape=64).
        var config = new EinsumDense("ab,bc->ac", [3]).GetConfig();
        config["output_shape"] = 3L;
        var layer = (EinsumDense)LayerRegistry.FromConfig(typeof(EinsumDense), config);
        Assert.Equal(Shape.Of(3), layer.OutputShape);
    }
}
