using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// SimpleRNN, LSTM, GRU and Bidirectional: the layer harness, and numeric checks against step-by-step recurrences
/// written here in plain C# doubles from Keras 3's equations (keras/src/layers/rnn/*.py), with weights set in Keras's
/// layout so that the gate order (LSTM i, f, c, o; GRU z, r, h) and GRU's reset_after convention are checked.
/// </summary>
public partial class RecurrentTests
{
    private const double Tol = 1e-5;

    // ---- harness -------------------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SimpleRNNHarness(bool returnSequences) =>
        LayerTestHarness.Run(new SimpleRNN(3, returnSequences: returnSequences), [4, 2], returnSequences ? new Shape(4, 3) : new Shape(3), 3, 0);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LSTMHarness(bool returnSequences) =>
        LayerTestHarness.Run(new LSTM(3, returnSequences: returnSequences, kernelRegularizer: OnnxKeras.Regularizers.L2(0.01)), [4, 2], returnSequences ? new Shape(4, 3) : new Shape(3), 3, 0);

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void GRUHarness(bool returnSequences, bool resetAfter) =>
        LayerTestHarness.Run(new GRU(3, returnSequences: returnSequences, resetAfter: resetAfter), [4, 2], returnSequences ? new Shape(4, 3) : new Shape(3), 3, 0);

    [Fact]
    public void LSTMWithoutBiasGoingBackwardsHarness() =>
        LayerTestHarness.Run(new LSTM(2, useBias: false, goBackwards: true, activation: "softsign", recurrentActivation: "hard_sigmoid"), [3, 2], [2], 2, 0);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BidirectionalHarness(bool returnSequences) =>
        LayerTestHarness.Run(new Bidirectional(new LSTM(3, returnSequences: returnSequences)), [4, 2], returnSequences ? new Shape(4, 6) : new Shape(6), 6, 0);

    [Fact]
    public void BidirectionalGRUSumHarness() =>
        LayerTestHarness.Run(new Bidirectional(new GRU(3, returnSequences: true), mergeMode: "sum"), [4, 2], [4, 3], 6, 0);

    // ---- weights: layout, defaults ------------------------------------------------------------------

    [Fact]
    public void WeightsHaveKerasNamesShapesAndDefaults()
    {
        var lstm = new LSTM(3);
        lstm.EnsureBuilt(new Shape(null, 5, 2));
        Assert.Equal(["kernel", "recurrent_kernel", "bias"], lstm.Weights.Select(w => w.Name));
        Assert.Equal([new Shape(2, 12), new Shape(3, 12), new Shape(12)], lstm.Weights.Select(w => w.Shape));
        // unit_forget_bias: forget gate (second block of units) starts at 1, the others at 0.
        Assert.Equal(new float[] { 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0 }, lstm.Bias!.ToArray());
        // orthogonal recurrent kernel: U U^T = I for [units, 4 units].
        using (var scope = NewDisposeScope())
        {
            var u = lstm.RecurrentKernel.Value.detach();
            Assert.True(u.matmul(u.t()).allclose(eye(3), 1e-5, 1e-5));
        }

        var noForget = new LSTM(3, unitForgetBias: false);
        noForget.EnsureBuilt(new Shape(null, 5, 2));
        Assert.All(noForget.Bias!.ToArray(), v => Assert.Equal(0f, v));

        var gru = new GRU(4);
        gru.EnsureBuilt(new Shape(null, null, 2));
        Assert.Equal([new Shape(2, 12), new Shape(4, 12), new Shape(2, 12)], gru.Weights.Select(w => w.Shape));
        var gruBefore = new GRU(4, resetAfter: false);
        gruBefore.EnsureBuilt(new Shape(null, null, 2));
        Assert.Equal(new Shape(12), gruBefore.Bias!.Shape);

        var rnn = new SimpleRNN(4, useBias: false);
        rnn.EnsureBuilt(new Shape(null, 3, 5));
        Assert.Equal([new Shape(5, 4), new Shape(4, 4)], rnn.Weights.Select(w => w.Shape));
    }

    [Fact]
    public void ConfigHasKerasKeysAndDefaults()
    {
        var c = new LSTM(7).GetConfig();
        Assert.Equal(7, c["units"]);
        Assert.Equal("tanh", c["activation"]);
        Assert.Equal("sigmoid", c["recurrent_activation"]);
        Assert.Equal(true, c["use_bias"]);
        Assert.Equal(true, c["unit_forget_bias"]);
        Assert.Equal("glorot_uniform", ((Initializer)c["kernel_initializer"]!).Name);
        Assert.Equal("orthogonal", ((Initializer)c["recurrent_initializer"]!).Name);
        Assert.Equal("zeros", ((Initializer)c["bias_initializer"]!).Name);
        Assert.Equal(false, c["return_sequences"]);
        Assert.Equal(false, c["return_state"]);
        Assert.Equal(false, c["go_backwards"]);
        Assert.Equal(true, new GRU(2).GetConfig()["reset_after"]);
        Assert.Equal("tanh", new SimpleRNN(2).GetConfig()["activation"]);
        Assert.StartsWith("simple_rnn", new SimpleRNN(2).Name);
        Assert.StartsWith("lstm", new LSTM(2).Name);
        Assert.StartsWith("gru", new GRU(2).Name);
    }

    // ---- numerics against plain C# recurrences -------------------------------------------------------

    [Fact]
    public void LSTMSingleStepByHand()
    {
        // units 1, one feature, one step, zero state: c = i * tanh(z_c), h = o * tanh(c); z_f is irrelevant (c0 = 0).
        var lstm = new LSTM(1);
        lstm.EnsureBuilt(new Shape(null, 1, 1));
        lstm.SetWeights([new([0.5f, 100f, 1.0f, -0.5f], 1, 4), new([0f, 0f, 0f, 0f], 1, 4), new([0f, 0f, 0f, 0f], 4)]);
        double expected = Sig(-0.5) * Math.Tanh(Sig(0.5) * Math.Tanh(1.0));
        AllClose([expected], RunLayer(lstm, [1f], 1, 1, 1), rtol: 0, atol: Tol);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void SimpleRNNMatchesReference(bool returnSequences, bool goBackwards)
    {
        const int B = 2, T = 3, F = 2, U = 2;
        var (w, u, b, x) = (Values(F * U, 1), Values(U * U, 2), Values(U, 3), Values(B * T * F, 4));
        var layer = new SimpleRNN(U, returnSequences: returnSequences, goBackwards: goBackwards);
        layer.EnsureBuilt(new Shape(null, T, F));
        layer.SetWeights([new(w, F, U), new(u, U, U), new(b, U)]);
        var (expected, _) = Reference(x, B, T, F, U, 1, returnSequences, goBackwards, (xt, s) =>
        {
            var z = Add(Add(VecMat(xt, w, U), VecMat(s[0], u, U)), b);
            return [z.Select(Math.Tanh).ToArray()];
        });
        AllClose(expected, RunLayer(layer, x, B, T, F), rtol: 0, atol: Tol);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void LSTMMatchesReference(bool returnSequences, bool goBackwards)
    {
        const int B = 2, T = 3, F = 2, U = 2;
        var (w, u, b, x) = (Values(F * 4 * U, 11), Values(U * 4 * U, 12), Values(4 * U, 13), Values(B * T * F, 14));
        var layer = new LSTM(U, returnSequences: returnSequences, goBackwards: goBackwards);
        layer.EnsureBuilt(new Shape(null, T, F));
        layer.SetWeights([new(w, F, 4 * U), new(u, U, 4 * U), new(b, 4 * U)]);
        var (expected, _) = Reference(x, B, T, F, U, 2, returnSequences, goBackwards, LstmStep(w, u, b, U));
        AllClose(expected, RunLayer(layer, x, B, T, F), rtol: 0, atol: Tol);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void GRUResetAfterMatchesReference(bool returnSequences, bool goBackwards)
    {
        const int B = 2, T = 3, F = 2, U = 2;
        var (w, u, b, x) = (Values(F * 3 * U, 21), Values(U * 3 * U, 22), Values(2 * 3 * U, 23), Values(B * T * F, 24));
        var layer = new GRU(U, returnSequences: returnSequences, goBackwards: goBackwards);
        layer.EnsureBuilt(new Shape(null, T, F));
        layer.SetWeights([new(w, F, 3 * U), new(u, U, 3 * U), new(b, 2, 3 * U)]);
        var (expected, _) = Reference(x, B, T, F, U, 1, returnSequences, goBackwards, GruResetAfterStep(w, u, b, U));
        AllClose(expected, RunLayer(layer, x, B, T, F), rtol: 0, atol: Tol);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GRUResetBeforeMatchesReference(bool returnSequences)
    {
        const int B = 2, T = 3, F = 2, U = 2;
        var (w, u, b, x) = (Values(F * 3 * U, 31), Values(U * 3 * U, 32), Values(3 * U, 33), Values(B * T * F, 34));
        var layer = new GRU(U, returnSequences: returnSequences, resetAfter: false);
        layer.EnsureBuilt(new Shape(null, T, F));
        layer.SetWeights([new(w, F, 3 * U), new(u, U, 3 * U), new(b, 3 * U)]);
        var (expected, _) = Reference(x, B, T, F, U, 1, returnSequences, false, (xt, s) =>
        {
            // Keras GRUCell, reset_after=False: hh = tanh(x W_h + b_h + (r * h) U_h).
            var h = s[0];
            var xz = Add(VecMat(xt, w, 3 * U), b);
            var hu = VecMat(h, u, 3 * U);
            var z = new double[U];
            var rh = new double[U];
            for (int j = 0; j < U; j++)
            {
                z[j] = Sig(xz[j] + hu[j]);
                rh[j] = Sig(xz[U + j] + hu[U + j]) * h[j];
            }
            var rhu = VecMat(rh, u, 3 * U);
            var hNew = new double[U];
            for (int j = 0; j < U; j++) hNew[j] = z[j] * h[j] + (1 - z[j]) * Math.Tanh(xz[2 * U + j] + rhu[2 * U + j]);
            return [hNew];
        });
        AllClose(expected, RunLayer(layer, x, B, T, F), rtol: 0, atol: Tol);
    }

    [Fact]
    public void GRUResetAfterDiffersFromResetBefore()
    {
        // Same kernels, zero biases: the two conventions give different results, so the flag matters.
        const int B = 1, T = 3, F = 2, U = 2;
        var (w, u, x) = (Values(F * 3 * U, 41), Values(U * 3 * U, 42), Values(B * T * F, 43));
        var after = new GRU(U, useBias: false);
        var before = new GRU(U, useBias: false, resetAfter: false);
        foreach (var l in new[] { after, before })
        {
            l.EnsureBuilt(new Shape(null, T, F));
            l.SetWeights([new(w, F, 3 * U), new(u, U, 3 * U)]);
        }
        var a = RunLayer(after, x, B, T, F);
        var b = RunLayer(before, x, B, T, F);
        Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
        var (expected, _) = Reference(x, B, T, F, U, 1, false, false, GruResetAfterStep(w, u, null, U));
        AllClose(expected, a, rtol: 0, atol: Tol);
    }

    [Fact]
    public void GoBackwardsEqualsForwardOnReversedInput()
    {
        const int B = 2, T = 4, F = 3, U = 2;
        var fwd = new LSTM(U, returnSequences: true);
        var back = new LSTM(U, returnSequences: true, goBackwards: true);
        fwd.EnsureBuilt(new Shape(null, T, F));
        back.EnsureBuilt(new Shape(null, T, F));
        back.SetWeights(fwd.GetWeights());
        var x = Values(B * T * F, 51);
        var reversed = new float[x.Length];
        for (int bi = 0; bi < B; bi++)
            for (int t = 0; t < T; t++)
                Array.Copy(x, (bi * T + t) * F, reversed, (bi * T + (T - 1 - t)) * F, F);
        // Keras returns the backward sequence in processing order (not re-reversed).
        AllClose(RunLayer(fwd, reversed, B, T, F).Select(v => (double)v).ToArray(), RunLayer(back, x, B, T, F), rtol: 0, atol: Tol);
    }

    // ---- return_state -------------------------------------------------------------------------------

    [Fact]
    public void LSTMReturnStateGivesOutputHAndC()
    {
        const int B = 2, T = 3, F = 2, U = 2;
        var (w, u, b, x) = (Values(F * 4 * U, 61), Values(U * 4 * U, 62), Values(4 * U, 63), Values(B * T * F, 64));
        var layer = new LSTM(U, returnSequences: true, returnState: true);
        layer.EnsureBuilt(new Shape(null, T, F));
        layer.SetWeights([new(w, F, 4 * U), new(u, U, 4 * U), new(b, 4 * U)]);
        var (_, states) = Reference(x, B, T, F, U, 2, true, false, LstmStep(w, u, b, U));
        using var scope = NewDisposeScope();
        var outs = layer.ApplyMany([tensor(x, new long[] { B, T, F })]);
        Assert.Equal(3, outs.Count);
        Assert.Equal(new long[] { B, T, U }, outs[0].Value.shape);
        // h equals the last output of the sequence; c matches the reference carry.
        Assert.True(outs[1].Value.allclose(outs[0].Value.select(1, T - 1), 0, 0));
        AllClose(states[0], Floats(outs[1]), rtol: 0, atol: Tol);
        AllClose(states[1], Floats(outs[2]), rtol: 0, atol: Tol);
        // A single-output call is refused with a message pointing to ApplyMany.
        var e = Assert.Throws<InvalidOperationException>(() => layer.Apply(tensor(x, new long[] { B, T, F })));
        Assert.Contains("ApplyMany", e.Message);
    }

    [Fact]
    public void GRUAndSimpleRNNReturnStateEqualsLastOutput()
    {
        const int B = 2, T = 3, F = 2;
        var x = Values(B * T * F, 71);
        foreach (var layer in new RecurrentLayer[] { new GRU(3, returnState: true), new SimpleRNN(3, returnState: true), new GRU(3, returnState: true, goBackwards: true, returnSequences: true) })
        {
            using var scope = NewDisposeScope();
            var outs = layer.ApplyMany([tensor(x, new long[] { B, T, F })]);
            Assert.Equal(2, outs.Count);
            var last = layer.ReturnSequences ? outs[0].Value.select(1, T - 1) : outs[0].Value;
            Assert.True(outs[1].Value.allclose(last, 0, 0), layer.Name);
        }
    }

    [Fact]
    public void ReturnStateInFunctionalModel()
    {
        var input = Keras.Input([null, 2]);
        var outs = new LSTM(3, returnSequences: true, returnState: true).ApplyMany([input]);
        Assert.Equal([new Shape(null, null, 3), new Shape(null, 3), new Shape(null, 3)], outs.Select(o => o.Shape));
        using var model = new Model([input], outs);
        using var scope = NewDisposeScope();
        var x = rand(2, 5, 2);
        var results = model.ApplyMany([x]);
        Assert.Equal(3, results.Count);
        Assert.Equal(new long[] { 2, 5, 3 }, results[0].Value.shape);
        Assert.True(results[1].Value.allclose(results[0].Value.select(1, 4), 0, 0));
    }

    [Fact]
    public void UnknownTimestepsInFunctionalModel()
    {
        var input = Keras.Input([null, 2]);
        var seq = new GRU(4, returnSequences: true).Apply(input);
        Assert.Equal(new Shape(null, null, 4), seq.Shape);
        var last = new LSTM(3).Apply(seq);
        Assert.Equal(new Shape(null, 3), last.Shape);
        using var model = new Model(input, last);
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 2, 3 }, model.Predict(rand(2, 5, 2)).shape);
        Assert.Equal(new long[] { 4, 3 }, model.Predict(rand(4, 9, 2)).shape);
    }

    [Fact]
    public void SequentialWithUnknownTimesteps()
    {
        using var model = new Sequential(new InputLayer([null, 3]), new Bidirectional(new LSTM(4, returnSequences: true)), new GRU(2), new Dense(1));
        model.Compile(optimizer: new SGD(0.01), loss: "mse");
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 2, 1 }, model.Predict(rand(2, 5, 3)).shape);
        Assert.Equal(new long[] { 3, 1 }, model.Predict(rand(3, 2, 3)).shape);
        Assert.Equal(2 * (3 * 16 + 4 * 16 + 16) + (8 * 6 + 2 * 6 + 2 * 6) + 3, model.CountParams());
    }

    // ---- Bidirectional ------------------------------------------------------------------------------

    [Fact]
    public void BidirectionalConcatEqualsForwardAndReversedBackward()
    {
        const int B = 2, T = 3, F = 2, U = 2;
        var (wf, uf, bf) = (Values(F * 4 * U, 81), Values(U * 4 * U, 82), Values(4 * U, 83));
        var (wb, ub, bb) = (Values(F * 4 * U, 84), Values(U * 4 * U, 85), Values(4 * U, 86));
        var x = Values(B * T * F, 87);
        var layer = new Bidirectional(new LSTM(U, returnSequences: true));
        layer.EnsureBuilt(new Shape(null, T, F));
        Assert.Equal(["kernel", "recurrent_kernel", "bias", "kernel", "recurrent_kernel", "bias"], layer.Weights.Select(v => v.Name));
        Assert.StartsWith("forward_lstm", layer.Weights[0].Path);
        Assert.StartsWith("backward_lstm", layer.Weights[3].Path);
        layer.SetWeights([new(wf, F, 4 * U), new(uf, U, 4 * U), new(bf, 4 * U), new(wb, F, 4 * U), new(ub, U, 4 * U), new(bb, 4 * U)]);

        var (fwd, _) = Reference(x, B, T, F, U, 2, true, false, LstmStep(wf, uf, bf, U));
        var (bwd, _) = Reference(x, B, T, F, U, 2, true, true, LstmStep(wb, ub, bb, U));
        var expected = new double[B * T * 2 * U];
        for (int bi = 0; bi < B; bi++)
            for (int t = 0; t < T; t++)
                for (int j = 0; j < U; j++)
                {
                    expected[(bi * T + t) * 2 * U + j] = fwd[(bi * T + t) * U + j];
                    // the backward layer's step s saw timestep T-1-s; re-reversed, timestep t is its step T-1-t
                    expected[(bi * T + t) * 2 * U + U + j] = bwd[(bi * T + (T - 1 - t)) * U + j];
                }
        AllClose(expected, RunLayer(layer, x, B, T, F), rtol: 0, atol: Tol);
    }

    [Theory]
    [InlineData("sum")]
    [InlineData("mul")]
    [InlineData("ave")]
    [InlineData("concat")]
    public void BidirectionalMergeModesOnLastOutputs(string mode)
    {
        const int B = 2, T = 3, F = 2, U = 2;
        var (wf, uf, bf) = (Values(F * U, 91), Values(U * U, 92), Values(U, 93));
        var (wb, ub, bb) = (Values(F * U, 94), Values(U * U, 95), Values(U, 96));
        var x = Values(B * T * F, 97);
        var layer = new Bidirectional(new SimpleRNN(U), mergeMode: mode);
        layer.EnsureBuilt(new Shape(null, T, F));
        layer.SetWeights([new(wf, F, U), new(uf, U, U), new(bf, U), new(wb, F, U), new(ub, U, U), new(bb, U)]);
        Func<double[], double[][], double[][]> Step(float[] w, float[] u, float[] b) =>
            (xt, s) => [Add(Add(VecMat(xt, w, U), VecMat(s[0], u, U)), b).Select(Math.Tanh).ToArray()];
        var (fwd, _) = Reference(x, B, T, F, U, 1, false, false, Step(wf, uf, bf));
        var (bwd, _) = Reference(x, B, T, F, U, 1, false, true, Step(wb, ub, bb));
        double[] expected = mode switch
        {
            "sum" => fwd.Zip(bwd, (p, q) => p + q).ToArray(),
            "mul" => fwd.Zip(bwd, (p, q) => p * q).ToArray(),
            "ave" => fwd.Zip(bwd, (p, q) => (p + q) / 2).ToArray(),
            _ => Enumerable.Range(0, B).SelectMany(bi => fwd.Skip(bi * U).Take(U).Concat(bwd.Skip(bi * U).Take(U))).ToArray(),
        };
        AllClose(expected, RunLayer(layer, x, B, T, F), rtol: 0, atol: Tol);
    }

    [Fact]
    public void BidirectionalReturnStateAndNullMergeMode()
    {
        var input = Keras.Input([4, 2]);
        var outs = new Bidirectional(new LSTM(3, returnState: true)).ApplyMany([input]);
        Assert.Equal([new Shape(null, 6), .. Enumerable.Repeat(new Shape(null, 3), 4)], outs.Select(o => o.Shape));

        var layer = new Bidirectional(new GRU(3, returnSequences: true), mergeMode: null);
        var sym = layer.ApplyMany([Keras.Input([4, 2])]);
        Assert.Equal([new Shape(null, 4, 3), new Shape(null, 4, 3)], sym.Select(o => o.Shape));
        using var scope = NewDisposeScope();
        var eager = layer.ApplyMany([rand(2, 4, 2)]);
        Assert.Equal(2, eager.Count);
        Assert.Equal(new long[] { 2, 4, 3 }, eager[1].Value.shape);
    }

    [Fact]
    public void BidirectionalFromKerasStyleConfigWithPlainDictionaries()
    {
        // A nested layer given as plain dictionaries (as a JSON loader would produce), Keras's serialize_keras_object form.
        var config = new LayerConfig().With("name", "bidi").With("merge_mode", "ave")
            .With("layer", new Dictionary<string, object?>
            {
                ["module"] = "keras.layers",
                ["class_name"] = "GRU",
                ["config"] = new Dictionary<string, object?> { ["name"] = "gru_x", ["units"] = 5, ["return_sequences"] = true, ["reset_after"] = false },
                ["registered_name"] = null,
            });
        var layer = (Bidirectional)LayerRegistry.FromConfig("Bidirectional", config);
        Assert.Equal("bidi", layer.Name);
        Assert.Equal("ave", layer.MergeMode);
        var gru = Assert.IsType<GRU>(layer.ForwardLayer);
        Assert.Equal(("forward_gru_x", 5, false, false), (gru.Name, gru.Units, gru.ResetAfter, gru.GoBackwards));
        Assert.Equal(("backward_gru_x", true), (layer.BackwardLayer.Name, layer.BackwardLayer.GoBackwards));
        Assert.Equal(new Shape(null, 7, 5), layer.Apply(Keras.Input([7, 3])).Shape);
        var serialized = (Dictionary<string, object?>)layer.GetConfig()["layer"]!;
        Assert.Equal("GRU", serialized["class_name"]);
    }

    // ---- training ------------------------------------------------------------------------------------

    [Fact]
    public void LSTMLearnsToyTask()
    {
        // Predict the mean of a sequence: a few epochs of Adam must cut the loss substantially.
        Keras.SetRandomSeed(7);
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var x = rand([64, 6, 1], generator: gen);
        var y = x.mean([1L]);
        var input = Keras.Input([6, 1]);
        var output = new Dense(1).Apply(new LSTM(8).Apply(input));
        using var model = new Model(input, output);
        model.Compile(optimizer: new Adam(0.02), loss: "mse");
        double before = model.Evaluate(x, y)["loss"];
        model.Fit(x, y, batchSize: 16, epochs: 15, verbose: 0);
        double after = model.Evaluate(x, y)["loss"];
        Assert.True(after < before * 0.3, $"loss {before} -> {after}");
    }

    // ---- bad input ----------------------------------------------------------------------------------

    [Fact]
    public void Rank2InputIsRejectedWithLayerNameAndShape()
    {
        var lstm = new LSTM(3);
        using (var scope = NewDisposeScope())
        {
            var e = Assert.Throws<ArgumentException>(() => lstm.Apply(rand(2, 5)));
            Assert.Contains(lstm.Name, e.Message);
            Assert.Contains("(None, 5)", e.Message);
            Assert.Contains("rank 3", e.Message);
        }
        var e2 = Assert.Throws<ArgumentException>(() => new GRU(2).Apply(Keras.Input([5])));
        Assert.Contains("(None, 5)", e2.Message);

        var built = new SimpleRNN(2);
        using (var scope = NewDisposeScope())
        {
            built.Apply(rand(1, 3, 4));
            var e3 = Assert.Throws<ArgumentException>(() => built.Apply(rand(1, 3, 5)));
            Assert.Contains(built.Name, e3.Message);
            Assert.Contains("(1, 3, 5)", e3.Message);
        }
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        Assert.Contains("units", Assert.Throws<ArgumentException>(() => new LSTM(0)).Message);
        Assert.Contains("-2", Assert.Throws<ArgumentException>(() => new GRU(-2)).Message);
        Assert.Contains("merge_mode", Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), mergeMode: "max")).Message);
        Assert.Contains("Dense", Assert.Throws<ArgumentException>(() => new Bidirectional(new Dense(2))).Message);
        Assert.Contains("go_backwards", Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), backwardLayer: new LSTM(2))).Message);
        Assert.Contains("return_sequences", Assert.Throws<ArgumentException>(() =>
            new Bidirectional(new LSTM(2), backwardLayer: new LSTM(2, returnSequences: true, goBackwards: true))).Message);
    }

    // ---- reference recurrences in plain doubles ----------------------------------------------------

    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>v [n] times m [n, cols] (row-major, Keras layout).</summary>
    private static double[] VecMat(double[] v, float[] m, int cols)
    {
        var r = new double[cols];
        for (int i = 0; i < v.Length; i++)
            for (int j = 0; j < cols; j++) r[j] += v[i] * m[i * cols + j];
        return r;
    }

    private static double[] Add(double[] a, float[] b) => a.Select((v, i) => v + b[i]).ToArray();

    private static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();

    /// <summary>Keras LSTMCell: z = x W + h U + b split i, f, c, o; c' = f c + i tanh(z_c); h' = o tanh(c').</summary>
    private static Func<double[], double[][], double[][]> LstmStep(float[] w, float[] u, float[] b, int units) => (xt, s) =>
    {
        var z = Add(Add(VecMat(xt, w, 4 * units), VecMat(s[0], u, 4 * units)), b);
        var h = new double[units];
        var c = new double[units];
        for (int j = 0; j < units; j++)
        {
            double i = Sig(z[j]), f = Sig(z[units + j]), g = Math.Tanh(z[2 * units + j]), o = Sig(z[3 * units + j]);
            c[j] = f * s[1][j] + i * g;
            h[j] = o * Math.Tanh(c[j]);
        }
        return [h, c];
    };

    /// <summary>Keras GRUCell, reset_after=True: bias row 0 for the inputs, row 1 for the recurrence; hh = tanh(x W_h + b_h + r (h U_h + b'_h)).</summary>
    private static Func<double[], double[][], double[][]> GruResetAfterStep(float[] w, float[] u, float[]? b, int units) => (xt, s) =>
    {
        var h = s[0];
        var xw = VecMat(xt, w, 3 * units);
        var hu = VecMat(h, u, 3 * units);
        if (b is not null)
        {
            xw = Add(xw, b[..(3 * units)]);
            hu = Add(hu, b[(3 * units)..]);
        }
        var hNew = new double[units];
        for (int j = 0; j < units; j++)
        {
            double z = Sig(xw[j] + hu[j]);
            double r = Sig(xw[units + j] + hu[units + j]);
            double hh = Math.Tanh(xw[2 * units + j] + r * hu[2 * units + j]);
            hNew[j] = z * h[j] + (1 - z) * hh;
        }
        return [hNew];
    };

    /// <summary>
    /// Runs a recurrence over x [batch, steps, features] from zero states; the output is the sequence of first states in
    /// processing order (returnSequences) or the last one; also returns the final states (flattened over the batch).
    /// </summary>
    private static (double[] Output, double[][] States) Reference(float[] x, int batch, int steps, int features, int units, int stateCount,
        bool returnSequences, bool backwards, Func<double[], double[][], double[][]> step)
    {
        var output = new List<double>();
        var finals = Enumerable.Range(0, stateCount).Select(_ => new List<double>()).ToArray();
        for (int bi = 0; bi < batch; bi++)
        {
            var states = Enumerable.Range(0, stateCount).Select(_ => new double[units]).ToArray();
            for (int s = 0; s < steps; s++)
            {
                int t = backwards ? steps - 1 - s : s;
                var xt = x.Skip((bi * steps + t) * features).Take(features).Select(v => (double)v).ToArray();
                states = step(xt, states);
                if (returnSequences) output.AddRange(states[0]);
            }
            if (!returnSequences) output.AddRange(states[0]);
            for (int k = 0; k < stateCount; k++) finals[k].AddRange(states[k]);
        }
        return (output.ToArray(), finals.Select(f => f.ToArray()).ToArray());
    }

    private static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static float[] RunLayer(Layer layer, float[] x, int batch, int steps, int features)
    {
        using var scope = NewDisposeScope();
        return Floats(layer.Apply(tensor(x, new long[] { batch, steps, features })));
    }

    private static float[] Floats(KTensor t) => t.Value.detach().contiguous().data<float>().ToArray();

}
