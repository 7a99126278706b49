using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Export;

/// <summary>
/// Export of the normalization, embedding, reshaping, activation-layer and recurrent layers: ONNX Runtime against the
/// TorchSharp forward at opsets 17 and 21, batch 1 and batch &gt; 1, and the node types the lowering prescribes.
/// </summary>
public class LayerExportTests
{
    /// <summary>Exports with verification at <paramref name="opset"/>, checks parity at batch 1 and 4, returns the graph.</summary>
    private static Onnx.GraphProto ExportChecked(Model model, int opset)
    {
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
        Assert.Equal(opset, report.Opset);
        OnnxTestHelpers.AssertParity(model, bytes, 1);
        OnnxTestHelpers.AssertParity(model, bytes, 4, seed: 2);
        return Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
    }

    private static string[] OpTypes(Onnx.GraphProto g) => g.Node.Select(n => n.OpType).ToArray();

    /// <summary>A functional model on a [batch, steps, features] input.</summary>
    private static Model Recurrent(Func<KTensor, IReadOnlyList<KTensor>> body, long? steps = 5, long features = 3)
    {
        var input = Keras.Input([steps, features]);
        return new Model([input], body(input));
    }

    // ---- normalization ----------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void BatchNormalizationFoldsToMulAndAddWithoutStatisticsUpdates(int opset)
    {
        Keras.SetRandomSeed(opset);
        using var model = new Sequential(new InputLayer([3, 4]), new BatchNormalization(epsilon: 0.01) { Name = "bn" });
        OnnxTestHelpers.RandomizeWeights(model, 1);
        var before = model.GetWeights().Select(w => w.Data.ToArray()).ToList();
        var g = ExportChecked(model, opset);
        Assert.Equal(new[] { "Mul", "Add" }, OpTypes(g));
        // The folded scale and shift replace gamma, beta and the moving statistics.
        Assert.Equal(2, g.Initializer.Count);
        Assert.All(g.Initializer, i => Assert.Equal(new long[] { 4 }, i.Dims.ToArray()));
        Assert.Equal(before, model.GetWeights().Select(w => w.Data.ToArray()).ToList());

        // Another axis, and no gamma / beta.
        using var channels = new Sequential(new InputLayer([3, 4]), new BatchNormalization(axis: 1, center: false, scale: false));
        OnnxTestHelpers.RandomizeWeights(channels, 2);
        var gc = ExportChecked(channels, opset);
        Assert.Equal(new[] { "Mul", "Add" }, OpTypes(gc));
        Assert.All(gc.Initializer, i => Assert.Equal(new long[] { 3, 1 }, i.Dims.ToArray()));
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void LayerNormalizationIsOnnxLayerNormalization(int opset)
    {
        Keras.SetRandomSeed(opset);
        using var last = new Sequential(new InputLayer([3, 4]), new LayerNormalization());
        OnnxTestHelpers.RandomizeWeights(last, 1);
        Assert.Equal(new[] { "LayerNormalization" }, OpTypes(ExportChecked(last, opset)));

        // Several trailing axes, without gamma and beta (ONNX needs a Scale: ones).
        using var plain = new Sequential(new InputLayer([3, 4]), new LayerNormalization([1, 2], center: false, scale: false));
        var gp = ExportChecked(plain, opset);
        Assert.Equal(new[] { "LayerNormalization" }, OpTypes(gp));
        Assert.Equal(1, gp.Node[0].Attribute.Single(a => a.Name == "axis").I);

        // A middle axis: moved last and back.
        using var middle = new Sequential(new InputLayer([3, 4]), new LayerNormalization(1, epsilon: 0.1));
        OnnxTestHelpers.RandomizeWeights(middle, 2);
        Assert.Equal(new[] { "Transpose", "LayerNormalization", "Transpose" }, OpTypes(ExportChecked(middle, opset)));
    }

    [Fact]
    public void RmsScalingLayerNormalizationFailsClearly()
    {
        using var model = new Sequential(new InputLayer([4]), new LayerNormalization(rmsScaling: true) { Name = "rms" });
        var e = Assert.Throws<OnnxExportException>(() => model.ExportOnnxBytes(out _));
        Assert.Contains("rms_scaling", e.Message);
        Assert.Contains("rms", e.Message);
    }

    // ---- embedding, reshaping, preprocessing, noise -----------------------------------------------

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void EmbeddingIsGatherOnInt64Indices(int opset)
    {
        Keras.SetRandomSeed(opset);
        using var model = new Sequential(new InputLayer([5]), new Embedding(10, 3));
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset, Verify = true });
        var g = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.Equal(new[] { "Cast", "Gather" }, OpTypes(g));
        Assert.Equal(1, g.Input.Single().Type.TensorType.ElemType);
        var generator = new Generator(5);
        OnnxTestHelpers.AssertParityOn(model, bytes, randint(0, 10, [1, 5], ScalarType.Float32, generator: generator));
        OnnxTestHelpers.AssertParityOn(model, bytes, randint(0, 10, [6, 5], ScalarType.Float32, generator: generator));
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void ReshapingLayersRescalingAndGaussianNoiseExport(int opset)
    {
        Keras.SetRandomSeed(opset);
        using var model = new Sequential(new InputLayer([6]),
            new Rescaling(2.0, -1.0), new GaussianNoise(0.5, seed: 3), new Reshape([2, 3]), new Permute([2, 1]), new Reshape([-1]), new RepeatVector(3));
        var g = ExportChecked(model, opset);
        Assert.Equal(new[] { "Cast", "Mul", "Add", "Reshape", "Transpose", "Reshape", "Unsqueeze", "Tile" }, OpTypes(g));

        // GaussianNoise is the identity at inference: nothing is written for it.
        using var noisy = new Sequential(new InputLayer([4]), new GaussianNoise(0.9), new Dense(2));
        Assert.Equal(new[] { "Gemm" }, OpTypes(ExportChecked(noisy, opset)));
    }

    // ---- activation layers ------------------------------------------------------------------------

    public static TheoryData<int, string, string[]> ReluCases()
    {
        var data = new TheoryData<int, string, string[]>();
        foreach (var opset in OnnxTestHelpers.Opsets)
        {
            data.Add(opset, "plain", ["Relu"]);
            data.Add(opset, "max", ["Clip"]);
            data.Add(opset, "slope", ["LeakyRelu"]);
            data.Add(opset, "threshold", ["Greater", "Where"]);
            data.Add(opset, "all", ["Greater", "Where", "Clip", "Sub", "Relu", "Mul", "Sub"]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ReluCases))]
    public void ReluLayerWithMaxValueThresholdAndNegativeSlope(int opset, string variant, string[] nodes)
    {
        Keras.SetRandomSeed(opset);
        var relu = variant switch
        {
            "plain" => new ReLU(),
            "max" => new ReLU(maxValue: 0.4),
            "slope" => new ReLU(negativeSlope: 0.1),
            "threshold" => new ReLU(threshold: 0.2),
            _ => new ReLU(maxValue: 0.5, negativeSlope: 0.1, threshold: 0.2),
        };
        // Rescaling spreads the inputs over [-1, 1) so every branch is taken.
        using var model = new Sequential(new InputLayer([16]), new Rescaling(2.0, -1.0), relu);
        var g = ExportChecked(model, opset);
        Assert.Equal(new[] { "Cast", "Mul", "Add" }.Concat(nodes).ToArray(), OpTypes(g));
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void LeakyReluPreluEluAndSoftmaxLayersExport(int opset)
    {
        Keras.SetRandomSeed(opset);
        var rescale = new Rescaling(2.0, -1.0);
        using var model = new Sequential(new InputLayer([3, 4]), new Rescaling(4.0, -2.0), new LeakyReLU(0.3), new ELU(0.7), new PReLU(), new Softmax());
        OnnxTestHelpers.RandomizeWeights(model, 1);
        Assert.Equal(new[] { "Cast", "Mul", "Add", "LeakyRelu", "Elu", "PRelu", "Softmax" }, OpTypes(ExportChecked(model, opset)));

        // PReLU with a shared axis (alpha [1, 4] broadcasts), softmax over two axes (ReduceMax, Exp, ReduceSum, Div).
        using var shared = new Sequential(new InputLayer([3, 4]), rescale, new PReLU(sharedAxes: [1]), new Softmax([1, 2]));
        OnnxTestHelpers.RandomizeWeights(shared, 2);
        var g = ExportChecked(shared, opset);
        Assert.Equal(new[] { "Cast", "Mul", "Add", "PRelu", "ReduceMax", "Sub", "Exp", "ReduceSum", "Div" }, OpTypes(g));
    }

    // ---- recurrent ops, traced step by step ------------------------------------------------------

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void RecurrentLayersWithoutAnOnnxRnnActivationAreTracedStepByStep(int opset)
    {
        // softsign is not an activation of ONNX's RNN ops: the layers' steps are traced (Take, Split,
        // Slice, Stack, Flip, ZeroState), which needs a fixed sequence length.
        Keras.SetRandomSeed(opset);
        using var model = Recurrent(x =>
        {
            var h = new Bidirectional(new SimpleRNN(3, activation: "softsign", returnSequences: true), "sum").Apply(x);
            return
            [
                new GRU(2, activation: "softsign", resetAfter: false, returnSequences: true, goBackwards: true).Apply(h),
                new LSTM(2, activation: "softsign").Apply(h),
            ];
        }, steps: 4);
        OnnxTestHelpers.RandomizeWeights(model, opset);
        var g = ExportChecked(model, opset);
        Assert.DoesNotContain(g.Node, n => n.OpType is "RNN" or "GRU" or "LSTM");
        foreach (var op in new[] { "Softsign", "Gather", "Slice", "Unsqueeze", "Concat", "ConstantOfShape" }) Assert.Contains(g.Node, n => n.OpType == op);
    }

    // ---- recurrent layers -------------------------------------------------------------------------

    public static TheoryData<int, string> RecurrentCases()
    {
        string[] cases =
        [
            "lstm", "lstm_seq", "lstm_back", "lstm_back_seq", "lstm_state", "lstm_seq_state", "lstm_activations",
            "gru", "gru_seq", "gru_no_reset_after", "gru_no_reset_after_seq", "gru_back_seq", "gru_state", "gru_activations", "gru_no_bias",
            "rnn", "rnn_seq", "rnn_back_seq", "rnn_relu", "rnn_linear_state",
        ];
        var data = new TheoryData<int, string>();
        foreach (var opset in OnnxTestHelpers.Opsets)
            foreach (var c in cases) data.Add(opset, c);
        return data;
    }

    private static RecurrentLayer RecurrentLayerFor(string variant) => variant switch
    {
        "lstm" => new LSTM(4),
        "lstm_seq" => new LSTM(4, returnSequences: true),
        "lstm_back" => new LSTM(4, goBackwards: true),
        "lstm_back_seq" => new LSTM(4, returnSequences: true, goBackwards: true),
        "lstm_state" => new LSTM(4, returnState: true),
        "lstm_seq_state" => new LSTM(4, returnSequences: true, returnState: true, goBackwards: true),
        "lstm_activations" => new LSTM(4, activation: "relu", recurrentActivation: "hard_sigmoid", returnSequences: true),
        "gru" => new GRU(4),
        "gru_seq" => new GRU(4, returnSequences: true),
        "gru_no_reset_after" => new GRU(4, resetAfter: false),
        "gru_no_reset_after_seq" => new GRU(4, resetAfter: false, returnSequences: true),
        "gru_back_seq" => new GRU(4, returnSequences: true, goBackwards: true),
        "gru_state" => new GRU(4, returnSequences: true, returnState: true),
        "gru_activations" => new GRU(4, recurrentActivation: "hard_sigmoid", returnSequences: true, resetAfter: false),
        "gru_no_bias" => new GRU(4, useBias: false, returnSequences: true),
        "rnn" => new SimpleRNN(4),
        "rnn_seq" => new SimpleRNN(4, returnSequences: true),
        "rnn_back_seq" => new SimpleRNN(4, returnSequences: true, goBackwards: true),
        "rnn_relu" => new SimpleRNN(4, activation: "relu", returnSequences: true),
        "rnn_linear_state" => new SimpleRNN(4, activation: "linear", returnState: true),
        _ => throw new ArgumentException(variant),
    };

    [Theory]
    [MemberData(nameof(RecurrentCases))]
    public void RecurrentLayersLowerToOneOnnxOp(int opset, string variant)
    {
        Keras.SetRandomSeed(opset);
        var layer = RecurrentLayerFor(variant);
        using var model = Recurrent(x => layer.ApplyMany([x]));
        OnnxTestHelpers.RandomizeWeights(model, opset);
        var g = ExportChecked(model, opset);
        string op = layer switch { LSTM => "LSTM", GRU => "GRU", _ => "RNN" };
        var node = Assert.Single(g.Node, n => n.OpType == op);
        Assert.DoesNotContain(g.Node, n => n.OpType is "Loop" or "Scan" or "MatMul" or "Gemm");
        Assert.Equal(layer.GoBackwards ? "reverse" : "forward", node.Attribute.Single(a => a.Name == "direction").S.ToStringUtf8());
        if (layer is GRU gru) Assert.Equal(gru.ResetAfter ? 1 : 0, node.Attribute.Single(a => a.Name == "linear_before_reset").I);
        Assert.Equal(layer.ReturnState ? (layer is LSTM ? 3 : 2) : 1, g.Output.Count);
    }

    [Fact]
    public void LstmWeightsAreReorderedToOnnxGateOrder()
    {
        Keras.SetRandomSeed(9);
        var layer = new LSTM(2);
        using var model = Recurrent(x => layer.ApplyMany([x]), steps: 2, features: 1);
        OnnxTestHelpers.RandomizeWeights(model, 9);
        var g = Onnx.ModelProto.Parser.ParseFrom(model.ExportOnnxBytes(out _)).Graph;
        var node = g.Node.Single(n => n.OpType == "LSTM");
        float[] Init(string name)
        {
            var t = g.Initializer.Single(i => i.Name == name);
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        }
        // Keras kernel [1, 8] has the gate blocks i, f, c, o; ONNX W [1, 8, 1] has i, o, f, c.
        var kernel = layer.Kernel.ToArray();
        var w = Init(node.Input[1]);
        float[] expected = [.. kernel[0..2], .. kernel[6..8], .. kernel[2..4], .. kernel[4..6]];
        Assert.Equal(expected, w);
        var bias = layer.Bias!.ToArray();
        var b = Init(node.Input[3]);
        Assert.Equal([.. bias[0..2], .. bias[6..8], .. bias[2..4], .. bias[4..6], .. new float[8]], b);
    }

    public static TheoryData<int, string?, bool, bool> BidirectionalCases()
    {
        var data = new TheoryData<int, string?, bool, bool>();
        foreach (var opset in OnnxTestHelpers.Opsets)
        {
            data.Add(opset, "concat", true, false);
            data.Add(opset, "concat", false, false);
            data.Add(opset, "sum", true, false);
            data.Add(opset, "ave", false, false);
            data.Add(opset, "mul", true, false);
            data.Add(opset, null, true, false);
            data.Add(opset, "concat", true, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(BidirectionalCases))]
    public void BidirectionalIsOneBidirectionalOp(int opset, string? mergeMode, bool returnSequences, bool returnState)
    {
        Keras.SetRandomSeed(opset);
        foreach (var inner in new RecurrentLayer[] { new LSTM(3, returnSequences: returnSequences, returnState: returnState), new GRU(3, returnSequences: returnSequences, returnState: returnState) })
        {
            using var model = Recurrent(x => new Bidirectional(inner, mergeMode).ApplyMany([x]));
            OnnxTestHelpers.RandomizeWeights(model, opset);
            var g = ExportChecked(model, opset);
            var node = Assert.Single(g.Node, n => n.OpType is "LSTM" or "GRU");
            Assert.Equal("bidirectional", node.Attribute.Single(a => a.Name == "direction").S.ToStringUtf8());
            Assert.DoesNotContain(g.Node, n => n.OpType is "MatMul" or "Gemm");
            int outputs = (mergeMode is null ? 2 : 1) + (returnState ? (inner is LSTM ? 4 : 2) : 0);
            Assert.Equal(outputs, g.Output.Count);
        }
    }

    [Fact]
    public void BidirectionalOfAGoBackwardsLayerAndMixedDirectionsExport()
    {
        Keras.SetRandomSeed(5);
        using var reversed = Recurrent(x => new Bidirectional(new SimpleRNN(3, returnSequences: true, goBackwards: true), "concat").ApplyMany([x]));
        OnnxTestHelpers.RandomizeWeights(reversed, 5);
        Assert.Single(ExportChecked(reversed, 17).Node, n => n.OpType == "RNN");

        // Different backward layer: one op per direction.
        using var mixed = Recurrent(x => new Bidirectional(new LSTM(3, returnSequences: true), "sum",
            backwardLayer: new GRU(3, returnSequences: true, goBackwards: true)).ApplyMany([x]));
        OnnxTestHelpers.RandomizeWeights(mixed, 6);
        var g = ExportChecked(mixed, 21);
        Assert.Single(g.Node, n => n.OpType == "LSTM");
        Assert.Single(g.Node, n => n.OpType == "GRU");
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void RecurrentLayersExportWithADynamicSequenceLength(int opset)
    {
        Keras.SetRandomSeed(opset);
        using var model = Recurrent(x =>
        {
            var h = new Bidirectional(new LSTM(3, returnSequences: true)).Apply(x);
            return [new GRU(2, goBackwards: true).Apply(new SimpleRNN(4, returnSequences: true).Apply(h))];
        }, steps: null);
        OnnxTestHelpers.RandomizeWeights(model, opset);
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset, Verify = true });
        var g = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        var seq = g.Input.Single().Type.TensorType.Shape.Dim[1];
        Assert.False(string.IsNullOrEmpty(seq.DimParam));
        Assert.Equal(new[] { "LSTM", "RNN", "GRU" }, g.Node.Select(n => n.OpType).Where(t => t is "LSTM" or "GRU" or "RNN").ToArray());
        var generator = new Generator(11);
        foreach (var (batch, steps) in new[] { (1L, 1L), (1L, 9L), (3L, 2L), (2L, 12L) })
            OnnxTestHelpers.AssertParityOn(model, bytes, rand([batch, steps, 3], ScalarType.Float32, generator: generator));
    }

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void KerasTwoHardSigmoidRecurrentLayersAreOneOnnxOpWithADynamicSequenceLength(int opset)
    {
        // Keras 2's hard_sigmoid, clip(0.2x + 0.5, 0, 1), is ONNX's HardSigmoid with alpha 0.2 and beta 0.5 (ONNX:
        // max(0, min(1, alpha * x + beta))), so layers loaded from Keras 2 files need no step-by-step tracing.
        Keras.SetRandomSeed(opset);
        using var model = Recurrent(x =>
        {
            var h = new Bidirectional(new LSTM(3, recurrentActivation: "hard_sigmoid_keras2", returnSequences: true)).Apply(x);
            h = new GRU(3, recurrentActivation: "hard_sigmoid_keras2", resetAfter: false, returnSequences: true).Apply(h);
            return [new GRU(2, recurrentActivation: "hard_sigmoid_keras2", goBackwards: true).Apply(h)];
        }, steps: null);
        OnnxTestHelpers.RandomizeWeights(model, opset);
        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset, Verify = true });
        var g = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.False(string.IsNullOrEmpty(g.Input.Single().Type.TensorType.Shape.Dim[1].DimParam));
        var nodes = g.Node.Where(n => n.OpType is "LSTM" or "GRU" or "RNN").ToArray();
        Assert.Equal(new[] { "LSTM", "GRU", "GRU" }, nodes.Select(n => n.OpType).ToArray());
        // Per direction: LSTM f, g, h = HardSigmoid, Tanh, Tanh; GRU f, g = HardSigmoid, Tanh. Only HardSigmoid takes alpha/beta.
        string[] Strings(Onnx.NodeProto n, string name) => n.Attribute.Single(a => a.Name == name).Strings.Select(b => b.ToStringUtf8()).ToArray();
        float[] Floats(Onnx.NodeProto n, string name) => n.Attribute.Single(a => a.Name == name).Floats.ToArray();
        Assert.Equal(new[] { "HardSigmoid", "Tanh", "Tanh", "HardSigmoid", "Tanh", "Tanh" }, Strings(nodes[0], "activations"));
        Assert.Equal(new[] { 0.2f, 0.2f }, Floats(nodes[0], "activation_alpha"));
        Assert.Equal(new[] { 0.5f, 0.5f }, Floats(nodes[0], "activation_beta"));
        foreach (var gru in nodes[1..])
        {
            Assert.Equal(new[] { "HardSigmoid", "Tanh" }, Strings(gru, "activations"));
            Assert.Equal(new[] { 0.2f }, Floats(gru, "activation_alpha"));
            Assert.Equal(new[] { 0.5f }, Floats(gru, "activation_beta"));
        }
        // Inputs in [-4, 4) drive the gates' pre-activations past +-2.5, where clip(0.2x + 0.5, 0, 1) saturates.
        var generator = new Generator(13);
        foreach (var (batch, steps) in new[] { (1L, 1L), (1L, 9L), (3L, 2L), (2L, 12L) })
            OnnxTestHelpers.AssertParityOn(model, bytes, rand([batch, steps, 3], ScalarType.Float32, generator: generator) * 8 - 4);
    }

    [Fact]
    public void StackedRecurrentLayersWithTheInnerSequenceAlsoAnOutputExport()
    {
        // The Transposes back to [batch, seq, units] and forward to [seq, batch, units] between the layers cancel, except
        // that the inner sequence is a model output and must still be computed.
        Keras.SetRandomSeed(12);
        var input = Keras.Input([null, 3]);
        var inner = new SimpleRNN(4, returnSequences: true).Apply(input);
        var outer = new GRU(2).Apply(inner);
        using var model = new Model([input], [inner, outer]);
        OnnxTestHelpers.RandomizeWeights(model, 12);
        var g = ExportChecked(model, 17);
        Assert.Equal(2, g.Output.Count);
    }
}
