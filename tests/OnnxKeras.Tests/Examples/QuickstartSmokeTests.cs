using Xunit;

namespace OnnxKeras.Tests.Examples;

/// <summary>Runs examples/Quickstart (the TF 2.0 Keras quick-start tutorial, cell by cell, in C#) as its own process.</summary>
public class QuickstartSmokeTests
{
    [Fact]
    public async Task QuickstartRunsEverySectionToCompletion()
    {
        var output = await ExampleRunner.RunAsync("Quickstart", [], TimeSpan.FromMinutes(4));
        foreach (var cell in new[] { "== 1 ", "== 2 ", "== 3.1 ", "== 3.2 ", "== 3.3 ", "== 3.4 ", "== 4.1 ", "== 4.2 ", "== 4.3 ", "== 4.4 ", "== 5.1 ", "== 5.2 ", "== 5.3 ", "== 6 " })
            Assert.Contains(cell, output);
        // What the tutorial's reader sees: the fit logs of 10 epochs, evaluate's [loss, metric] lists, print(result) of a
        // 1000 x 10 array (summarised as NumPy does), the JSON and YAML configs.
        Assert.Contains("Epoch 10/10", output);
        Assert.Matches(@"\n\[[0-9.e+-]+, [0-9.e+-]+\]\n", output);
        Assert.Matches(@"\n\[\[[0-9. e+-]+\]\n \[[0-9. e+-]+\]\n \[[0-9. e+-]+\]\n \.\.\.\n \[", output);
        Assert.Contains("\"class_name\": \"Sequential\"", output);
        Assert.Contains("class_name: \"Sequential\"", output);
        Assert.Contains("ONNX input 'x' [batch, 72], output 'dense", output);
        Assert.Contains("Quickstart completed.", output);
    }
}
