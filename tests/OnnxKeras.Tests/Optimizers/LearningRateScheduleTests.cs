using OnnxKeras.Optimizers;
using Xunit;

namespace OnnxKeras.Tests.Optimizers;

/// <summary>
/// Learning-rate schedules at chosen steps against values worked out by hand from the formulas of
/// keras/src/optimizers/schedules/learning_rate_schedule.py.
/// </summary>
public class LearningRateScheduleTests
{
    private const double Tol = 1e-12;

    [Fact]
    public void ExponentialDecay_Continuous()
    {
        // 1.0 * 0.5^(step / 10)
        var s = new ExponentialDecay(1.0, 10, 0.5);
        Assert.Equal(1.0, s.At(0), Tol);
        Assert.Equal(1 / Math.Sqrt(2), s.At(5), Tol);        // 0.5^0.5
        Assert.Equal(0.5, s.At(10), Tol);                   // 0.5^1
        Assert.Equal(0.125 * Math.Sqrt(2), s.At(25), Tol);  // 0.5^2.5 = 0.25 / sqrt(2)
    }

    [Fact]
    public void ExponentialDecay_Staircase()
    {
        // 1.0 * 0.5^floor(step / 10)
        var s = new ExponentialDecay(1.0, 10, 0.5, staircase: true);
        Assert.Equal(1.0, s.At(0), Tol);
        Assert.Equal(1.0, s.At(9), Tol);
        Assert.Equal(0.5, s.At(10), Tol);
        Assert.Equal(0.5, s.At(19), Tol);
        Assert.Equal(0.25, s.At(25), Tol);
    }

    [Fact]
    public void InverseTimeDecay_ContinuousAndStaircase()
    {
        // 0.1 / (1 + 0.5 * step / 10), the ratio floored when staircase
        var s = new InverseTimeDecay(0.1, 10, 0.5);
        Assert.Equal(0.1, s.At(0), Tol);
        Assert.Equal(0.08, s.At(5), Tol);        // 0.1 / 1.25
        Assert.Equal(0.1 / 2.25, s.At(25), Tol); // 1 + 0.5 * 2.5
        var st = new InverseTimeDecay(0.1, 10, 0.5, staircase: true);
        Assert.Equal(0.1, st.At(5), Tol);        // floor(0.5) = 0
        Assert.Equal(0.1 / 1.5, st.At(10), Tol); // floor(1) = 1
        Assert.Equal(0.05, st.At(25), Tol);      // floor(2.5) = 2: 0.1 / 2
    }

    [Fact]
    public void CosineDecay_WithoutAlpha()
    {
        // 0.1 * 0.5 * (1 + cos(pi * min(step, 100) / 100))
        var s = new CosineDecay(0.1, 100);
        Assert.Equal(0.1, s.At(0), Tol);
        Assert.Equal(0.05 * (1 + Math.Sqrt(0.5)), s.At(25), Tol); // cos(pi/4) = sqrt(1/2)
        Assert.Equal(0.05, s.At(50), Tol);                        // cos(pi/2) = 0
        Assert.Equal(0.0, s.At(100), Tol);                        // cos(pi) = -1
        Assert.Equal(0.0, s.At(250), Tol);                        // step clamped to decay_steps
    }

    [Fact]
    public void CosineDecay_WithAlpha()
    {
        // 0.1 * ((1 - 0.2) * 0.5 * (1 + cos(pi * min(step, 100) / 100)) + 0.2)
        var s = new CosineDecay(0.1, 100, alpha: 0.2);
        Assert.Equal(0.1, s.At(0), Tol);
        Assert.Equal(0.1 * (0.4 * (1 + Math.Sqrt(0.5)) + 0.2), s.At(25), Tol);
        Assert.Equal(0.06, s.At(50), Tol);  // 0.1 * (0.8 * 0.5 + 0.2)
        Assert.Equal(0.02, s.At(100), Tol); // 0.1 * alpha
        Assert.Equal(0.02, s.At(1000), Tol);
    }

    [Fact]
    public void PiecewiseConstantDecay_BoundariesBelongToTheLowerPiece()
    {
        // values[0] for step <= 10, values[1] for 10 < step <= 20, values[2] after.
        var s = new PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]);
        Assert.Equal(1.0, s.At(0));
        Assert.Equal(1.0, s.At(10));
        Assert.Equal(0.5, s.At(11));
        Assert.Equal(0.5, s.At(20));
        Assert.Equal(0.1, s.At(21));
        Assert.Equal(0.1, s.At(1000));
    }

    [Fact]
    public void PiecewiseConstantDecay_NeedsOneMoreValueThanBoundaries()
    {
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([10, 20], [1.0, 0.5]));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([10], [1.0, 0.5, 0.1]));
    }

    [Fact]
    public void ConstantRate_IsTheSameAtEveryStep()
    {
        LearningRate lr = 0.03;
        Assert.Equal(0.03, lr.At(0));
        Assert.Equal(0.03, lr.At(12345));
        Assert.Throws<ArgumentException>(() => new ConstantLearningRate(-1));
    }
}
