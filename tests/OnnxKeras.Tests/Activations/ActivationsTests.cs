using OnnxKeras.Layers;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.ActivationsFamily;

// The test namespace shadows the OnnxKeras.Activations class; an alias inside the namespace wins.

/// <summary>
/// Keras 3 activations (keras/src/activations/activations.py) checked against their formulas evaluated in
/// plain double arithmetic.
/// </summary>
public class ActivationsTests
{
    // Inputs are exactly representable in float32, so the only error is the float32 evaluation itself.
    private static readonly float[] Points = [-5f, -3f, -2.5f, -1f, -0.5f, 0f, 0.5f, 1f, 2.5f, 3f, 5f];

    private static float[] Eval(Func<KTensor, KTensor> f, float[] xs)
    {
        using var x = tensor(xs, new long[] { xs.Length });
        return f(x).Value.data<float>().ToArray();
    }

    // ---- reference erf -----------------------------------------------------------------------------

    /// <summary>
    /// erf by its Maclaurin series erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)), summed until the
    /// terms fall below 1e-17. For |x| &lt;= 3 the largest term is below 10, so cancellation costs at most
    /// ~1e-15: far better than the 1e-7 needed.
    /// </summary>
    internal static double Erf(double x)
    {
        double sum = 0;
        double power = x; // x^(2n+1) / n!
        for (int n = 0; n < 200; n++)
        {
            double term = power / (2 * n + 1);
            sum += (n % 2 == 0 ? 1 : -1) * term;
            if (Math.Abs(term) < 1e-17) break;
            power *= x * x / (n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    [Fact]
    public void ReferenceErf_MatchesTabulatedValues()
    {
        // Abramowitz & Stegun, Table 7.1 (values to 15 places): erf(0.5), erf(1), erf(2).
        Assert.Equal(0.520499877813047, Erf(0.5), 1e-14);
        Assert.Equal(0.842700792949715, Erf(1.0), 1e-14);
        Assert.Equal(0.995322265018953, Erf(2.0), 1e-14);
        Assert.Equal(-0.842700792949715, Erf(-1.0), 1e-14);
        Assert.Equal(0.0, Erf(0.0));
    }

    // ---- elementwise activations by name ------------------------------------------------------------

    // SELU constants from Klambauer et al. 2017 (Keras docstring: alpha=1.67326324, scale=1.05070098).
    private const double SeluAlpha = 1.6732632423543772848170429916717;
    private const double SeluScale = 1.0507009873554804934193349852946;

    private static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    /// <summary>The Keras 3 formula for each activation, written out in double arithmetic.</summary>
    private static double Reference(string name, double x) => name switch
    {
        "linear" => x,
        "relu" => Math.Max(x, 0.0),
        "sigmoid" => 1.0 / (1.0 + Math.Exp(-x)),
        "tanh" => (Math.Exp(x) - Math.Exp(-x)) / (Math.Exp(x) + Math.Exp(-x)),
        "elu" => x > 0 ? x : 1.0 * (Math.Exp(x) - 1.0),
        "selu" => x > 0 ? SeluScale * x : SeluScale * SeluAlpha * (Math.Exp(x) - 1.0),
        "gelu" => 0.5 * x * (1.0 + Erf(x / Math.Sqrt(2.0))),
        "swish" or "silu" => x * Sigmoid(x),
        "softplus" => Math.Log(Math.Exp(x) + 1.0),
        "softsign" => x / (Math.Abs(x) + 1.0),
        "leaky_relu" => x >= 0 ? x : 0.2 * x, // Keras 3 default negative_slope=0.2
        "hard_sigmoid" => Math.Min(Math.Max(x / 6.0 + 0.5, 0.0), 1.0), // Keras 3: 0 for x <= -3, 1 for x >= 3, x/6 + 0.5 between
        "exponential" => Math.Exp(x),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string> ElementwiseNames => new()
    {
        "linear", "relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "silu", "softplus", "softsign",
        "leaky_relu", "hard_sigmoid", "exponential",
    };

    [Theory]
    [MemberData(nameof(ElementwiseNames))]
    public void Activation_ByName_MatchesKerasFormula(string name)
    {
        var act = Activations.Get(name);
        Assert.Equal(name, act.Name);
        var y = Eval(act.Apply, Points);
        Assert.Equal(Points.Length, y.Length);
        for (int i = 0; i < Points.Length; i++) AllClose(Reference(name, Points[i]), y[i], rtol: 1e-5, atol: 1e-6, what: $"{name}({Points[i]})");
    }

    [Fact]
    public void HardSigmoid_IsKeras3Definition_NotKeras2()
    {
        // Keras 3: x/6 + 0.5, so hard_sigmoid(1) = 1/6 + 0.5 = 0.6666667 and hard_sigmoid(2.5) = 0.9166667;
        // Keras 2's 0.2x + 0.5 would give 0.7 and 1.0.
        var y = Eval(Activations.Get("hard_sigmoid").Apply, [1f, 2.5f, -3f, 3f]);
        AllClose(0.6666666666666667, y[0], rtol: 1e-5, atol: 1e-6, what: "hard_sigmoid(1)");
        AllClose(0.9166666666666667, y[1], rtol: 1e-5, atol: 1e-6, what: "hard_sigmoid(2.5)");
        Assert.Equal(0f, y[2]);
        Assert.Equal(1f, y[3]);
    }

    [Fact]
    public void LeakyRelu_DefaultSlopeIsPointTwo()
    {
        // leaky_relu(-1) = 0.2 * -1 = -0.2 (Keras 3 default negative_slope=0.2, not tf's 0.3 or torch's 0.01).
        var y = Eval(Activations.LeakyRelu.Apply, [-1f, -2.5f]);
        AllClose(-0.2, y[0], rtol: 1e-5, atol: 1e-6, what: "leaky_relu(-1)");
        AllClose(-0.5, y[1], rtol: 1e-5, atol: 1e-6, what: "leaky_relu(-2.5)");
    }

    [Fact]
    public void Ops_WithParameters_MatchFormulas()
    {
        // elu with alpha 0.5: alpha * (exp(x) - 1) for x < 0.
        var elu = Eval(x => Ops.Elu(x, 0.5), Points);
        // leaky_relu with slope 0.1.
        var leaky = Eval(x => Ops.LeakyRelu(x, 0.1), Points);
        // gelu, tanh approximation (Keras approximate=True): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
        var geluApprox = Eval(x => Ops.Gelu(x, approximate: true), Points);
        for (int i = 0; i < Points.Length; i++)
        {
            double x = Points[i];
            double eluExpected = x > 0 ? x : 0.5 * (Math.Exp(x) - 1.0);
            double leakyExpected = x >= 0 ? x : 0.1 * x;
            double inner = Math.Sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x);
            double geluApproxExpected = 0.5 * x * (1.0 + Math.Tanh(inner));
            AllClose(eluExpected, elu[i], rtol: 1e-5, atol: 1e-6, what: $"elu({x}, 0.5)");
            AllClose(leakyExpected, leaky[i], rtol: 1e-5, atol: 1e-6, what: $"leaky_relu({x}, 0.1)");
            AllClose(geluApproxExpected, geluApprox[i], rtol: 1e-5, atol: 1e-6, what: $"gelu_approx({x})");
        }
    }

    [Fact]
    public void Gelu_IsExactErfForm_NotTanhApproximation()
    {
        // At x = 1: exact 0.5 * (1 + erf(1/sqrt 2)) = 0.5 * (1 + 0.682689492137086) = 0.841344746068543
        // (erf(1/sqrt 2) = P(|Z| < 1), the 68.27% of the normal table); the tanh approximation is ~1.5e-4 lower,
        // far outside the tolerance.
        var y = Eval(Activations.Gelu.Apply, [1f]);
        AllClose(0.841344746068543, y[0], rtol: 1e-5, atol: 1e-6, what: "gelu(1)");
        double approx = 0.5 * (1.0 + Math.Tanh(Math.Sqrt(2.0 / Math.PI) * (1.0 + 0.044715)));
        Assert.True(Math.Abs(y[0] - approx) > 1e-4, $"gelu(1) = {y[0]} is the tanh approximation {approx}");
    }

    // ---- softmax ------------------------------------------------------------------------------------

    [Fact]
    public void Softmax_RowsMatchExpOverSum_AndSumToOne()
    {
        float[][] rows =
        [
            [-1f, 0f, 1f, 2f],
            [0.5f, 0.5f, 0.5f, 0.5f],
            [1000f, 1001f, 1002f, 1003f], // naive exp overflows in float32; Keras's softmax is stable
            [-3f, 3f, -0.5f, 0f],
        ];
        var flat = rows.SelectMany(r => r).ToArray();
        using var x = tensor(flat, new long[] { rows.Length, 4 });
        var y = Activations.Get("softmax").Apply(x).Value;
        Assert.Equal(new long[] { 4, 4 }, y.shape);
        var values = y.data<float>().ToArray();
        for (int r = 0; r < rows.Length; r++)
        {
            // exp(x_i) / sum_j exp(x_j); shifting by the row maximum leaves the ratio unchanged and keeps the
            // double arithmetic finite for the 1000s row.
            double max = rows[r].Max();
            double[] e = rows[r].Select(v => Math.Exp(v - max)).ToArray();
            double sum = e.Sum();
            double rowSum = 0;
            for (int c = 0; c < 4; c++)
            {
                AllClose(e[c] / sum, values[r * 4 + c], rtol: 1e-5, atol: 1e-6, what: $"softmax row {r} col {c}");
                rowSum += values[r * 4 + c];
            }
            Assert.True(Math.Abs(rowSum - 1.0) < 1e-6, $"row {r} sums to {rowSum:R}");
        }
        // Constant row: every entry is 1/4.
        Assert.All(values.Skip(4).Take(4), v => AllClose(0.25, v, rtol: 1e-5, atol: 1e-6, what: "uniform row"));
    }

    [Fact]
    public void Softmax_AppliesOverLastAxis_ForRank3()
    {
        // [2, 2, 3]: each innermost triple is normalized on its own.
        float[] flat = [0f, 1f, 2f, 2f, 1f, 0f, -1f, -1f, -1f, 3f, 0f, 0f];
        using var x = tensor(flat, new long[] { 2, 2, 3 });
        var values = Activations.Softmax.Apply(x).Value.data<float>().ToArray();
        for (int g = 0; g < 4; g++)
        {
            double[] e = Enumerable.Range(0, 3).Select(i => Math.Exp(flat[g * 3 + i])).ToArray();
            double sum = e.Sum();
            for (int i = 0; i < 3; i++) AllClose(e[i] / sum, values[g * 3 + i], rtol: 1e-5, atol: 1e-6, what: $"group {g} item {i}");
        }
    }

    // ---- lookup -------------------------------------------------------------------------------------

    [Fact]
    public void Get_NullOrEmpty_IsLinear()
    {
        Assert.Same(Activations.Linear, Activations.Get(null));
        Assert.Same(Activations.Linear, Activations.Get(""));
        Assert.Equal("linear", new Dense(3).Activation.Name);
    }

    [Fact]
    public void Get_UnknownName_ThrowsListingValidNames()
    {
        var e = Assert.Throws<ArgumentException>(() => Activations.Get("rleu"));
        Assert.Contains("rleu", e.Message);
        foreach (var name in new[] { "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "swish", "silu",
                     "softplus", "softsign", "leaky_relu", "hard_sigmoid", "exponential" })
        {
            Assert.Contains(name, e.Message);
        }
        // The implicit string conversion goes through the same lookup.
        Assert.Throws<ArgumentException>(() => new Dense(2, activation: "Relu"));
    }

    [Fact]
    public void Names_ListsEveryKerasName()
    {
        // Keras 3's names, plus Keras 2's hard sigmoid under its own name (used when loading Keras 2 files).
        string[] expected = ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "swish", "silu",
            "softplus", "softsign", "leaky_relu", "hard_sigmoid", "exponential", "hard_sigmoid_keras2"];
        Assert.Equal(expected.Order(), Activations.Names.Order());
    }

    // ---- delegates ----------------------------------------------------------------------------------

    [Fact]
    public void DelegateActivation_WrapsFunction_NamedCustom()
    {
        ActivationFunction a = (Func<KTensor, KTensor>)Ops.Relu;
        Assert.Equal("custom", a.Name);
        var y = Eval(a.Apply, [-2f, -0.5f, 0f, 0.5f, 2f]);
        Assert.Equal(new[] { 0f, 0f, 0f, 0.5f, 2f }, y);
    }

    [Fact]
    public void DelegateActivation_InDense_IsAppliedToOutput()
    {
        // kernel all 0.5, bias 0: z_j = 0.5 * (x0 + x1 + x2); activation f(z) = z^2 - 1 (a delegate no name matches).
        // x = [1, -2, 4] -> z = 1.5 -> 1.25; x = [-1, -1, -1] -> z = -1.5 -> 1.25; x = [0, 0, 0] -> -1.
        var dense = new Dense(2, activation: (Func<KTensor, KTensor>)(z => Ops.Add(Ops.Square(z), -1.0)),
            kernelInitializer: new Constant(0.5));
        using var x = tensor(new float[] { 1f, -2f, 4f, -1f, -1f, -1f, 0f, 0f, 0f }, new long[] { 3, 3 });
        var y = dense.Apply(x).Value.data<float>().ToArray();
        Assert.Equal("custom", dense.Activation.Name);
        double[] expected = [1.25, 1.25, 1.25, 1.25, -1.0, -1.0];
        for (int i = 0; i < expected.Length; i++) AllClose(expected[i], y[i], rtol: 1e-5, atol: 1e-6, what: $"dense output {i}");
        dense.Dispose();
    }

    [Fact]
    public void DelegateActivation_MethodGroupInDense_AppliesRelu()
    {
        // kernel all 1: z = x0 + x1. [2, -3] -> -1 -> relu 0; [2, 3] -> 5.
        var dense = new Dense(1, activation: (Func<KTensor, KTensor>)Ops.Relu, kernelInitializer: new Ones());
        using var x = tensor(new float[] { 2f, -3f, 2f, 3f }, new long[] { 2, 2 });
        var y = dense.Apply(x).Value.data<float>().ToArray();
        Assert.Equal(new[] { 0f, 5f }, y);
        dense.Dispose();

        // A named wrapper takes the bare method group.
        var named = new ActivationFunction("my_relu", Ops.Relu);
        Assert.Equal("my_relu", named.Name);
        Assert.Equal(new[] { 0f, 3f }, Eval(named.Apply, [-3f, 3f]));
    }

    [Fact]
    public void NamedActivation_InDense_IsApplied()
    {
        // kernel all 1: z = x0 + x1 = [-3, 1.5]; sigmoid by name -> 1 / (1 + exp(3)), 1 / (1 + exp(-1.5)).
        var dense = new Dense(1, activation: "sigmoid", kernelInitializer: new Ones());
        using var x = tensor(new float[] { -1f, -2f, 1f, 0.5f }, new long[] { 2, 2 });
        var y = dense.Apply(x).Value.data<float>().ToArray();
        AllClose(1.0 / (1.0 + Math.Exp(3.0)), y[0], rtol: 1e-5, atol: 1e-6, what: "sigmoid(-3)");
        AllClose(1.0 / (1.0 + Math.Exp(-1.5)), y[1], rtol: 1e-5, atol: 1e-6, what: "sigmoid(1.5)");
        dense.Dispose();
    }
}
