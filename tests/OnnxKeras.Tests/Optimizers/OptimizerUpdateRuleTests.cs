using OnnxKeras.Optimizers;
using Xunit;
using static OnnxKeras.Tests.Optimizers.OptimizerTestHelpers;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Optimizers;

/// <summary>
/// Each optimizer's update rule over two steps (so step counts, bias corrections and slot state matter), on two
/// variables (so per-variable state is kept apart), against the rule of keras/src/optimizers/*.py evaluated
/// element by element in double arithmetic. Hyperparameters are chosen so every term is visible: e.g. a large
/// epsilon tells Keras's epsilon placement from PyTorch's.
/// </summary>
public class OptimizerUpdateRuleTests
{
    private static readonly double[][] Initial = [[1.0, -0.5, 2.0], [0.3, -1.2]];
    private static readonly double[][][] Grads =
    [
        [[0.4, -0.2, 1.5], [-0.7, 0.05]],
        [[-0.3, 0.6, 0.9], [0.2, -0.4]],
    ];

    /// <summary>Starting values of all elements, flattened (every rule below is elementwise).</summary>
    private static double[] W0() => Initial.SelectMany(x => x).ToArray();

    /// <summary>Gradients of all elements at each of the two steps, flattened like <see cref="W0"/>.</summary>
    private static double[][] Steps() => Grads.Select(step => step.SelectMany(x => x).ToArray()).ToArray();

    /// <summary>Applies <see cref="Grads"/> for two steps and returns the flattened weights.</summary>
    private static double[] RunTwoSteps(Optimizer opt)
    {
        using var holder = new WeightHolder(Initial);
        using var _ = opt;
        Assert.Equal(0, opt.Iterations);
        for (int step = 0; step < Grads.Length; step++)
        {
            for (int k = 0; k < holder.Vars.Length; k++) SetGrad(holder.Vars[k], Grads[step][k]);
            opt.Apply(holder.Vars);
            Assert.Equal(step + 1, opt.Iterations);
        }
        return Values(holder.Vars);
    }

    /// <summary>One case per optimizer configuration: the optimizer and the weights its keras/src/optimizers rule gives after
    /// the two steps, each rule written out by hand below.</summary>
    private static readonly Dictionary<string, Func<(Optimizer Optimizer, double[] Expected)>> Cases = new()
    {
        [nameof(Sgd_Plain)] = Sgd_Plain,
        [nameof(Sgd_Momentum)] = Sgd_Momentum,
        [nameof(Sgd_Nesterov)] = Sgd_Nesterov,
        [nameof(Adam)] = Adam,
        [nameof(Adam_Amsgrad)] = Adam_Amsgrad,
        [nameof(AdamW_DecaysWeightsBeforeTheAdamUpdate)] = AdamW_DecaysWeightsBeforeTheAdamUpdate,
        [nameof(RmsProp_Plain)] = RmsProp_Plain,
        [nameof(RmsProp_CenteredWithMomentum)] = RmsProp_CenteredWithMomentum,
        [nameof(Adagrad)] = Adagrad,
        [nameof(Adadelta)] = Adadelta,
        [nameof(Adamax)] = Adamax,
        [nameof(Nadam)] = Nadam,
    };

    /// <summary>The names of <see cref="Cases"/> as theory data.</summary>
    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void TwoStepsFollowTheKerasRule(string name)
    {
        var (optimizer, expected) = Cases[name]();
        AllClose(expected, RunTwoSteps(optimizer), rtol: 1e-5, atol: 1e-6);
    }

    private static (Optimizer Optimizer, double[] Expected) Sgd_Plain()
    {
        // sgd.py, momentum == 0: w -= lr * g
        const double lr = 0.1;
        var w = W0();
        foreach (var g in Steps())
            for (int i = 0; i < w.Length; i++) w[i] -= lr * g[i];
        return (new SGD(lr), w);
    }

    private static (Optimizer Optimizer, double[] Expected) Sgd_Momentum()
    {
        // sgd.py: m = momentum * m - lr * g; w += m
        const double lr = 0.1, mom = 0.9;
        var w = W0();
        var m = new double[w.Length];
        foreach (var g in Steps())
        {
            for (int i = 0; i < w.Length; i++)
            {
                m[i] = mom * m[i] - lr * g[i];
                w[i] += m[i];
            }
        }
        return (new SGD(lr, momentum: mom), w);
    }

    private static (Optimizer Optimizer, double[] Expected) Sgd_Nesterov()
    {
        // sgd.py, nesterov: m = momentum * m - lr * g; w += momentum * m - lr * g
        const double lr = 0.1, mom = 0.9;
        var w = W0();
        var m = new double[w.Length];
        foreach (var g in Steps())
        {
            for (int i = 0; i < w.Length; i++)
            {
                m[i] = mom * m[i] - lr * g[i];
                w[i] += mom * m[i] - lr * g[i];
            }
        }
        return (new SGD(lr, momentum: mom, nesterov: true), w);
    }

    private static (Optimizer Optimizer, double[] Expected) Adam()
    {
        // adam.py: alpha = lr * sqrt(1 - b2^t) / (1 - b1^t); m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
        // w -= alpha * m / (sqrt(v) + eps)   (eps added to the uncorrected sqrt(v); 0.01 makes that visible)
        const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 0.01;
        var w = W0();
        var m = new double[w.Length];
        var v = new double[w.Length];
        var steps = Steps();
        for (int s = 0; s < steps.Length; s++)
        {
            int t = s + 1;
            double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
            for (int i = 0; i < w.Length; i++)
            {
                double g = steps[s][i];
                m[i] += (g - m[i]) * (1 - b1);
                v[i] += (g * g - v[i]) * (1 - b2);
                w[i] -= alpha * m[i] / (Math.Sqrt(v[i]) + eps);
            }
        }
        return (new Adam(lr, beta1: b1, beta2: b2, epsilon: eps), w);
    }

    private static (Optimizer Optimizer, double[] Expected) Adam_Amsgrad()
    {
        // adam.py, amsgrad: as Adam, but v_hat = max(v_hat, v) replaces v in the denominator.
        // beta2 = 0.5 makes v shrink at step 2 for elements 2 and 3 (|g2| < |g1| / sqrt(2)), so v_hat != v there.
        const double lr = 0.1, b1 = 0.9, b2 = 0.5, eps = 1e-3;
        var w = W0();
        var m = new double[w.Length];
        var v = new double[w.Length];
        var vhat = new double[w.Length];
        var steps = Steps();
        for (int s = 0; s < steps.Length; s++)
        {
            int t = s + 1;
            double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
            for (int i = 0; i < w.Length; i++)
            {
                double g = steps[s][i];
                m[i] += (g - m[i]) * (1 - b1);
                v[i] += (g * g - v[i]) * (1 - b2);
                vhat[i] = Math.Max(vhat[i], v[i]);
                w[i] -= alpha * m[i] / (Math.Sqrt(vhat[i]) + eps);
            }
        }
        return (new Adam(lr, beta1: b1, beta2: b2, epsilon: eps, amsgrad: true), w);
    }

    private static (Optimizer Optimizer, double[] Expected) AdamW_DecaysWeightsBeforeTheAdamUpdate()
    {
        // adamw.py is Adam with weight_decay = 0.004 by default; optimizer.py _apply_weight_decay runs first:
        // w -= w * wd * lr, then the Adam rule above (default eps 1e-7).
        const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7, wd = 0.004;
        var w = W0();
        var m = new double[w.Length];
        var v = new double[w.Length];
        var steps = Steps();
        for (int s = 0; s < steps.Length; s++)
        {
            int t = s + 1;
            double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
            for (int i = 0; i < w.Length; i++)
            {
                double g = steps[s][i];
                w[i] -= w[i] * wd * lr;
                m[i] += (g - m[i]) * (1 - b1);
                v[i] += (g * g - v[i]) * (1 - b2);
                w[i] -= alpha * m[i] / (Math.Sqrt(v[i]) + eps);
            }
        }
        var opt = new AdamW(lr);
        Assert.Equal(0.004, opt.WeightDecay);
        return (opt, w);
    }

    private static (Optimizer Optimizer, double[] Expected) RmsProp_Plain()
    {
        // rmsprop.py: v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps)   (eps inside the root; 0.01 makes it visible)
        const double lr = 0.1, rho = 0.9, eps = 0.01;
        var w = W0();
        var v = new double[w.Length];
        foreach (var g in Steps())
        {
            for (int i = 0; i < w.Length; i++)
            {
                v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
                w[i] -= lr * g[i] / Math.Sqrt(v[i] + eps);
            }
        }
        return (new RMSprop(lr, rho: rho, epsilon: eps), w);
    }

    private static (Optimizer Optimizer, double[] Expected) RmsProp_CenteredWithMomentum()
    {
        // rmsprop.py, centered and momentum > 0:
        // v = rho v + (1 - rho) g^2; a = rho a + (1 - rho) g; inc = lr g / sqrt(v - a^2 + eps);
        // mom = momentum * mom + inc; w -= mom
        const double lr = 0.1, rho = 0.9, eps = 0.01, momentum = 0.5;
        var w = W0();
        var v = new double[w.Length];
        var a = new double[w.Length];
        var mom = new double[w.Length];
        foreach (var g in Steps())
        {
            for (int i = 0; i < w.Length; i++)
            {
                v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
                a[i] = rho * a[i] + (1 - rho) * g[i];
                double inc = lr * g[i] / Math.Sqrt(v[i] - a[i] * a[i] + eps);
                mom[i] = momentum * mom[i] + inc;
                w[i] -= mom[i];
            }
        }
        return (new RMSprop(lr, rho: rho, momentum: momentum, epsilon: eps, centered: true), w);
    }

    private static (Optimizer Optimizer, double[] Expected) Adagrad()
    {
        // adagrad.py: accumulators start at initial_accumulator_value (default 0.1); acc += g^2; w -= lr g / sqrt(acc + eps)
        const double lr = 0.1, eps = 0.05;
        var w = W0();
        var acc = Enumerable.Repeat(0.1, w.Length).ToArray();
        foreach (var g in Steps())
        {
            for (int i = 0; i < w.Length; i++)
            {
                acc[i] += g[i] * g[i];
                w[i] -= lr * g[i] / Math.Sqrt(acc[i] + eps);
            }
        }
        return (new Adagrad(lr, epsilon: eps), w);
    }

    private static (Optimizer Optimizer, double[] Expected) Adadelta()
    {
        // adadelta.py: rms(x) = sqrt(x + eps); Eg = rho Eg + (1 - rho) g^2; d = -rms(Ed) g / rms(Eg);
        // Ed = rho Ed + (1 - rho) d^2; w += lr d
        const double lr = 1.0, rho = 0.95, eps = 1e-3;
        var w = W0();
        var eg = new double[w.Length];
        var ed = new double[w.Length];
        foreach (var g in Steps())
        {
            for (int i = 0; i < w.Length; i++)
            {
                eg[i] = rho * eg[i] + (1 - rho) * g[i] * g[i];
                double d = -Math.Sqrt(ed[i] + eps) * g[i] / Math.Sqrt(eg[i] + eps);
                ed[i] = rho * ed[i] + (1 - rho) * d * d;
                w[i] += lr * d;
            }
        }
        return (new Adadelta(lr, rho: rho, epsilon: eps), w);
    }

    private static (Optimizer Optimizer, double[] Expected) Adamax()
    {
        // adamax.py: m += (g - m)(1 - b1); u = max(b2 u, |g|); w -= lr m / ((1 - b1^t)(u + eps))
        // beta2 = 0.5 makes the max pick b2 u for element 3 at step 2 and |g| elsewhere.
        const double lr = 0.1, b1 = 0.9, b2 = 0.5, eps = 1e-3;
        var w = W0();
        var m = new double[w.Length];
        var u = new double[w.Length];
        var steps = Steps();
        for (int s = 0; s < steps.Length; s++)
        {
            int t = s + 1;
            for (int i = 0; i < w.Length; i++)
            {
                double g = steps[s][i];
                m[i] += (g - m[i]) * (1 - b1);
                u[i] = Math.Max(b2 * u[i], Math.Abs(g));
                w[i] -= lr * m[i] / ((1 - Math.Pow(b1, t)) * (u[i] + eps));
            }
        }
        return (new Adamax(lr, beta1: b1, beta2: b2, epsilon: eps), w);
    }

    private static (Optimizer Optimizer, double[] Expected) Nadam()
    {
        // nadam.py: before each step u_product *= b1 (1 - 0.5 * 0.96^t) (t = iterations + 1), then per variable
        // u_t = b1 (1 - 0.5 * 0.96^t); u_t1 = b1 (1 - 0.5 * 0.96^(t+1)); u_product_t1 = u_product * u_t1;
        // m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
        // m_hat = u_t1 m / (1 - u_product_t1) + (1 - u_t) g / (1 - u_product); v_hat = v / (1 - b2^t);
        // w -= lr m_hat / (sqrt(v_hat) + eps)
        const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 0.01;
        var w = W0();
        var m = new double[w.Length];
        var v = new double[w.Length];
        double uProduct = 1.0;
        var steps = Steps();
        for (int s = 0; s < steps.Length; s++)
        {
            int t = s + 1;
            uProduct *= b1 * (1 - 0.5 * Math.Pow(0.96, t));
            double ut = b1 * (1 - 0.5 * Math.Pow(0.96, t));
            double ut1 = b1 * (1 - 0.5 * Math.Pow(0.96, t + 1));
            double uProductT1 = uProduct * ut1;
            for (int i = 0; i < w.Length; i++)
            {
                double g = steps[s][i];
                m[i] += (g - m[i]) * (1 - b1);
                v[i] += (g * g - v[i]) * (1 - b2);
                double mHat = ut1 * m[i] / (1 - uProductT1) + (1 - ut) * g / (1 - uProduct);
                double vHat = v[i] / (1 - Math.Pow(b2, t));
                w[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
        return (new Nadam(lr, beta1: b1, beta2: b2, epsilon: eps), w);
    }

    [Fact]
    public void Defaults_MatchKeras()
    {
        // Keras 3 constructor defaults (keras/src/optimizers/*.py).
        using var sgd = new SGD();
        Assert.Equal(0.01, sgd.CurrentLearningRate);
        Assert.Equal(0.0, sgd.Momentum);
        Assert.False(sgd.Nesterov);
        using var adam = new Adam();
        Assert.Equal(0.001, adam.CurrentLearningRate);
        Assert.Equal((0.9, 0.999, 1e-7, false), (adam.Beta1, adam.Beta2, adam.Epsilon, adam.Amsgrad));
        Assert.Null(adam.WeightDecay);
        using var rms = new RMSprop();
        Assert.Equal((0.001, 0.9, 0.0, 1e-7, false), (rms.CurrentLearningRate, rms.Rho, rms.Momentum, rms.Epsilon, rms.Centered));
        using var adagrad = new Adagrad();
        Assert.Equal((0.001, 0.1, 1e-7), (adagrad.CurrentLearningRate, adagrad.InitialAccumulatorValue, adagrad.Epsilon));
        using var adadelta = new Adadelta();
        Assert.Equal((0.001, 0.95, 1e-7), (adadelta.CurrentLearningRate, adadelta.Rho, adadelta.Epsilon));
        using var adamax = new Adamax();
        Assert.Equal((0.001, 0.9, 0.999, 1e-7), (adamax.CurrentLearningRate, adamax.Beta1, adamax.Beta2, adamax.Epsilon));
        using var nadam = new Nadam();
        Assert.Equal((0.001, 0.9, 0.999, 1e-7), (nadam.CurrentLearningRate, nadam.Beta1, nadam.Beta2, nadam.Epsilon));
        using var adamw = new AdamW();
        Assert.Equal(0.001, adamw.CurrentLearningRate);
        Assert.Equal(0.004, adamw.WeightDecay);
    }
}
