using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OnnxKeras.Examples.TextTransformer;

/// <summary>
/// Starts <c>onnxkeras serve</c> (src/Cli, built beside this example) on an ONNX file as its own process, sends one
/// Open Inference Protocol (KServe v2 REST) request and stops the server with SIGTERM, as a deployment would.
/// </summary>
internal static partial class Serving
{
    /// <summary>
    /// Serves <paramref name="onnxPath"/> on a free loopback port and returns the model's output for the rows of
    /// <paramref name="rows"/> (token ids, [n, sequence length]) as the server answers them.
    /// </summary>
    public static async Task<float[]> PredictOverHttpAsync(string onnxPath, float[,] rows)
    {
        string cli = CliPath();
        var start = new ProcessStartInfo("dotnet", ["exec", cli, "serve", onnxPath, "--port", "0", "--name", "spam", "--threads", "1"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var server = Process.Start(start) ?? throw new InvalidOperationException($"could not start {cli}");
        var stderr = server.StandardError.ReadToEndAsync();
        try
        {
            // The server prints "Serving 'spam' version 1 at http://127.0.0.1:PORT/ (Open Inference Protocol v2). ...".
            string? line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var match = line is null ? null : Address().Match(line);
            if (match is null || !match.Success)
                throw new InvalidOperationException($"onnxkeras serve did not start: '{line}' {await stderr}");
            Console.WriteLine($"  {line}");
            using var http = new HttpClient { BaseAddress = new Uri(match.Groups[1].Value), Timeout = TimeSpan.FromSeconds(30) };

            int n = rows.GetLength(0), length = rows.GetLength(1);
            var request = new
            {
                id = "spam-check",
                inputs = new[] { new { name = "tokens", shape = new[] { n, length }, datatype = "FP32", data = rows.Cast<float>().ToArray() } },
            };
            using var response = await http.PostAsJsonAsync("v2/models/spam/infer", request);
            string body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"HTTP {(int)response.StatusCode}: {body}");
            // {"model_name":"spam","model_version":"1","id":"spam-check","outputs":[{"name":"spam_probability","datatype":"FP32","shape":[n,1],"data":[...]}]}
            var output = JsonDocument.Parse(body).RootElement.GetProperty("outputs")[0];
            Console.WriteLine($"  POST /v2/models/spam/infer ({n} rows of {length} token ids) -> {output.GetProperty("name").GetString()} " +
                $"{output.GetProperty("shape")}");
            return output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        }
        finally
        {
            if (!server.HasExited)
            {
                _ = Kill(server.Id, 15); // SIGTERM: the server finishes requests in flight and exits
                if (!server.WaitForExit(10_000)) server.Kill(entireProcessTree: true);
            }
        }
    }

    // The CLI is built by this project's reference into src/Cli/bin/<configuration>/<framework>/<rid>/, the same
    // relative folder as this example's own output.
    private static string CliPath()
    {
        string here = AppContext.BaseDirectory;
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "OnnxKeras.sln"))) continue;
            string relative = Path.GetRelativePath(Path.Combine(dir.FullName, "examples", "TextTransformer"), here);
            string cli = Path.Combine(dir.FullName, "src", "Cli", relative, "onnxkeras.dll");
            if (File.Exists(cli)) return cli;
            throw new FileNotFoundException($"onnxkeras.dll was not found at {cli}; build the example (it builds src/Cli).", cli);
        }
        throw new DirectoryNotFoundException($"the repository root (OnnxKeras.sln) was not found above {here}");
    }

    [GeneratedRegex(@" at (http://\S+/) ")]
    private static partial Regex Address();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
