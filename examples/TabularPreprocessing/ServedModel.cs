using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OnnxKeras.Examples.TabularPreprocessing;

/// <summary>
/// `onnxkeras serve model.onnx --port 0 --name NAME` as a child process (onnxkeras.dll next to this program), and a
/// KServe v2 REST client for it: POST /v2/models/NAME/infer with FP32 rows, read the first output.
/// </summary>
internal sealed partial class ServedModel : IAsyncDisposable
{
    private readonly Process process;
    private readonly HttpClient http = new();
    private readonly string name;

    private ServedModel(Process process, Uri baseAddress, string name)
    {
        this.process = process;
        this.name = name;
        BaseAddress = baseAddress;
        http.BaseAddress = baseAddress;
    }

    /// <summary>The server's address, as it printed it (a free port on 127.0.0.1).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts the server and waits (at most 60 s) for its "Serving ... at URL" line.</summary>
    public static async Task<ServedModel> StartAsync(string onnxPath, string name)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "onnxkeras.dll");
        if (!File.Exists(cli)) throw new FileNotFoundException("onnxkeras.dll is not next to the example: build it with its project file.", cli);
        var start = new ProcessStartInfo("dotnet", ["exec", cli, "serve", onnxPath, "--port", "0", "--name", name])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start onnxkeras serve");
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is string line)
            {
                if (ServingLine().Match(line) is { Success: true } m)
                {
                    _ = process.StandardOutput.ReadToEndAsync(); // keep draining its output
                    return new ServedModel(process, new Uri(m.Groups[1].Value), name);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException($"onnxkeras serve did not start: {await stderr}");
    }

    /// <summary>POSTs <paramref name="rows"/> as the FP32 input <paramref name="input"/> and returns the first output as rows.</summary>
    public async Task<float[,]> InferAsync(string input, float[,] rows)
    {
        int n = rows.GetLength(0), d = rows.GetLength(1);
        var request = new { inputs = new[] { new { name = input, shape = new[] { n, d }, datatype = "FP32", data = rows.Cast<float>().ToArray() } } };
        using var content = new StringContent(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync($"v2/models/{name}/infer", content);
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"infer answered {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        var output = json.RootElement.GetProperty("outputs")[0];
        var shape = output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var data = output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var result = new float[shape[0], shape[1]];
        Buffer.BlockCopy(data, 0, result, 0, data.Length * sizeof(float));
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }

    [GeneratedRegex(@"^Serving .* at (http://\S+/)")]
    private static partial Regex ServingLine();
}
