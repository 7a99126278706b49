using OnnxKeras.Layers;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Issue 17: the recurrent layers run libtorch's fused recurrence where it computes Keras's function. The step-by-step
/// loop (checked against plain C# recurrences in <see cref="RecurrentTests"/>, which now also check the fused path of the
/// default configurations) is the reference here: for random weights, odd sizes, with and without initial states, both
/// paths must give the same outputs, final states and gradients (of the Keras-layout weights, the inputs and the initial
/// states) within 1e-5; and the configurations the kernel cannot express must really take the loop.
/// </summary>
public class RecurrentFusedTests
{
    private const int B = 3, T = 7, F = 5, U = 7;

    public RecurrentFusedTests() => TestSetup.Init();

    private static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static float[] Floats(Tensor t) => t.detach().contiguous().data<float>().ToArray();

    private static RecurrentLayer Make(string kind, bool returnSequences = true, bool goBackwards = false, bool stateful = false,
        double dropout = 0, long? seed = null) => kind switch
        {
            "lstm" => new LSTM(U, returnSequences: returnSequences, returnState: true, goBackwards: goBackwards, stateful: stateful,
                dropout: dropout, seed: seed),
            "lstm_nobias" => new LSTM(U, useBias: false, returnSequences: returnSequences, returnState: true, goBackwards: goBackwards),
            "gru" => new GRU(U, returnSequences: returnSequences, returnState: true, goBackwards: goBackwards, stateful: stateful,
                dropout: dropout, seed: seed),
            "gru_nobias" => new GRU(U, useBias: false, returnSequences: returnSequences, returnState: true, goBackwards: goBackwards),
            "rnn_tanh" => new SimpleRNN(U, returnSequences: returnSequences, returnState: true, goBackwards: goBackwards, stateful: stateful,
                dropout: dropout, seed: seed),
            "rnn_relu" => new SimpleRNN(U, activation: "relu", returnSequences: returnSequences, returnState: true, goBackwards: goBackwards),
            _ => throw new ArgumentException(kind),
        };

    /// <summary>Builds <paramref name="layer"/> (and its sublayers) and gives every weight random values from <paramref name="seed"/>.</summary>
    private static void Randomize(Layer layer, int seed)
    {
        layer.EnsureBuilt(new Shape(null, T, F));
        var weights = layer.Weights;
        for (int i = 0; i < weights.Count; i++) weights[i].Assign(Values((int)weights[i].Size, seed + i));
    }

    /// <summary>
    /// Runs <paramref name="layer"/> on a fixed input (and initial states), takes a fixed random weighting of every output
    /// as the loss, and returns the outputs followed by the gradients of the loss w.r.t. the weights, the input and the states.
    /// </summary>
    private static List<float[]> Run(Layer layer, int stateCount, bool withStates, bool training = false)
    {
        using var scope = NewDisposeScope();
        var x = tensor(Values(B * T * F, 100), new long[] { B, T, F }).requires_grad_();
        var states = withStates ? Enumerable.Range(0, stateCount).Select(k => tensor(Values(B * U, 200 + k), new long[] { B, U }).requires_grad_()).ToList()
            : [];
        var outputs = layer.ApplyMany([x, .. states.Select(s => (KTensor)s)], training).Select(o => o.Value).ToList();
        var loss = outputs.Select((o, k) => (o * tensor(Values((int)o.numel(), 300 + k), o.shape)).sum()).Aggregate((a, b) => a + b);
        var wrt = layer.Weights.Select(w => w.Value).Append(x).Concat(states).ToList();
        var grads = autograd.grad([loss], wrt, allow_unused: true);
        return [.. outputs.Select(Floats), .. grads.Select(g => g is null ? [] : Floats(g))];
    }

    private static void AssertSame(List<float[]> loop, List<float[]> fused)
    {
        Assert.Equal(loop.Count, fused.Count);
        for (int i = 0; i < loop.Count; i++) AllClose(loop[i], fused[i], 1e-5, 1e-5, what: $"result {i}");
    }

    [Theory]
    [InlineData("lstm", true, false, false)]
    [InlineData("lstm", false, true, false)]
    [InlineData("lstm", true, true, true)]
    [InlineData("lstm_nobias", false, false, true)]
    [InlineData("gru", true, false, false)]
    [InlineData("gru", false, true, false)]
    [InlineData("gru", true, true, true)]
    [InlineData("gru_nobias", true, true, false)]
    [InlineData("rnn_tanh", true, false, false)]
    [InlineData("rnn_tanh", false, true, true)]
    [InlineData("rnn_relu", true, true, false)]
    public void FusedAndLoopGiveTheSameOutputsStatesAndGradients(string kind, bool returnSequences, bool withStates, bool goBackwards)
    {
        var layer = Make(kind, returnSequences, goBackwards);
        Randomize(layer, 1);
        int states = kind.StartsWith("lstm", StringComparison.Ordinal) ? 2 : 1;
        layer.UseFusedKernel = false;
        var loop = Run(layer, states, withStates);
        Assert.Equal((0, 1), (layer.FusedCalls, layer.LoopCalls));
        layer.UseFusedKernel = true;
        var fused = Run(layer, states, withStates);
        Assert.Equal((1, 1), (layer.FusedCalls, layer.LoopCalls));
        // outputs (sequence or last, h, and c), then the gradients of kernel, recurrent kernel, bias, x, and the states.
        Assert.Equal(1 + states + layer.Weights.Count + 1 + (withStates ? states : 0), fused.Count);
        Assert.All(fused, r => Assert.NotEmpty(r));
        AssertSame(loop, fused);
    }

    [Theory]
    [InlineData("lstm", true)]
    [InlineData("gru", false)]
    [InlineData("rnn_tanh", true)]
    public void BidirectionalRunsEachDirectionFused(string kind, bool withStates)
    {
        var bi = new Bidirectional(Make(kind), mergeMode: "concat");
        Randomize(bi, 7);
        int states = kind == "lstm" ? 2 : 1;
        bi.ForwardLayer.UseFusedKernel = bi.BackwardLayer.UseFusedKernel = false;
        var loop = Run(bi, 2 * states, withStates);
        bi.ForwardLayer.UseFusedKernel = bi.BackwardLayer.UseFusedKernel = true;
        var fused = Run(bi, 2 * states, withStates);
        Assert.Equal((1, 1), (bi.ForwardLayer.FusedCalls, bi.ForwardLayer.LoopCalls));
        Assert.Equal((1, 1), (bi.BackwardLayer.FusedCalls, bi.BackwardLayer.LoopCalls));
        AssertSame(loop, fused);
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("rnn_tanh")]
    public void InputDropoutMasksTheSequenceBeforeTheKernel(string kind)
    {
        // Without recurrent dropout the gates share one input mask, drawn first from the layer's generator, so the same seed
        // gives both layers the same mask and the fused kernel on the masked inputs must match the loop.
        var loopLayer = Make(kind, dropout: 0.4, seed: 3);
        var fusedLayer = Make(kind, dropout: 0.4, seed: 3);
        Randomize(loopLayer, 5);
        Randomize(fusedLayer, 5);
        loopLayer.UseFusedKernel = false;
        int states = kind == "lstm" ? 2 : 1;
        var loop = Run(loopLayer, states, withStates: true, training: true);
        var fused = Run(fusedLayer, states, withStates: true, training: true);
        Assert.Equal((1, 0), (fusedLayer.FusedCalls, fusedLayer.LoopCalls));
        AssertSame(loop, fused);
        var inference = Run(fusedLayer, states, withStates: true, training: false);
        Assert.NotEqual(fused[0], inference[0]); // the mask did drop something
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void StatefulLayersCarryTheFusedFinalStates(string kind)
    {
        var loopLayer = Make(kind, stateful: true);
        var fusedLayer = Make(kind, stateful: true);
        Randomize(loopLayer, 9);
        Randomize(fusedLayer, 9);
        loopLayer.UseFusedKernel = false;
        int states = kind == "lstm" ? 2 : 1;
        for (int call = 0; call < 2; call++) AssertSame(Run(loopLayer, states, false), Run(fusedLayer, states, false));
        Assert.Equal((2, 0), (fusedLayer.FusedCalls, fusedLayer.LoopCalls));
        for (int k = 0; k < states; k++) AllClose(Floats(loopLayer.CarriedStates![k]), Floats(fusedLayer.CarriedStates![k]), 1e-5, 1e-5);
    }

    public static TheoryData<string> LoopOnlyConfigurations => ["mask", "hard_sigmoid", "hard_sigmoid_keras2", "softsign", "reset_before",
        "recurrent_dropout", "custom_tanh"];

    [Theory]
    [MemberData(nameof(LoopOnlyConfigurations))]
    public void ConfigurationsTheKernelCannotExpressTakeTheLoop(string config)
    {
        RecurrentLayer layer = config switch
        {
            "hard_sigmoid" => new LSTM(U, recurrentActivation: "hard_sigmoid"),
            "hard_sigmoid_keras2" => new GRU(U, recurrentActivation: "hard_sigmoid_keras2"),
            "softsign" => new SimpleRNN(U, activation: "softsign"),
            "reset_before" => new GRU(U, resetAfter: false),
            "recurrent_dropout" => new LSTM(U, recurrentDropout: 0.3),
            // A function named tanh that is not tanh must not be taken for it.
            "custom_tanh" => new SimpleRNN(U, activation: new ActivationFunction("tanh", Ops.Sigmoid)),
            _ => new LSTM(U),
        };
        Randomize(layer, 11);
        using var scope = NewDisposeScope();
        KTensor x = tensor(Values(B * T * F, 100), new long[] { B, T, F });
        if (config == "mask") x = x.WithMask(tensor(new[] { true, true, false, true, true, true, false }).expand(B, T));
        layer.Apply(x, training: true);
        Assert.Equal((0, 1), (layer.FusedCalls, layer.LoopCalls));
    }

    [Fact]
    public void RecurrentDropoutAtInferenceDoesNothingSoTheKernelRuns()
    {
        var layer = new LSTM(U, recurrentDropout: 0.3);
        Randomize(layer, 13);
        using var scope = NewDisposeScope();
        layer.Apply(tensor(Values(B * T * F, 100), new long[] { B, T, F }), training: false);
        Assert.Equal((1, 0), (layer.FusedCalls, layer.LoopCalls));
    }
}
