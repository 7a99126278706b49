using OnnxKeras.Optimizers;
using Xunit;
using static OnnxKeras.Tests.Numeric;
using static OnnxKeras.Tests.Optimizers.OptimizerTestHelpers;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Optimizers;

/// <summary>Gradients.Of and Optimizer.ApplyGradients, the building blocks of a custom training step.</summary>
public class ApplyGradientsTests
{
    private static Tensor Grad(params float[] values) => tensor(values);

    [Fact]
    public void GradientsOfIsTheDerivativeAndNullForAnUnusedVariable()
    {
        using var holder = new WeightHolder([1, 2], [3], [5]);
        var (a, b, unused) = (holder.Vars[0], holder.Vars[1], holder.Vars[2]);
        using var scope = NewDisposeScope();
        // L = sum(a^2) * b: dL/da = 2 a b = [6, 12], dL/db = sum(a^2) = 5.
        var loss = a.Value.square().sum() * b.Value.sum();
        var grads = Gradients.Of(loss, [a, b, unused]);
        Assert.Equal([6f, 12f], grads[0]!.data<float>().ToArray());
        Assert.Equal([5f], grads[1]!.data<float>().ToArray());
        Assert.Null(grads[2]);
        Assert.Null(a.Value.grad); // the variables' own gradients are left alone
        Assert.False(grads[0]!.requires_grad);
    }

    [Fact]
    public void GradientsOfRefusesANonScalarLossAndALossWithoutGradient()
    {
        using var holder = new WeightHolder([1, 2]);
        using var scope = NewDisposeScope();
        Assert.Contains("scalar", Assert.Throws<ArgumentException>(() => Gradients.Of(holder.Vars[0].Value * 2, holder.Vars)).Message);
        Tensor detached;
        using (no_grad()) detached = holder.Vars[0].Value.sum();
        Assert.Contains("no_grad", Assert.Throws<ArgumentException>(() => Gradients.Of(detached, holder.Vars)).Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ApplyGradientsFollowsTheUpdateRuleOnPackedAndSeparateVariables(bool pack)
    {
        bool before = Optimizer.PackVariables;
        Optimizer.PackVariables = pack;
        try
        {
            using var holder = new WeightHolder([1, 2], [3]);
            using var sgd = new SGD(0.1, momentum: 0.5);
            // Keras SGD with momentum: m = 0.5 m - 0.1 g; w += m. Step 1: m = -0.1 g. Step 2: m = -0.05 g1 - 0.1 g2.
            sgd.ApplyGradients([(Grad(1, -2), holder.Vars[0]), (Grad(4), holder.Vars[1])]);
            AllClose(new[] { 0.9, 2.2, 2.6 }, Values(holder.Vars), rtol: 1e-6, atol: 1e-7);
            // The same variables in another order, one without gradient this step: it keeps its value (Keras skips it).
            sgd.ApplyGradients([(null, holder.Vars[1]), (Grad(2, 2), holder.Vars[0])]);
            AllClose(new[] { 0.9 - 0.05 - 0.2, 2.2 + 0.1 - 0.2, 2.6 }, Values(holder.Vars), rtol: 1e-6, atol: 1e-7);
            Assert.Equal(2, sgd.Iterations);
        }
        finally
        {
            Optimizer.PackVariables = before;
        }
    }

    [Fact]
    public void ApplyGradientsRefusesWrongShapesRepeatsAndAnotherSetOfVariables()
    {
        using var holder = new WeightHolder([1, 2], [3]);
        using var other = new WeightHolder([0]);
        using var adam = new Adam(0.01);
        Assert.Contains("shape", Assert.Throws<ArgumentException>(() => adam.ApplyGradients([(Grad(1), holder.Vars[0])])).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(
            () => adam.ApplyGradients([(Grad(1, 1), holder.Vars[0]), (Grad(1, 1), holder.Vars[0])])).Message);
        Assert.Throws<ArgumentException>(() => adam.Apply([Grad(1, 1)], holder.Vars));
        adam.ApplyGradients([(Grad(1, 1), holder.Vars[0]), (Grad(1), holder.Vars[1])]);
        Assert.Throws<InvalidOperationException>(() => adam.ApplyGradients([(Grad(1), other.Vars[0])]));
    }
}
