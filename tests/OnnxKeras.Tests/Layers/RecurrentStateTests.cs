using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Tests.Export;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Initial states (Keras's <c>initial_state</c>), stateful layers and <c>ResetStates</c>, their ONNX export (initial states
/// as graph inputs) and .keras round trip, checked against the plain C# recurrences of <see cref="RecurrentTests"/>
/// started from the given states.
/// </summary>
public partial class RecurrentTests
{
    /// <summary>
    /// <see cref="Reference"/> started from <paramref name="initial"/> (one [batch * units] array per state) instead of zeros.
    /// </summary>
    private static (double[] Output, double[][] States) ReferenceFrom(float[] x, int batch, int steps, int features, int units,
        float[][] initial, bool returnSequences, bool backwards, Func<double[], double[][], double[][]> step)
    {
        var output = new List<double>();
        var finals = initial.Select(_ => new List<double>()).ToArray();
        for (int bi = 0; bi < batch; bi++)
        {
            var states = initial.Select(s => s.Skip(bi * units).Take(units).Select(v => (double)v).ToArray()).ToArray();
            for (int s = 0; s < steps; s++)
            {
                int t = backwards ? steps - 1 - s : s;
                var xt = x.Skip((bi * steps + t) * features).Take(features).Select(v => (double)v).ToArray();
                states = step(xt, states);
                if (returnSequences) output.AddRange(states[0]);
            }
            if (!returnSequences) output.AddRange(states[0]);
            for (int k = 0; k < initial.Length; k++) finals[k].AddRange(states[k]);
        }
        return (output.ToArray(), finals.Select(f => f.ToArray()).ToArray());
    }

    /// <summary>A layer of <paramref name="kind"/> with fixed weights, and its step in plain doubles.</summary>
    private static (RecurrentLayer Layer, Func<double[], double[][], double[][]> Step, int States) Fixed(string kind, int units, int features,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool stateful = false)
    {
        int U = units, F = features;
        switch (kind)
        {
            case "simple":
                {
                    var (w, u, b) = (Values(F * U, 101), Values(U * U, 102), Values(U, 103));
                    var l = new SimpleRNN(U, returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards, stateful: stateful);
                    l.EnsureBuilt(new Shape(null, null, F));
                    l.SetWeights([new(w, F, U), new(u, U, U), new(b, U)]);
                    return (l, (xt, s) => [Add(Add(VecMat(xt, w, U), VecMat(s[0], u, U)), b).Select(Math.Tanh).ToArray()], 1);
                }
            case "lstm":
                {
                    var (w, u, b) = (Values(F * 4 * U, 111), Values(U * 4 * U, 112), Values(4 * U, 113));
                    var l = new LSTM(U, returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards, stateful: stateful);
                    l.EnsureBuilt(new Shape(null, null, F));
                    l.SetWeights([new(w, F, 4 * U), new(u, U, 4 * U), new(b, 4 * U)]);
                    return (l, LstmStep(w, u, b, U), 2);
                }
            default:
                {
                    var (w, u, b) = (Values(F * 3 * U, 121), Values(U * 3 * U, 122), Values(2 * 3 * U, 123));
                    var l = new GRU(U, returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards, stateful: stateful);
                    l.EnsureBuilt(new Shape(null, null, F));
                    l.SetWeights([new(w, F, 3 * U), new(u, U, 3 * U), new(b, 2, 3 * U)]);
                    return (l, GruResetAfterStep(w, u, b, U), 1);
                }
        }
    }

    // ---- initial states ------------------------------------------------------------------------------

    [Theory]
    [InlineData("simple", false)]
    [InlineData("simple", true)]
    [InlineData("lstm", false)]
    [InlineData("lstm", true)]
    [InlineData("gru", false)]
    [InlineData("gru", true)]
    public void InitialStateMatchesReferenceAndReturnStateGivesFinalStates(string kind, bool goBackwards)
    {
        const int B = 2, T = 3, F = 2, U = 3;
        var (layer, step, n) = Fixed(kind, U, F, returnSequences: true, returnState: true, goBackwards: goBackwards);
        var x = Values(B * T * F, 131);
        var initial = Enumerable.Range(0, n).Select(k => Values(B * U, 132 + k)).ToArray();
        var (expected, finals) = ReferenceFrom(x, B, T, F, U, initial, true, goBackwards, step);
        using var scope = NewDisposeScope();
        var outs = layer.ApplyMany(tensor(x, new long[] { B, T, F }), initial.Select(s => (KTensor)tensor(s, new long[] { B, U })).ToList());
        Assert.Equal(1 + n, outs.Count);
        AllClose(expected, Floats(outs[0]), rtol: 0, atol: Tol);
        for (int k = 0; k < n; k++) AllClose(finals[k], Floats(outs[1 + k]), rtol: 0, atol: Tol);
        // The first state is the last output (in processing order), and the initial state matters.
        Assert.True(outs[1].Value.allclose(outs[0].Value.select(1, T - 1), 0, 0));
        var fromZeros = layer.ApplyMany([tensor(x, new long[] { B, T, F })]);
        Assert.True((fromZeros[0].Value - outs[0].Value).abs().max().item<float>() > 1e-3);
    }

    [Theory]
    [InlineData("simple")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void GoBackwardsEqualsTheForwardLayerOnTheReversedInput(string kind)
    {
        const int B = 2, T = 4, F = 2, U = 3;
        var (forward, _, _) = Fixed(kind, U, F, returnSequences: true, returnState: true);
        var (backward, _, _) = Fixed(kind, U, F, returnSequences: true, returnState: true, goBackwards: true);
        var x = Values(B * T * F, 171);
        var reversed = new float[x.Length];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) Array.Copy(x, (b * T + t) * F, reversed, (b * T + T - 1 - t) * F, F);
        using var scope = NewDisposeScope();
        var expected = forward.ApplyMany([tensor(reversed, new long[] { B, T, F })]);
        var actual = backward.ApplyMany([tensor(x, new long[] { B, T, F })]);
        // Same sequence in processing order and the same final states.
        for (int k = 0; k < expected.Count; k++) AllClose(Floats(expected[k]), Floats(actual[k]), rtol: 0, atol: Tol);
    }

    [Fact]
    public void WrongInitialStatesAreRefusedWithTheLayerName()
    {
        var lstm = new LSTM(3);
        using var scope = NewDisposeScope();
        var x = rand(2, 4, 2);
        var e = Assert.Throws<ArgumentException>(() => lstm.Apply(x, initialState: [zeros(2, 3)]));
        Assert.Contains(lstm.Name, e.Message);
        Assert.Contains("2 initial states", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Apply(x, initialState: [zeros(2, 4), zeros(2, 3)]));
        Assert.Contains("[batch, units]", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Apply(x, initialState: [zeros(3, 3), zeros(3, 3)]));
        Assert.Contains("[batch, units]", e.Message);
        var sym = Assert.Throws<ArgumentException>(() => new GRU(3).Apply(Keras.Input([4, 2]), initialState: [Keras.Input([5])]));
        Assert.Contains("(None, 5)", sym.Message);
        var bi = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(3)).Apply(x, initialState: [zeros(2, 3), zeros(2, 3)]));
        Assert.Contains("4 initial states", bi.Message);
        Assert.Throws<ArgumentException>(() => new SimpleRNN(2, dropout: 1.0));
        Assert.Throws<ArgumentException>(() => new GRU(2, recurrentDropout: -0.1));
    }

    [Theory]
    [InlineData("simple")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void BidirectionalInitialStatesGoForwardThenBackward(string kind)
    {
        const int B = 2, T = 3, F = 2, U = 2;
        var (fw, fwStep, n) = Fixed(kind, U, F, returnSequences: true);
        var layer = new Bidirectional(fw, mergeMode: null);
        layer.EnsureBuilt(new Shape(null, T, F));
        // The wrapper's layers are copies: give both the fixed weights, so each direction's reference uses the same step.
        layer.SetWeights([.. fw.GetWeights(), .. fw.GetWeights()]);
        var x = Values(B * T * F, 141);
        var fwInit = Enumerable.Range(0, n).Select(k => Values(B * U, 142 + k)).ToArray();
        var bwInit = Enumerable.Range(0, n).Select(k => Values(B * U, 152 + k)).ToArray();
        var (fwExpected, _) = ReferenceFrom(x, B, T, F, U, fwInit, true, false, fwStep);
        var (bwExpected, _) = ReferenceFrom(x, B, T, F, U, bwInit, true, true, fwStep);
        using var scope = NewDisposeScope();
        var states = fwInit.Concat(bwInit).Select(s => (KTensor)tensor(s, new long[] { B, U })).ToList();
        var outs = layer.ApplyMany(tensor(x, new long[] { B, T, F }), states);
        AllClose(fwExpected, Floats(outs[0]), rtol: 0, atol: Tol);
        // The backward output is re-reversed into input time order.
        AllClose(bwExpected, Floats(Ops.Flip(outs[1], 1)), rtol: 0, atol: Tol);
    }

    // ---- stateful --------------------------------------------------------------------------------------

    [Theory]
    [InlineData("simple")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void StatefulCarriesStatesAcrossCallsAndResetStatesClearsThem(string kind)
    {
        // Two stateful calls on x1 then x2 equal one run over x1 followed by x2 in time; after ResetStates a call starts from zeros.
        const int B = 2, T = 3, F = 2, U = 3;
        var (layer, step, n) = Fixed(kind, U, F, stateful: true);
        var x1 = Values(B * T * F, 161);
        var x2 = Values(B * T * F, 162);
        var joined = new float[B * 2 * T * F];
        for (int b = 0; b < B; b++)
        {
            Array.Copy(x1, b * T * F, joined, b * 2 * T * F, T * F);
            Array.Copy(x2, b * T * F, joined, (b * 2 + 1) * T * F, T * F);
        }
        var zerosInit = Enumerable.Range(0, n).Select(_ => new float[B * U]).ToArray();
        var (first, _) = ReferenceFrom(x1, B, T, F, U, zerosInit, false, false, step);
        var (both, _) = ReferenceFrom(joined, B, 2 * T, F, U, zerosInit, false, false, step);
        var (x2Alone, _) = ReferenceFrom(x2, B, T, F, U, zerosInit, false, false, step);
        using var scope = NewDisposeScope();
        AllClose(first, RunLayer(layer, x1, B, T, F), rtol: 0, atol: Tol);
        AllClose(both, RunLayer(layer, x2, B, T, F), rtol: 0, atol: Tol);
        Assert.Equal(n, layer.CarriedStates!.Count);
        layer.ResetStates();
        Assert.All(layer.CarriedStates, s => Assert.Equal(0f, s.abs().max().item<float>()));
        AllClose(x2Alone, RunLayer(layer, x2, B, T, F), rtol: 0, atol: Tol);
        // The first call fixed the batch size.
        var e = Assert.Throws<ArgumentException>(() => layer.Apply(rand(3, T, F)));
        Assert.Contains("batch size is fixed at 2", e.Message);
        // Given initial states win over the carried ones, and the call's final states are carried on.
        var x1Init = Enumerable.Range(0, n).Select(k => Values(B * U, 163 + k)).ToArray();
        var (fromGiven, givenFinals) = ReferenceFrom(x1, B, T, F, U, x1Init, false, false, step);
        var (thenX2, _) = ReferenceFrom(x2, B, T, F, U, givenFinals.Select(f => f.Select(v => (float)v).ToArray()).ToArray(), false, false, step);
        AllClose(fromGiven, Floats(layer.Apply(tensor(x1, new long[] { B, T, F }),
            initialState: x1Init.Select(s => (KTensor)tensor(s, new long[] { B, U })).ToList())), rtol: 0, atol: Tol);
        AllClose(thenX2, RunLayer(layer, x2, B, T, F), rtol: 0, atol: Tol);
        // A stateful layer has no ONNX form: the export says so.
        var input = Keras.Input([T, F]);
        using var model = new Model(input, new LSTM(2, stateful: true).Apply(input));
        var ex = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _));
        Assert.Contains("stateful", ex.Message);
    }

    [Fact]
    public void StatefulBidirectionalResetsBothDirections()
    {
        var layer = new Bidirectional(new GRU(2, stateful: true));
        using var scope = NewDisposeScope();
        var x = rand(2, 3, 2);
        var fresh = layer.Apply(x).Value.clone();
        var second = layer.Apply(x).Value;
        Assert.True((second - fresh).abs().max().item<float>() > 1e-4);
        layer.ResetStates();
        Assert.True(layer.Apply(x).Value.allclose(fresh, 0, 1e-6));
    }

    // ---- configs ---------------------------------------------------------------------------------------

    [Fact]
    public void NewArgumentsRoundTripThroughConfigs()
    {
        var lstm = new LSTM(4, dropout: 0.25, recurrentDropout: 0.125, seed: 9, stateful: true, unroll: true);
        var c = lstm.GetConfig();
        Assert.Equal((0.25, 0.125, 9L, true, true), ((double)c["dropout"]!, (double)c["recurrent_dropout"]!, (long?)c["seed"], (bool)c["stateful"]!, (bool)c["unroll"]!));
        var back = (LSTM)LayerRegistry.FromConfig("LSTM", c);
        Assert.Equal((0.25, 0.125, 9L, true, true), (back.Dropout, back.RecurrentDropout, back.Seed, back.Stateful, back.Unroll));
        var defaults = new GRU(2).GetConfig();
        Assert.Equal((0.0, 0.0, null, false, false), ((double)defaults["dropout"]!, (double)defaults["recurrent_dropout"]!, (long?)defaults["seed"],
            (bool)defaults["stateful"]!, (bool)defaults["unroll"]!));

        // A Keras-written config with dropout loads without the old "only changes training" warning, and keeps the values.
        var keras = new LayerConfig().With("name", "g").With("units", 3).With("dropout", 0.2).With("recurrent_dropout", 0.1)
            .With("seed", null).With("stateful", false).With("unroll", false).With("implementation", 2);
        var error = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(captured);
        GRU gru;
        try
        {
            gru = (GRU)LayerRegistry.FromConfig("GRU", keras);
        }
        finally
        {
            Console.SetError(error);
        }
        Assert.DoesNotContain("Warning", captured.ToString());
        Assert.Equal((0.2, 0.1), (gru.Dropout, gru.RecurrentDropout));

        var bi = new Bidirectional(new SimpleRNN(2, dropout: 0.5, recurrentDropout: 0.25, seed: 3));
        var biBack = (Bidirectional)LayerRegistry.FromConfig("Bidirectional", bi.GetConfig());
        Assert.Equal((0.5, 0.25, 3L), (biBack.ForwardLayer.Dropout, biBack.BackwardLayer.RecurrentDropout, biBack.BackwardLayer.Seed));
    }

    // ---- ONNX export with initial states -----------------------------------------------------------------

    public static TheoryData<string, bool, bool, bool> ExportCases => new()
    {
        { "simple", true, false, true },
        { "simple", false, true, true },
        { "lstm", true, true, true },
        { "lstm_nobias", false, false, true },
        { "gru_after", true, true, false },
        { "gru_before", true, false, true },
    };

    private static RecurrentLayer Make(string kind, bool returnSequences, bool goBackwards, bool returnState) => kind switch
    {
        "simple" => new SimpleRNN(3, returnSequences: returnSequences, goBackwards: goBackwards, returnState: returnState),
        "lstm" => new LSTM(3, returnSequences: returnSequences, goBackwards: goBackwards, returnState: returnState, dropout: 0.3),
        "lstm_nobias" => new LSTM(3, useBias: false, returnSequences: returnSequences, goBackwards: goBackwards, returnState: returnState),
        "gru_after" => new GRU(3, returnSequences: returnSequences, goBackwards: goBackwards, returnState: returnState, recurrentDropout: 0.2),
        _ => new GRU(3, resetAfter: false, returnSequences: returnSequences, goBackwards: goBackwards, returnState: returnState),
    };

    [Theory]
    [MemberData(nameof(ExportCases))]
    public void InitialStatesExportAsGraphInputsAtEveryOpset(string kind, bool returnSequences, bool goBackwards, bool returnState)
    {
        Keras.SetRandomSeed(3);
        var layer = Make(kind, returnSequences, goBackwards, returnState);
        int n = kind.StartsWith("lstm", StringComparison.Ordinal) ? 2 : 1;
        var x = Keras.Input([null, 2]);
        var states = Enumerable.Range(0, n).Select(_ => Keras.Input([3])).ToList();
        using var model = new Model([x, .. states], layer.ApplyMany(x, states));
        OnnxTestHelpers.RandomizeWeights(model, 7);
        CheckExport(model, 1 + n, batch => [rand(batch, 5, 2) * 2 - 1, .. Enumerable.Range(0, n).Select(_ => rand(batch, 3) * 2 - 1)]);
    }

    [Theory]
    [InlineData("lstm", "concat")]
    [InlineData("gru_after", null)]
    [InlineData("simple", "ave")]
    public void BidirectionalWithInitialStatesExportsAtEveryOpset(string kind, string? mode)
    {
        Keras.SetRandomSeed(4);
        var layer = new Bidirectional(Make(kind, true, false, true), mergeMode: mode);
        int n = kind == "lstm" ? 4 : 2;
        var x = Keras.Input([5, 2]);
        var states = Enumerable.Range(0, n).Select(_ => Keras.Input([3])).ToList();
        using var model = new Model([x, .. states], layer.ApplyMany(x, states));
        OnnxTestHelpers.RandomizeWeights(model, 8);
        CheckExport(model, 1 + n, batch => [rand(batch, 5, 2) * 2 - 1, .. Enumerable.Range(0, n).Select(_ => rand(batch, 3) * 2 - 1)]);
    }

    [Fact]
    public void MaskedInputWithInitialStateExportsAtEveryOpset()
    {
        Keras.SetRandomSeed(5);
        var x = Keras.Input([4, 2]);
        var h = Keras.Input([3]);
        var masked = new Masking(0.0).Apply(x);
        using var model = new Model([x, h], new GRU(3, returnSequences: true, returnState: true).ApplyMany(masked, [h]));
        OnnxTestHelpers.RandomizeWeights(model, 9);
        CheckExport(model, 2, batch =>
        {
            var xs = rand(batch, 4, 2);
            xs[.., 1] = zeros(batch, 2); // a masked timestep in every sample
            return [xs, rand(batch, 3)];
        });
    }

    private static void CheckExport(Model model, int inputs, Func<long, Tensor[]> data)
    {
        foreach (int opset in OnnxTestHelpers.Opsets)
        {
            var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
            Assert.Equal(opset, report.Opset);
            Assert.Equal(inputs, Onnx.ModelProto.Parser.ParseFrom(bytes).Graph.Input.Count);
            using var scope = NewDisposeScope();
            foreach (long batch in new long[] { 1, 3 }) OnnxTestHelpers.AssertParityOn(model, bytes, data(batch));
        }
    }

    // ---- .keras round trip -----------------------------------------------------------------------------

    [Fact]
    public void InitialStateModelWithDropoutRoundTripsThroughKerasFile()
    {
        Keras.SetRandomSeed(6);
        var x = Keras.Input([4, 2]);
        var h = Keras.Input([3]);
        var c = Keras.Input([3]);
        var outs = new LSTM(3, returnSequences: true, returnState: true, dropout: 0.2, recurrentDropout: 0.1, seed: 4, unroll: true)
            .ApplyMany(x, [h, c]);
        using var model = new Model([x, h, c], outs);
        var json = model.ToJson();
        // Keras's form: the sequence in args, the states in kwargs["initial_state"].
        Assert.Contains("\"initial_state\"", json);
        using var dir = Saving.SavingTestHelpers.NewTempDir();
        var path = dir.File("model.keras");
        model.Save(path);
        using var loaded = Model.LoadModel(path);
        Assert.Equal(json, loaded.ToJson());
        var lstm = loaded.Layers.OfType<LSTM>().Single();
        Assert.Equal((0.2, 0.1, 4L, true), (lstm.Dropout, lstm.RecurrentDropout, lstm.Seed, lstm.Unroll));
        using var scope = NewDisposeScope();
        Tensor[] data = [rand(2, 4, 2), rand(2, 3), rand(2, 3)];
        var expected = model.ApplyMany(data.Select(t => (KTensor)t).ToList());
        var actual = loaded.ApplyMany(data.Select(t => (KTensor)t).ToList());
        for (int k = 0; k < 3; k++) Assert.True(expected[k].Value.allclose(actual[k].Value, 0, 0), $"output {k}");
    }

    [Fact]
    public void BidirectionalWithInitialStatesRoundTripsThroughJson()
    {
        var x = Keras.Input([4, 2]);
        var states = Enumerable.Range(0, 2).Select(_ => Keras.Input([3])).ToList();
        var y = new Bidirectional(new GRU(3, returnSequences: true, dropout: 0.1), mergeMode: "sum").Apply(x, states);
        using var model = new Model([x, .. states], [y]);
        var json = model.ToJson();
        using var loaded = Model.FromJson(json);
        Assert.Equal(json, loaded.ToJson());
        loaded.SetWeights(model.GetWeights());
        using var scope = NewDisposeScope();
        KTensor[] data = [rand(2, 4, 2), rand(2, 3), rand(2, 3)];
        Assert.True(model.Apply(data).Value.allclose(loaded.Apply(data).Value, 0, 0));
    }
}
