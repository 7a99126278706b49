using System.Diagnostics;
using Xunit;

namespace OnnxKeras.Tests.Examples;

/// <summary>Runs examples/Quickstart (every section of the Keras quick-start in C#) as its own process.</summary>
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
        foreach (var section in new[] { "== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6.", "== 7.", "== 8.", "== 9.", "== 10.", "== 11.", "== 12.", "== 13." })
            Assert.Contains(section, output);
        Assert.Contains("Quickstart completed.", output);
    }
}
