using Xunit;

namespace OnnxKeras.Tests.Examples;

/// <summary>
/// Runs examples/TabularPreprocessing as its own process: Iris rows through Normalization.Adapt and an MLP, exported to
/// ONNX, predicted with OnnxModel on raw rows, then served by `onnxkeras serve` (a child process of the example) and
/// queried over KServe v2 REST. Checks the figures it prints: the served answers equal OnnxModel.Predict within 1e-6,
/// ONNX Runtime agrees with TorchSharp within 1e-5, and the raw-row model classifies the held-out rows.
/// </summary>
public class TabularPreprocessingExampleTests
{
    [Fact]
    public async Task TrainsExportsPredictsAndServesRawRows()
    {
        var output = await ExampleRunner.RunAsync("TabularPreprocessing", [], TimeSpan.FromMinutes(2));
        Assert.Contains("Iris: 120 training and 30 test rows", output);
        double Number(string pattern) => ExampleRunner.Figure(output, pattern);
        Assert.InRange(Number(@"max \|served - OnnxModel\.Predict\| = (\S+)"), 0, 1e-6);
        Assert.InRange(Number(@"max \|ONNX - TorchSharp\| = (\S+)"), 0, 1e-5);
        Assert.InRange(Number(@"raw test rows: accuracy ([0-9.]+) %"), 90, 100); // Iris is nearly separable: 27 of 30 or better
        Assert.Matches(@"onnxkeras serve: http://127\.0\.0\.1:\d+/", output);
        Assert.Contains("TabularPreprocessing completed", output);
    }
}
