using OnnxKeras.Optimizers;
using Xunit;
using static OnnxKeras.Tests.Optimizers.OptimizerTestHelpers;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Optimizers;

/// <summary>
/// The shared machinery of <see cref="Optimizer"/> (keras/src/optimizers/base_optimizer.py): gradient clipping,
/// decoupled weight decay, the learning rate taken at the current iteration, the iteration counter, lookup by
/// name and argument checks. Plain SGD with lr = 1 makes the applied gradient visible as the weight change.
/// </summary>
public class OptimizerBehaviorTests
{
    [Fact]
    public void ClipNorm_RescalesEachGradientToItsOwnNorm()
    {
        // clip_by_norm per variable: g * c / max(||g||, c). c = 1:
        // g0 = [3, 4], ||g0|| = 5 -> [0.6, 0.8]; g1 = [0.3, 0.4], ||g1|| = 0.5 <= 1 -> unchanged.
        using var holder = new WeightHolder([1.0, 1.0], [1.0, 1.0]);
        using var opt = new SGD(1.0, clipNorm: 1.0);
        SetGrad(holder.Vars[0], [3.0, 4.0]);
        SetGrad(holder.Vars[1], [0.3, 0.4]);
        opt.Apply(holder.Vars);
        AllClose([1 - 0.6, 1 - 0.8, 1 - 0.3, 1 - 0.4], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void GlobalClipNorm_RescalesAllGradientsByTheirJointNorm()
    {
        // clip_by_global_norm: joint norm = sqrt(3^2 + 4^2 + 0.3^2 + 0.4^2) = sqrt(25.25); c = 1,
        // every gradient is multiplied by c / max(norm, c) = 1 / sqrt(25.25).
        using var holder = new WeightHolder([1.0, 1.0], [1.0, 1.0]);
        using var opt = new SGD(1.0, globalClipNorm: 1.0);
        SetGrad(holder.Vars[0], [3.0, 4.0]);
        SetGrad(holder.Vars[1], [0.3, 0.4]);
        opt.Apply(holder.Vars);
        double f = 1 / Math.Sqrt(25.25);
        AllClose([1 - 3 * f, 1 - 4 * f, 1 - 0.3 * f, 1 - 0.4 * f], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void GlobalClipNorm_LeavesSmallGradientsUnchanged()
    {
        // joint norm sqrt(0.09 + 0.16 + 0.01) = sqrt(0.26) < 1: factor 1.
        using var holder = new WeightHolder([1.0, 1.0], [1.0]);
        using var opt = new SGD(1.0, globalClipNorm: 1.0);
        SetGrad(holder.Vars[0], [0.3, -0.4]);
        SetGrad(holder.Vars[1], [0.1]);
        opt.Apply(holder.Vars);
        AllClose([0.7, 1.4, 0.9], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void ClipValue_ClampsEachElement()
    {
        // clip(g, -0.5, 0.5): [3, -4, 0.2] -> [0.5, -0.5, 0.2]; [-0.7] -> [-0.5]
        using var holder = new WeightHolder([1.0, 1.0, 1.0], [1.0]);
        using var opt = new SGD(1.0, clipValue: 0.5);
        SetGrad(holder.Vars[0], [3.0, -4.0, 0.2]);
        SetGrad(holder.Vars[1], [-0.7]);
        opt.Apply(holder.Vars);
        AllClose([0.5, 1.5, 0.8, 1.5], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void ClippingHappensBeforeTheUpdateRule()
    {
        // Adagrad sees the clipped gradient: g = [3, 4] -> [0.6, 0.8] (clipnorm 1);
        // acc = 0.1 + g^2; w -= lr g / sqrt(acc + eps), lr = 0.5, eps = 1e-7.
        using var holder = new WeightHolder([1.0, 1.0]);
        using var opt = new Adagrad(0.5, clipNorm: 1.0);
        SetGrad(holder.Vars[0], [3.0, 4.0]);
        opt.Apply(holder.Vars);
        double w0 = 1 - 0.5 * 0.6 / Math.Sqrt(0.1 + 0.36 + 1e-7);
        double w1 = 1 - 0.5 * 0.8 / Math.Sqrt(0.1 + 0.64 + 1e-7);
        AllClose([w0, w1], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void OnlyOneClippingOptionIsAllowed()
    {
        Assert.Throws<ArgumentException>(() => new SGD(clipNorm: 1.0, clipValue: 1.0));
        Assert.Throws<ArgumentException>(() => new Adam(clipNorm: 1.0, globalClipNorm: 1.0));
        Assert.Throws<ArgumentException>(() => new RMSprop(clipValue: 1.0, globalClipNorm: 1.0));
        Assert.Throws<ArgumentException>(() => new SGD(clipNorm: 0.0));
        Assert.Throws<ArgumentException>(() => new SGD(weightDecay: -0.1));
    }

    [Fact]
    public void WeightDecay_IsDecoupledAndUsesTheLearningRate()
    {
        // base_optimizer.py _apply_weight_decay, before the update: w -= w * wd * lr; then SGD w -= lr g.
        // lr = 0.1, wd = 0.5: step 1 w = 2 - 2*0.05 - 0.1*1 = 1.8; step 2 w = 1.8 - 1.8*0.05 - 0.1*(-2) = 1.91.
        // The decay is not a gradient term: with g = 0 the weight still shrinks (second variable: 4 -> 3.8 -> 3.61).
        using var holder = new WeightHolder([2.0], [4.0]);
        using var opt = new SGD(0.1, weightDecay: 0.5);
        SetGrad(holder.Vars[0], [1.0]);
        SetGrad(holder.Vars[1], [0.0]);
        opt.Apply(holder.Vars);
        AllClose([1.8, 3.8], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
        SetGrad(holder.Vars[0], [-2.0]);
        SetGrad(holder.Vars[1], [0.0]);
        opt.Apply(holder.Vars);
        AllClose([1.91, 3.61], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void WeightDecay_UsesTheScheduledLearningRateOfTheStep()
    {
        // lr = 0.5 at step 0, 0.25 at step 1 (PiecewiseConstantDecay, boundary 0); wd = 0.2, g = 0:
        // w = 1 * (1 - 0.2*0.5) = 0.9; then 0.9 * (1 - 0.2*0.25) = 0.855.
        using var holder = new WeightHolder([1.0]);
        using var opt = new SGD(new PiecewiseConstantDecay([0], [0.5, 0.25]), weightDecay: 0.2);
        SetGrad(holder.Vars[0], [0.0]);
        opt.Apply(holder.Vars);
        AllClose([0.9], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
        SetGrad(holder.Vars[0], [0.0]);
        opt.Apply(holder.Vars);
        AllClose([0.855], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void Schedule_IsEvaluatedAtTheIterationCount()
    {
        // PiecewiseConstantDecay([0, 1], [0.5, 0.25, 0.125]): step 0 -> 0.5, step 1 -> 0.25, step >= 2 -> 0.125.
        // SGD with g = 1: w = 1 - 0.5 = 0.5 -> 0.5 - 0.25 = 0.25 -> 0.25 - 0.125 = 0.125 -> 0.
        using var holder = new WeightHolder([1.0]);
        using var opt = new SGD(new PiecewiseConstantDecay([0, 1], [0.5, 0.25, 0.125]));
        double[] expectedLr = [0.5, 0.25, 0.125, 0.125];
        double[] expectedW = [0.5, 0.25, 0.125, 0.0];
        for (int step = 0; step < 4; step++)
        {
            Assert.Equal(step, opt.Iterations);
            Assert.Equal(expectedLr[step], opt.CurrentLearningRate);
            SetGrad(holder.Vars[0], [1.0]);
            opt.Apply(holder.Vars);
            AllClose([expectedW[step]], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
        }
        Assert.Equal(4, opt.Iterations);
    }

    [Fact]
    public void Schedule_DrivesAdamsStepSizeAtEachIteration()
    {
        // ExponentialDecay(0.1, 1, 0.5): lr = 0.1 at step 0, 0.05 at step 1. Adam with g = 1 both steps
        // (b1 0.9, b2 0.999, eps 1e-7): m1 = 0.1, v1 = 0.001, alpha1 = 0.1 sqrt(0.001)/0.1;
        // m2 = 0.19, v2 = 0.001999, alpha2 = 0.05 sqrt(1 - 0.999^2)/(1 - 0.9^2).
        using var holder = new WeightHolder([0.0]);
        using var opt = new Adam(new ExponentialDecay(0.1, 1, 0.5));
        double w = 0;
        w -= 0.1 * Math.Sqrt(1 - 0.999) / (1 - 0.9) * 0.1 / (Math.Sqrt(0.001) + 1e-7);
        SetGrad(holder.Vars[0], [1.0]);
        opt.Apply(holder.Vars);
        AllClose([w], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
        w -= 0.05 * Math.Sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9) * 0.19 / (Math.Sqrt(0.001999) + 1e-7);
        SetGrad(holder.Vars[0], [1.0]);
        opt.Apply(holder.Vars);
        AllClose([w], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void ConstantLearningRate_CanBeChangedBetweenSteps()
    {
        // lr 0.5 then 0.1, g = 1: w = 1 - 0.5 = 0.5; 0.5 - 0.1 = 0.4.
        using var holder = new WeightHolder([1.0]);
        var lr = new ConstantLearningRate(0.5);
        using var opt = new SGD(lr);
        SetGrad(holder.Vars[0], [1.0]);
        opt.Apply(holder.Vars);
        lr.Value = 0.1;
        Assert.Equal(0.1, opt.CurrentLearningRate);
        SetGrad(holder.Vars[0], [1.0]);
        opt.Apply(holder.Vars);
        AllClose([0.4], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
        Assert.Throws<ArgumentException>(() => lr.Value = -0.1);
        lr.Value = 0.0; // Keras accepts a zero learning rate (no update)
        Assert.Throws<ArgumentException>(() => lr.Value = double.NaN);
    }

    [Fact]
    public void VariablesWithoutGradient_AreLeftAlone()
    {
        // Only the first variable has a gradient: it moves by -lr g = -0.5; the second keeps its value,
        // also under weight decay; the step still counts.
        using var holder = new WeightHolder([1.0], [2.0]);
        using var opt = new SGD(0.5, weightDecay: 0.1);
        SetGrad(holder.Vars[0], [1.0]);
        Assert.Null(holder.Vars[1].Value.grad);
        opt.Apply(holder.Vars);
        AllClose([1.0 - 1.0 * 0.1 * 0.5 - 0.5, 2.0], Values(holder.Vars), rtol: 1e-5, atol: 1e-6);
        Assert.Equal(1, opt.Iterations);
    }

    [Fact]
    public void ADifferentSetOfVariables_Throws()
    {
        using var holder = new WeightHolder([1.0], [2.0]);
        using var other = new WeightHolder([3.0]);
        using var opt = new Adam();
        SetGrad(holder.Vars[0], [1.0]);
        SetGrad(holder.Vars[1], [1.0]);
        opt.Apply(holder.Vars);
        Assert.Throws<InvalidOperationException>(() => opt.Apply([holder.Vars[0]]));
        Assert.Throws<InvalidOperationException>(() => opt.Apply([holder.Vars[1], holder.Vars[0]]));
        Assert.Throws<InvalidOperationException>(() => opt.Apply([holder.Vars[0], other.Vars[0]]));
        Assert.Equal(1, opt.Iterations);
        // The same list again is fine.
        opt.Apply(holder.Vars);
        Assert.Equal(2, opt.Iterations);
    }

    [Theory]
    [InlineData("sgd", typeof(SGD))]
    [InlineData("adam", typeof(Adam))]
    [InlineData("Adam", typeof(Adam))]
    [InlineData("adamw", typeof(AdamW))]
    [InlineData("rmsprop", typeof(RMSprop))]
    [InlineData("adagrad", typeof(Adagrad))]
    [InlineData("adadelta", typeof(Adadelta))]
    [InlineData("adamax", typeof(Adamax))]
    [InlineData("nadam", typeof(Nadam))]
    public void LookupByName_GivesThatOptimizer(string name, Type type)
    {
        Optimizer opt = name;
        using var _ = opt;
        Assert.IsType(type, opt);
        Assert.Equal(0, opt.Iterations);
    }

    [Fact]
    public void LookupByName_GivesAFreshInstanceEachTime()
    {
        using var a = OptimizerRegistry.Get("adam");
        using var b = OptimizerRegistry.Get("adam");
        Assert.NotSame(a, b);
    }

    [Fact]
    public void LookupByUnknownName_ThrowsListingValidNames()
    {
        var e = Assert.Throws<ArgumentException>(() => { Optimizer o = "adamm"; });
        Assert.Contains("adamm", e.Message);
        foreach (var n in new[] { "adadelta", "adagrad", "adam", "adamax", "adamw", "nadam", "rmsprop", "sgd" })
            Assert.Contains(n, e.Message);
    }
}
