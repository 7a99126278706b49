using System.Diagnostics;
using Xunit;

namespace OnnxKeras.Tests.Examples;

/// <summary>Runs examples/Quickstart (the TF 2.0 Keras quick-start tutorial, cell by cell, in C#) as its own process.</summary>
public class QuickstartSmokeTests
{
    [Fact]
    public async Task QuickstartRunsEverySectionToCompletion()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "OnnxKeras.sln"))) root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException("repository root not found");
        var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(root, "examples", "Quickstart", "bin", config, "net10.0", "linux-x64", "Quickstart.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        var start = new ProcessStartInfo("dotnet", ["exec", dll]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the Quickstart did not finish within 4 minutes");
        }
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\n{output}\n{await stderr}");
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
