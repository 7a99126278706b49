using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Tests.Export;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// A Transformer encoder block in the functional API, as a text classifier would build it: token and position
/// embeddings (Embedding layers), MultiHeadAttention self-attention, Add and LayerNormalization, a Dense feed-forward
/// network, GlobalAveragePooling1D and a softmax head; trained with Fit on a tiny random problem and exported to ONNX
/// with parity at every opset.
/// </summary>
public class TransformerBlockTests
{
    private const int SeqLen = 6, Vocab = 5, Dim = 8;

    /// <summary>Positions 0..SeqLen-1 for every sequence: 0 * tokens + [0, 1, ...] (a constant, so it exports as one).</summary>
    private static readonly ActivationFunction Positions = new("transformer_test_positions",
        tokens => Ops.Add(Ops.Multiply(tokens, 0.0), new KTensor(arange(SeqLen, dtype: ScalarType.Float32))));

    private static Model Build()
    {
        var tokens = Keras.Input([SeqLen], name: "tokens");
        var tokenEmbedding = new Embedding(Vocab, Dim).Apply(tokens);
        var positionEmbedding = new Embedding(SeqLen, Dim).Apply(new Lambda(Positions).Apply(tokens));
        var x = new Add().Apply([tokenEmbedding, positionEmbedding]);
        var attention = new MultiHeadAttention(numHeads: 2, keyDim: 4).Apply(x, x);
        x = new LayerNormalization(epsilon: 1e-6).Apply(new Add().Apply([x, attention]));
        var ffn = new Dense(Dim).Apply(new Dense(16, activation: "relu").Apply(x));
        x = new LayerNormalization(epsilon: 1e-6).Apply(new Add().Apply([x, ffn]));
        var pooled = new GlobalAveragePooling1D().Apply(x);
        return new Model(tokens, new Dense(2, activation: "softmax").Apply(pooled), "transformer_block");
    }

    [Fact]
    public void EncoderBlockTrainsWithFitAndExportsWithParity()
    {
        Keras.SetRandomSeed(2024);
        // Label: does token 1 occur more often than token 2 in the sequence?
        var random = new Random(7);
        const int n = 96;
        var x = new float[n, SeqLen];
        var y = new float[n, 2];
        for (int i = 0; i < n; i++)
        {
            int ones = 0, twos = 0;
            for (int t = 0; t < SeqLen; t++)
            {
                x[i, t] = random.Next(Vocab);
                ones += x[i, t] == 1 ? 1 : 0;
                twos += x[i, t] == 2 ? 1 : 0;
            }
            y[i, ones > twos ? 1 : 0] = 1;
        }
        using var model = Build();
        model.Compile(new Adam(0.01), "categorical_crossentropy", metrics: ["accuracy"]);
        var history = model.Fit(x, y, batchSize: 16, epochs: 8, verbose: 0);
        var loss = history.HistoryData["loss"];
        Assert.True(loss[^1] < loss[0] * 0.8, $"loss did not fall: {string.Join(", ", loss)}");

        foreach (int opset in OnnxTestHelpers.Opsets)
        {
            var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
            Assert.Equal(opset, report.Opset);
            var ids = randint(0, Vocab, [3, SeqLen], generator: new Generator((ulong)opset)).to_type(ScalarType.Float32);
            OnnxTestHelpers.AssertParityOn(model, bytes, ids);
        }
    }
}
