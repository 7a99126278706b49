using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using Xunit;
using static OnnxKeras.Tests.Layers.FamilyTestUtil;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Masking, Embedding's mask_zero and the recurrent layers' use of masks. The masked recurrence is checked against an
/// independent computation: Keras's rule (states kept and the previous output repeated at a masked timestep) means the
/// last output and states of a masked sequence are those of the same layer run on the unmasked timesteps alone.
/// </summary>
public class MaskingTests
{
    [Fact]
    public void MaskingHarness() =>
        LayerTestHarness.Run(new Masking(0.5), [4, 3], [4, 3], 0, 0, supportsTraining: false);

    [Fact]
    public void MaskingZeroesTimestepsWhoseFeaturesAllEqualTheMaskValueAndCarriesTheMask()
    {
        using var scope = NewDisposeScope();
        // mask_value 2: a timestep is masked only when both of its features are 2.
        var x = T([2, 2, 1, 2, 2, 2, /**/ 0, 0, 2, 2, 2, 1], 2, 3, 2);
        var y = new Masking(2).Apply(x);
        Assert.Equal(new float[] { 0, 0, 1, 2, 0, 0, /**/ 0, 0, 0, 0, 2, 1 }, Values(y));
        Assert.NotNull(y.Mask);
        Assert.Equal(new long[] { 2, 3 }, y.Mask!.Value.shape);
        Assert.Equal(new[] { false, true, false, true, false, true }, y.Mask.Value.data<bool>().ToArray());
        // compute_mask gives the same mask on its own.
        Assert.Equal(new[] { false, true, false, true, false, true }, new Masking(2).ComputeMask([x], [null])[0]!.Value.data<bool>().ToArray());
    }

    [Fact]
    public void MasksPassThroughLayersThatSupportThemAndStopAtOthers()
    {
        using var scope = NewDisposeScope();
        var x = T([1, 2, 0, 0, 3, 4], 1, 3, 2);
        var masked = new Masking().Apply(x);
        var dense = new Dense(3).Apply(masked);
        Assert.Equal(new[] { true, false, true }, dense.Mask!.Value.data<bool>().ToArray());
        Assert.Same(dense.Mask, new Dropout(0.5).Apply(dense).Mask);
        Assert.Null(new Flatten().Apply(masked).Mask);
        Assert.Null(new LSTM(2).Apply(masked).Mask);                                   // a last output has no timesteps
        Assert.NotNull(new LSTM(2, returnSequences: true).Apply(masked).Mask);
        var other = new Masking(3).Apply(x);                                             // masks [T, T, T] and [T, F, T]
        Assert.Equal(new[] { true, false, true }, new Add().Apply([masked, other]).Mask!.Value.data<bool>().ToArray());
        Assert.Null(new Embedding(5, 2).Apply(T([1, 0], 1, 2)).Mask);
        Assert.Equal(new[] { true, false }, new Embedding(5, 2, maskZero: true).Apply(T([1, 0], 1, 2)).Mask!.Value.data<bool>().ToArray());
    }

    [Fact]
    public void MaskingAndEmbeddingMaskZeroRoundTripThroughJson()
    {
        using var a = new Sequential(new InputLayer([3, 2]), new Masking(0.5), new LSTM(2, zeroOutputForMask: true));
        string json = a.ToJson();
        Assert.Matches("\"mask_value\":\\s*0.5", json);
        Assert.Matches("\"zero_output_for_mask\":\\s*true", json);
        using var a2 = (Sequential)Model.FromJson(json);
        Assert.Equal(0.5, Assert.IsType<Masking>(a2.Layers[0]).MaskValue);
        Assert.True(Assert.IsType<LSTM>(a2.Layers[1]).ZeroOutputForMask);
        Assert.Equal(json, a2.ToJson());

        using var b = new Sequential(new InputLayer([4]), new Embedding(5, 3, maskZero: true), new GRU(2));
        string json2 = b.ToJson();
        Assert.Matches("\"mask_zero\":\\s*true", json2);
        using var b2 = (Sequential)Model.FromJson(json2);
        Assert.True(Assert.IsType<Embedding>(b2.Layers[0]).MaskZero);
        Assert.Equal(json2, b2.ToJson());
    }

    [Fact]
    public void KerasTensorValuedMaskValueIsRead()
    {
        // Keras 3 writes mask_value as a serialized tensor.
        var config = new LayerConfig().With("name", "m").With("mask_value", new Dictionary<string, object?>
        {
            ["class_name"] = "__tensor__",
            ["config"] = new Dictionary<string, object?> { ["value"] = new List<object?> { -1.5 }, ["dtype"] = "float32" },
        });
        Assert.Equal(-1.5, Assert.IsType<Masking>(LayerRegistry.FromConfig("Masking", config)).MaskValue);
    }

    // ---- the recurrent layers with a mask ----------------------------------------------------------

    /// <summary>Inputs [3, 5, 2]: sample 0 has timesteps 1 and 3 masked (all zero), sample 1 timesteps 0 and 4, sample 2 none.</summary>
    private static (Tensor X, bool[,] Keep) MaskedBatch()
    {
        var data = Wave(30, 0.3).Select(v => v + 3f).ToArray();   // in about [0.5, 5.5]: no timestep is zero by chance
        var keep = new bool[3, 5];
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 5; t++)
                keep[b, t] = !((b == 0 && (t == 1 || t == 3)) || (b == 1 && (t == 0 || t == 4)));
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 5; t++)
                if (!keep[b, t]) data[(b * 5 + t) * 2] = data[(b * 5 + t) * 2 + 1] = 0;
        return (T(data, 3, 5, 2), keep);
    }

    private static RecurrentLayer Make(string kind, bool returnSequences, bool zeroOutput = false) => kind switch
    {
        "lstm" => new LSTM(3, returnSequences: returnSequences, returnState: true, zeroOutputForMask: zeroOutput),
        "gru" => new GRU(3, returnSequences: returnSequences, returnState: true, zeroOutputForMask: zeroOutput),
        "gru_back" => new GRU(3, returnSequences: returnSequences, returnState: true, goBackwards: true, resetAfter: false, zeroOutputForMask: zeroOutput),
        "rnn" => new SimpleRNN(3, returnSequences: returnSequences, returnState: true, zeroOutputForMask: zeroOutput),
        _ => throw new ArgumentException(kind),
    };

    /// <summary>Sample <paramref name="b"/>'s unmasked timesteps, in order, as a batch of one.</summary>
    private static Tensor Compact(Tensor x, bool[,] keep, int b) =>
        x[b].index_select(0, tensor(Enumerable.Range(0, keep.GetLength(1)).Where(t => keep[b, t]).Select(t => (long)t).ToArray())).unsqueeze(0);

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("gru_back")]
    [InlineData("rnn")]
    public void MaskedLastOutputAndStatesAreThoseOfTheUnmaskedTimestepsAlone(string kind)
    {
        using var scope = NewDisposeScope();
        Keras.SetRandomSeed(7);
        var (x, keep) = MaskedBatch();
        var layer = Make(kind, returnSequences: false);
        var outputs = layer.ApplyMany([new Masking().Apply(x)]);
        for (int b = 0; b < 3; b++)
        {
            var expected = layer.ApplyMany([Compact(x, keep, b)]);
            Assert.Equal(expected.Count, outputs.Count);
            for (int k = 0; k < outputs.Count; k++)
                AllClose(Values(expected[k]).Select(v => (double)v).ToList(), Values(outputs[k].Value[b]), rtol: 1e-6, atol: 0, scaleFloor: 1);
        }
        // Without the mask the zeros are ordinary inputs and the result differs.
        Assert.NotEqual(Values(outputs[0]), Values(layer.ApplyMany([(KTensor)x])[0]));
    }

    [Theory]
    [InlineData("lstm", false)]
    [InlineData("lstm", true)]
    [InlineData("gru_back", false)]
    [InlineData("rnn", true)]
    public void MaskedSequenceRepeatsThePreviousOutputOrZeros(string kind, bool zeroOutput)
    {
        using var scope = NewDisposeScope();
        Keras.SetRandomSeed(11);
        var (x, keep) = MaskedBatch();
        var layer = Make(kind, returnSequences: true, zeroOutput);
        var y = layer.ApplyMany([new Masking().Apply(x)])[0];
        Assert.NotNull(y.Mask);
        for (int b = 0; b < 3; b++)
        {
            // The compact run's outputs fill the unmasked steps in processing order; a masked step repeats the
            // previous output (zeros before the first), or is zero with zero_output_for_mask.
            var compact = Values(layer.ApplyMany([Compact(x, keep, b)])[0]);
            var expected = new List<double>();
            double[] previous = [0, 0, 0];
            int k = 0;
            for (int s = 0; s < 5; s++)
            {
                int t = layer.GoBackwards ? 4 - s : s;
                if (keep[b, t]) previous = compact.Skip(3 * k++).Take(3).Select(v => (double)v).ToArray();
                expected.AddRange(keep[b, t] || !zeroOutput ? previous : [0, 0, 0]);
            }
            AllClose(expected, Values(y.Value[b]), rtol: 1e-6, atol: 0, scaleFloor: 1);
        }
    }

    [Fact]
    public void FullyMaskedSequenceGivesZeroOutputAndStates()
    {
        using var scope = NewDisposeScope();
        var layer = new LSTM(2, returnState: true);
        var outputs = layer.ApplyMany([new Masking().Apply(zeros(2, 4, 3))]);
        foreach (var o in outputs) Assert.All(Values(o), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ExplicitMaskOnTheInputIsUsed()
    {
        using var scope = NewDisposeScope();
        Keras.SetRandomSeed(3);
        var (x, keep) = MaskedBatch();
        var layer = new SimpleRNN(2);
        var mask = T(Enumerable.Range(0, 15).Select(i => keep[i / 5, i % 5] ? 1f : 0f).ToArray(), 3, 5); // a float mask is cast to bool
        Assert.Equal(Values(layer.Apply(new Masking().Apply(x))), Values(layer.Apply(((KTensor)x).WithMask(mask))));
    }

    [Fact]
    public void EmbeddingMaskZeroSkipsPaddingTokensInTheRecurrence()
    {
        using var scope = NewDisposeScope();
        Keras.SetRandomSeed(5);
        using var model = new Sequential(new InputLayer([4]), new Embedding(6, 3, maskZero: true), new LSTM(2));
        var tokens = new float[,] { { 3, 0, 2, 0 }, { 0, 0, 1, 5 } };
        var y = model.Predict(tokens);
        var embedding = (Embedding)model.Layers[0];
        var lstm = (LSTM)model.Layers[1];
        float[][] kept = [[3, 2], [1, 5]];
        for (int b = 0; b < 2; b++)
        {
            var expected = lstm.Apply(embedding.Apply(T(kept[b], 1, 2)));
            AllClose(Values(expected).Select(v => (double)v).ToList(), [y[b, 0], y[b, 1]], rtol: 1e-6, atol: 0, scaleFloor: 1);
        }
    }

    [Fact]
    public void MasksPropagateThroughFunctionalGraphs()
    {
        using var scope = NewDisposeScope();
        Keras.SetRandomSeed(9);
        var input = Keras.Input([5, 2]);
        var masked = new Masking().Apply(input);
        var dense = new Dense(4, activation: "tanh");
        var gru = new GRU(3);
        using var model = new Model(input, gru.Apply(dense.Apply(masked)));
        var (x, keep) = MaskedBatch();
        var y = model.Predict(ToArray3(x));
        for (int b = 0; b < 3; b++)
        {
            var expected = gru.Apply(dense.Apply(Compact(x, keep, b)));
            AllClose(Values(expected).Select(v => (double)v).ToList(), [y[b, 0], y[b, 1], y[b, 2]], rtol: 1e-6, atol: 0, scaleFloor: 1);
        }
    }

    [Fact]
    public void BidirectionalWithAMaskZeroesMaskedStepsOfBothSequences()
    {
        using var scope = NewDisposeScope();
        Keras.SetRandomSeed(13);
        var (x, keep) = MaskedBatch();
        var bi = new Bidirectional(new LSTM(2, returnSequences: true), mergeMode: null);
        Assert.True(bi.ForwardLayer.ZeroOutputForMask && bi.BackwardLayer.ZeroOutputForMask);
        var outputs = bi.ApplyMany([new Masking().Apply(x)]);
        Assert.Equal(2, outputs.Count);
        Assert.All(outputs, o => Assert.NotNull(o.Mask));
        for (int b = 0; b < 3; b++)
        {
            var compact = Compact(x, keep, b);
            var forward = Values(bi.ForwardLayer.Apply(compact));
            var backward = Values(bi.BackwardLayer.Apply(compact).Value.flip(1)); // input time order
            var expectedForward = new List<double>();
            var expectedBackward = new List<double>();
            int k = 0;
            for (int t = 0; t < 5; t++)
            {
                expectedForward.AddRange(keep[b, t] ? forward.Skip(2 * k).Take(2).Select(v => (double)v) : [0, 0]);
                expectedBackward.AddRange(keep[b, t] ? backward.Skip(2 * k).Take(2).Select(v => (double)v) : [0, 0]);
                if (keep[b, t]) k++;
            }
            AllClose(expectedForward, Values(outputs[0].Value[b]), rtol: 1e-6, atol: 0, scaleFloor: 1);
            AllClose(expectedBackward, Values(outputs[1].Value[b]), rtol: 1e-6, atol: 0, scaleFloor: 1);
        }
    }

    private static float[,,] ToArray3(Tensor x)
    {
        var v = Values(x);
        var a = new float[x.shape[0], x.shape[1], x.shape[2]];
        Buffer.BlockCopy(v, 0, a, 0, v.Length * sizeof(float));
        return a;
    }
}
