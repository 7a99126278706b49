using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace OnnxKeras.Tests.Examples;

/// <summary>Runs a built example (examples/NAME, same configuration as the tests) as its own process.</summary>
internal static class ExampleRunner
{
    /// <summary>
    /// Runs examples/<paramref name="name"/>'s built dll with <paramref name="args"/> from the repository root and returns
    /// its standard output. Fails the test when the dll was not built, the run exceeds <paramref name="limit"/> (the
    /// process tree is killed) or it exits with a non-zero code (the message carries both output streams).
    /// </summary>
    public static async Task<string> RunAsync(string name, string[] args, TimeSpan limit)
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "OnnxKeras.sln"))) root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException("repository root not found");
        var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(root, "examples", name, "bin", config, "net10.0", "linux-x64", $"{name}.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        var start = new ProcessStartInfo("dotnet", ["exec", dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the {name} example did not finish within {limit.TotalMinutes:0} minutes");
        }
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\n{output}\n{await stderr}");
        return output;
    }

    /// <summary>The number captured by <paramref name="pattern"/>'s first group in <paramref name="output"/>; fails when absent.</summary>
    public static double Figure(string output, string pattern)
    {
        var match = Regex.Match(output, pattern);
        Assert.True(match.Success, $"'{pattern}' not in\n{output}");
        return double.Parse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
