using System.Text.RegularExpressions;
using Xunit;

namespace OnnxKeras.Tests.Examples;

/// <summary>
/// Runs examples/TextTransformer with <c>--quick</c> (256 training messages, one epoch) as its own process: training,
/// ONNX export, the file in ONNX Runtime and `onnxkeras serve` answering over HTTP, end to end.
/// </summary>
public class TextTransformerSmokeTests
{
    [Fact]
    public async Task QuickRunTrainsExportsServesAndMatchesPredict()
    {
        var outDir = Path.Combine(Path.GetTempPath(), $"text-transformer-{Guid.NewGuid():N}");
        try
        {
            var output = await ExampleRunner.RunAsync("TextTransformer", ["--quick", "--out", outDir], TimeSpan.FromMinutes(2));

            Assert.Contains("SpamAssassin subset: 256 training and 64 test messages", output);
            Assert.Contains("Epoch 1/1", output);
            Assert.Matches(@"test accuracy \d+\.\d\d %", output);
            Assert.Matches(@"Serving 'spam' version 1 at http://127\.0\.0\.1:\d+/", output);
            Assert.Contains("POST /v2/models/spam/infer (4 rows of 200 token ids) -> spam_probability [4,1]", output);
            Assert.Contains("reloaded predictions identical: True", output);
            // The exported graph holds the attention block: MultiHeadAttention's projections (EinsumDense) and its softmax.
            Assert.Matches(@"text_transformer\.onnx: opset 17 \(IR 8\), \d+ nodes \([^)]*Einsum 6[^)]*Softmax 1", output);
            Assert.True(ExampleRunner.Figure(output, @"export parity: max \|ONNX - Predict\| over the test split = (\S+)") <= 1e-5, output);
            Assert.True(ExampleRunner.Figure(output, @"serving parity: max \|served - Predict\| over 4 messages = (\S+)") <= 1e-5, output);
            Assert.Equal(4, Regex.Matches(output, @"served: P\(spam\) = [01]\.\d{4} \(Predict [01]\.\d{4}\)").Count);
            Assert.Contains("TextTransformer completed.", output);

            Assert.True(new FileInfo(Path.Combine(outDir, "text_transformer.onnx")).Length > 100_000);
            var vocabulary = File.ReadAllLines(Path.Combine(outDir, "vocabulary.txt"));
            Assert.Equal(["", "[UNK]"], vocabulary[..2]);
            Assert.Equal(vocabulary.Length, vocabulary.Distinct().Count());
            Assert.Contains($"vocabulary {vocabulary.Length:N0} words", output);
            Assert.Contains("client vectorization from vocabulary.txt gives the training ids: True", output);
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }
}
