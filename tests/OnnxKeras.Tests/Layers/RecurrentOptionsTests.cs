using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Recurrent options (issue 16): dropout and recurrent_dropout in training (Keras 3's DropoutRNNCell: masks drawn once per
/// call and used at every timestep; LSTM/GRU with recurrent dropout switch to implementation 1, one mask per gate),
/// initial states, stateful layers, unroll, and their configs. Expected values come from weights chosen so that each
/// mask shows in the output, or from the plain C# recurrences of <see cref="RecurrentTests"/>.
/// </summary>
public partial class RecurrentTests
{
    // ---- harness with the new arguments ---------------------------------------------------------------

    [Fact]
    public void SimpleRNNWithDropoutHarness() =>
        LayerTestHarness.Run(new SimpleRNN(3, dropout: 0.2, recurrentDropout: 0.3, seed: 5, goBackwards: true, unroll: true), [4, 2], [3], 3, 0);

    [Fact]
    public void LSTMWithDropoutHarness() =>
        LayerTestHarness.Run(new LSTM(3, returnSequences: true, dropout: 0.25, recurrentDropout: 0.25), [4, 2], [4, 3], 3, 0);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GRUWithDropoutHarness(bool resetAfter) =>
        LayerTestHarness.Run(new GRU(3, resetAfter: resetAfter, dropout: 0.2, recurrentDropout: 0.4, goBackwards: true), [4, 2], [3], 3, 0);

    [Theory]
    [InlineData("simple", "concat")]
    [InlineData("gru_after", "mul")]
    [InlineData("gru_before", "ave")]
    [InlineData("lstm", "sum")]
    public void BidirectionalOverEveryRnnHarness(string kind, string mode)
    {
        RecurrentLayer inner = kind switch
        {
            "simple" => new SimpleRNN(3, returnSequences: true, dropout: 0.1),
            "gru_after" => new GRU(3, returnSequences: true, recurrentDropout: 0.2),
            "gru_before" => new GRU(3, resetAfter: false),
            _ => new LSTM(3, dropout: 0.3, recurrentDropout: 0.3),
        };
        var units = mode == "concat" ? 6 : 3;
        LayerTestHarness.Run(new Bidirectional(inner, mergeMode: mode), [4, 2], inner.ReturnSequences ? new Shape(4, units) : new Shape(units), 6, 0);
    }

    // ---- dropout masks --------------------------------------------------------------------------------

    /// <summary>x in [0.5, 1.5): never zero, so a zero in the output can only come from a mask.</summary>
    private static float[] Positive(int n, int seed) => Values(n, seed).Select(v => 1 + v / 2).ToArray();

    private static float[] Eye(int n, int cols, int offset = 0)
    {
        var m = new float[n * cols];
        for (int i = 0; i < n; i++) m[i * cols + offset + i] = 1;
        return m;
    }

    [Fact]
    public void SimpleRNNInputDropoutMaskIsFixedOverTimestepsAndScaled()
    {
        // kernel I, recurrent kernel 0, linear: h_t = (x_t * m) I = x_t * m with m in {0, 1 / (1 - 0.5) = 2} per (sample, feature).
        const int B = 8, T = 4, F = 8;
        var layer = new SimpleRNN(F, activation: "linear", returnSequences: true, dropout: 0.5, seed: 11);
        layer.EnsureBuilt(new Shape(null, T, F));
        layer.SetWeights([new(Eye(F, F), F, F), new(new float[F * F], F, F), new(new float[F], F)]);
        var x = Positive(B * T * F, 1);
        using var scope = NewDisposeScope();
        var y = Floats(layer.Apply(tensor(x, new long[] { B, T, F }), training: true));
        int dropped = 0;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < F; j++)
            {
                bool zero = y[(b * T) * F + j] == 0;
                if (zero) dropped++;
                for (int t = 0; t < T; t++)
                {
                    int k = (b * T + t) * F + j;
                    AllClose(zero ? 0.0 : 2.0 * x[k], y[k], rtol: 0, atol: 1e-6, what: $"b{b} t{t} j{j}");
                }
            }
        Assert.InRange(dropped, 1, B * F - 1); // both kinds occur (with seed 11; chance of all one kind 2^-63)
        // At inference dropout does nothing.
        AllClose(x, Floats(layer.Apply(tensor(x, new long[] { B, T, F }))), rtol: 0, atol: 1e-6);
    }

    [Fact]
    public void DropoutRateIsTheFractionDropped()
    {
        // 64 x 64 Bernoulli(0.3) entries: the fraction dropped has standard deviation sqrt(0.3 * 0.7 / 4096) = 0.0072; 5 of them.
        const int B = 64, F = 64;
        var layer = new SimpleRNN(F, activation: "linear", dropout: 0.3);
        layer.EnsureBuilt(new Shape(null, 1, F));
        layer.SetWeights([new(Eye(F, F), F, F), new(new float[F * F], F, F), new(new float[F], F)]);
        var x = Positive(B * F, 2);
        using var scope = NewDisposeScope();
        var y = Floats(layer.Apply(tensor(x, new long[] { B, 1, F }), training: true));
        double fraction = y.Count(v => v == 0) / (double)y.Length;
        Assert.InRange(fraction, 0.3 - 0.036, 0.3 + 0.036);
        for (int k = 0; k < y.Length; k++)
            if (y[k] != 0) AllClose(x[k] / 0.7, y[k], rtol: 1e-6, atol: 0);
    }

    [Fact]
    public void SimpleRNNRecurrentDropoutMaskIsFixedOverTimesteps()
    {
        // kernel 0, recurrent kernel I, linear, h_0 = 1: h_t = h_{t-1} * m, so h_t = 2^t where m = 2 and 0 where m = 0, at every t.
        const int B = 8, T = 4, U = 8;
        var layer = new SimpleRNN(U, activation: "linear", returnSequences: true, recurrentDropout: 0.5, seed: 12);
        layer.EnsureBuilt(new Shape(null, T, 2));
        layer.SetWeights([new(new float[2 * U], 2, U), new(Eye(U, U), U, U), new(new float[U], U)]);
        using var scope = NewDisposeScope();
        var y = Floats(layer.Apply(rand(B, T, 2), initialState: [ones(B, U)], training: true));
        int dropped = 0;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < U; j++)
            {
                bool zero = y[(b * T) * U + j] == 0;
                if (zero) dropped++;
                for (int t = 0; t < T; t++) Assert.Equal(zero ? 0f : MathF.Pow(2, t + 1), y[(b * T + t) * U + j]);
            }
        Assert.InRange(dropped, 1, B * U - 1);
    }

    /// <summary>
    /// LSTM weights that show the i and c gates' masks: z_i = z_c = v * m (v the input, or h_0 for the recurrent masks), o
    /// saturated to 1, c_0 = 0, so h = tanh(σ(v m_i) tanh(v m_c)): 0 where m_c = 0, tanh(0.5 tanh(2v)) where only m_i = 0,
    /// tanh(σ(2v) tanh(2v)) where neither is.
    /// </summary>
    private static (float[] Kernel, float[] Recurrent, float[] Bias) GateRevealingLstm(int n, bool throughRecurrent)
    {
        var identityInAndC = new float[n * 4 * n];
        for (int j = 0; j < n; j++)
        {
            identityInAndC[j * 4 * n + j] = 1;          // i block
            identityInAndC[j * 4 * n + 2 * n + j] = 1;  // c block
        }
        var bias = new float[4 * n];
        for (int j = 0; j < n; j++) bias[3 * n + j] = 100; // o = σ(100) = 1 in float32
        var zero = new float[n * 4 * n];
        return throughRecurrent ? (zero, identityInAndC, bias) : (identityInAndC, zero, bias);
    }

    /// <summary>Classifies each output of <see cref="GateRevealingLstm"/>: 0 c dropped, 1 only i dropped, 2 none dropped.</summary>
    private static int[] GateCases(float[] v, float[] h)
    {
        double Sig2(double a) => 1 / (1 + Math.Exp(-a));
        return h.Select((y, k) =>
        {
            double onlyI = Math.Tanh(0.5 * Math.Tanh(2 * v[k])), none = Math.Tanh(Sig2(2 * v[k]) * Math.Tanh(2 * v[k]));
            if (Math.Abs(y) < 1e-6) return 0;
            if (Math.Abs(y - onlyI) < 1e-5) return 1;
            if (Math.Abs(y - none) < 1e-5) return 2;
            throw new Xunit.Sdk.XunitException($"output {y} at {k} is none of 0, {onlyI}, {none}");
        }).ToArray();
    }

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(false, 0.5)]
    [InlineData(true, 0.5)]
    public void LSTMDropoutMasksPerGateOnlyWithRecurrentDropout(bool throughRecurrent, double recurrentDropout)
    {
        // Keras 3 LSTMCell: without recurrent dropout one input mask serves all gates (implementation 2), so m_i = m_c and the
        // "only i dropped" case never occurs; with recurrent dropout (implementation 1) every gate draws its own mask.
        const int B = 16, N = 4;
        var layer = new LSTM(N, dropout: throughRecurrent ? 0 : 0.5, recurrentDropout: recurrentDropout, seed: 13);
        layer.EnsureBuilt(new Shape(null, 1, N));
        var (k, r, b) = GateRevealingLstm(N, throughRecurrent);
        layer.SetWeights([new(k, N, 4 * N), new(r, N, 4 * N), new(b, 4 * N)]);
        var v = Positive(B * N, 3);
        using var scope = NewDisposeScope();
        var input = throughRecurrent ? zeros(B, 1, N) : tensor(v, new long[] { B, 1, N });
        KTensor[] initial = throughRecurrent ? [tensor(v, new long[] { B, N }), zeros(B, N)] : [];
        var cases = GateCases(v, Floats(layer.Apply(input, initialState: initial, training: true)));
        Assert.Contains(0, cases);
        Assert.Contains(2, cases);
        if (recurrentDropout > 0) Assert.Contains(1, cases);
        else Assert.DoesNotContain(1, cases);
    }

    [Theory]
    [InlineData(true, 0.0)]
    [InlineData(false, 0.0)]
    [InlineData(true, 0.3)]
    [InlineData(false, 0.3)]
    public void GRUInputDropoutMaskIsFixedOverTimesteps(bool resetAfter, double recurrentDropout)
    {
        // z = σ(-100) = 0, recurrent kernel 0, W_h = I: h_t = hh_t = tanh(x_t * m_h), the candidate's input mask at every step.
        const int B = 8, T = 3, N = 4;
        var layer = new GRU(N, returnSequences: true, resetAfter: resetAfter, dropout: 0.5, recurrentDropout: recurrentDropout, seed: 14);
        layer.EnsureBuilt(new Shape(null, T, N));
        var kernel = Eye(N, 3 * N, 2 * N);
        var bias = new float[(resetAfter ? 2 : 1) * 3 * N];
        for (int j = 0; j < N; j++) bias[j] = -100;
        layer.SetWeights([new(kernel, N, 3 * N), new(new float[N * 3 * N], N, 3 * N), resetAfter ? new(bias, 2, 3 * N) : new(bias, 3 * N)]);
        var x = Positive(B * T * N, 4);
        using var scope = NewDisposeScope();
        var y = Floats(layer.Apply(tensor(x, new long[] { B, T, N }), training: true));
        int dropped = 0;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < N; j++)
            {
                bool zero = y[(b * T) * N + j] == 0;
                if (zero) dropped++;
                for (int t = 0; t < T; t++)
                {
                    int k = (b * T + t) * N + j;
                    AllClose(zero ? 0.0 : Math.Tanh(2.0 * x[k]), y[k], rtol: 0, atol: 1e-6);
                }
            }
        Assert.InRange(dropped, 1, B * N - 1);
    }

    [Fact]
    public void DropoutTrainsAndSeedRepeatsTheMasks()
    {
        const int B = 4, T = 3, F = 2;
        var x = Values(B * T * F, 5);
        float[] Run(long? seed)
        {
            var l = new LSTM(3, dropout: 0.5, recurrentDropout: 0.5, seed: seed);
            l.EnsureBuilt(new Shape(null, T, F));
            l.SetWeights([new(Values(F * 12, 6), F, 12), new(Values(36, 7), 3, 12), new(Values(12, 8), 12)]);
            using var scope = NewDisposeScope();
            return Floats(l.Apply(tensor(x, new long[] { B, T, F }), training: true));
        }
        Assert.Equal(Run(21), Run(21));
        Assert.NotEqual(Run(21), Run(22));
    }
}
