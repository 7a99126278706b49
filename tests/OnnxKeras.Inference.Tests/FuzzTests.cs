using System.Net;
using System.Text;
using Xunit;
using Xunit.Abstractions;
using OnnxKeras.Tests.Shared;

namespace OnnxKeras.Inference.Tests;

/// <summary>
/// Seeded mutation fuzzing of what the inference side reads from outside: infer request bodies (the server must answer
/// 200, 400 or 413 and keep serving, never 500 or a dropped connection), and the CLI's .npy, CSV and .onnx inputs (exit 0
/// or 1 with a message, never an escaping exception). Bounded: a fixed number of mutants per format, fixed seeds.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Mutants = 200;
    private readonly string dir = Directory.CreateTempSubdirectory("onnxkeras-fuzz-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task MutatedInferBodiesGet200Or400AndTheServerKeepsServing()
    {
        using var model = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        await using var server = await OnnxKeras.Cli.Serving.KServeServer.StartAsync(model, new OnnxKeras.Cli.Serving.ServerOptions { ModelName = "m" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
        byte[] valid = Encoding.UTF8.GetBytes("""{"id": "f", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [[1.5, -2, 3e-2], [4, "NaN", 6]]}], "outputs": [{"name": "y"}]}""");
        using (var original = new ByteArrayContent(valid))
        {
            using var response = await http.PostAsync("v2/models/m/infer", original);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
        var rng = new Random(11);
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (int i = 0; i < Mutants; i++)
        {
            using var content = new ByteArrayContent(Mutator.Mutate(valid, rng));
            content.Headers.ContentType = new("application/json");
            using var response = await http.PostAsync("v2/models/m/infer", content);
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            string answer = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("transcode", answer, StringComparison.Ordinal);   // .NET's own wording: a message of ours is expected
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest,
                        $"mutant {i}: {response.StatusCode} {answer}");
        }
        output.WriteLine(string.Join(", ", statuses.Select(kv => $"{kv.Key}: {kv.Value}")));
        using var ok = new StringContent("""{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}""");
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("v2/models/m/infer", ok)).StatusCode);
    }

    /// <summary>Runs the CLI on every mutant of <paramref name="original"/> (written to <paramref name="name"/>).</summary>
    private void FuzzCli(string name, byte[] original, int seed, Func<string, string[]> args)
    {
        var rng = new Random(seed);
        int ok = 0, refused = 0;
        for (int i = 0; i < Mutants; i++)
        {
            string path = Path.Combine(dir, name);
            File.WriteAllBytes(path, Mutator.Mutate(original, rng));
            int code;
            string stderr;
            try
            {
                (code, _, stderr) = Cli.CliRunner.Run(args(path));
            }
            catch (Exception e)
            {
                Assert.Fail($"{name} mutant {i} (seed {seed}) escaped the CLI: {e.GetType().FullName}: {e.Message}");
                return;
            }
            Assert.True(code is 0 or 1, $"{name} mutant {i}: exit {code}: {stderr}");
            if (code == 1)
            {
                Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
                Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);   // no stack trace
                refused++;
            }
            else ok++;
        }
        output.WriteLine($"{name}: {ok} ran, {refused} refused");
    }

    [Fact]
    public void MutatedCliInputsExitWithACodeAndAMessage()
    {
        string modelPath = Path.Combine(dir, "dense.onnx");
        File.WriteAllBytes(modelPath, TestModels.Dense());
        // A valid float32 .npy of shape (2, 3): magic, version 1.0, header length, header, data.
        string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        header = header.PadRight(117) + "\n";   // 10 + 118 = 128 bytes before the data, as numpy aligns it
        var npy = new List<byte> { 0x93 };
        npy.AddRange("NUMPY"u8.ToArray());
        npy.AddRange(new byte[] { 1, 0, (byte)header.Length, 0 });
        npy.AddRange(Encoding.ASCII.GetBytes(header));
        foreach (float v in new float[] { 1, 2, 3, 4, 5, 6 }) npy.AddRange(BitConverter.GetBytes(v));
        FuzzCli("x.npy", npy.ToArray(), 21, p => ["predict", modelPath, "--input", p]);
        FuzzCli("x.csv", Encoding.UTF8.GetBytes("a,b,c\n1,2,3\n4.5,-5e-1,6\n"), 22, p => ["predict", modelPath, "--input", p]);
        FuzzCli("m.onnx", TestModels.Dense(), 23, p => ["inspect", p]);
    }
}
