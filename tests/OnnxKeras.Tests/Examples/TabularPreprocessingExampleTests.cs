using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
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
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "OnnxKeras.sln"))) root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException("repository root not found");
        var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(root, "examples", "TabularPreprocessing", "bin", config, "net10.0", "linux-x64", "TabularPreprocessing.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        var start = new ProcessStartInfo("dotnet", ["exec", dll]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the example did not finish within 2 minutes");
        }
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\n{output}\n{await stderr}");
        Assert.Contains("Iris: 120 training and 30 test rows", output);
        double Number(string pattern) =>
            double.Parse(Regex.Match(output, pattern).Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        Assert.InRange(Number(@"max \|served - OnnxModel\.Predict\| = (\S+)"), 0, 1e-6);
        Assert.InRange(Number(@"max \|ONNX - TorchSharp\| = (\S+)"), 0, 1e-5);
        Assert.InRange(Number(@"raw test rows: accuracy ([0-9.]+) %"), 90, 100); // Iris is nearly separable: 27 of 30 or better
        Assert.Matches(@"onnxkeras serve: http://127\.0\.0\.1:\d+/", output);
        Assert.Contains("TabularPreprocessing completed", output);
    }
}
