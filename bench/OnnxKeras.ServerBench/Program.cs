// Load benchmark of the Open Inference Protocol server: starts it in-process on 127.0.0.1 (port 0) with an ONNX model,
// runs 1, 8 and 64 concurrent clients over REST JSON (with and without dynamic batching), REST with the binary tensor
// extension and gRPC, each setting a fixed number of single-row requests (default 2,000, split over 2 alternating
// rounds) capped at a wall-clock limit (default 20 s), and prints a markdown table. Then a soak (default 100,000 mixed
// requests from 8 clients: valid JSON, binary and gRPC, and four kinds of bad request) reports the process's resident
// memory before and after. The table, with a line saying when and with what settings it was measured, is also written to
// bench/out/server.md (--out PATH; temp file + rename), which the main benchmark's report (bench/RESULTS.md) includes.
// Usage: dotnet run -c Release --project bench/OnnxKeras.ServerBench [-- --model models/mnist_mlp.onnx --requests 2000 --seconds 20 --rounds 2 --threads 1 --soak 100000 --out bench/out/server.md]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Net.Client;
using OnnxKeras.Cli.Serving;
using OnnxKeras.Cli.Serving.Grpc;
using Microsoft.ML.OnnxRuntime;
using OnnxKeras.Inference;

string? modelPath = null, outPath = null;
int totalRequests = 2000, threads = 1, soakRequests = 100_000;
double capSeconds = 20;
int rounds = 2;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--model": modelPath = args[++i]; break;
        case "--requests": totalRequests = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seconds": capSeconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--soak": soakRequests = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--out": outPath = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}
modelPath ??= FindUp(Path.Combine("models", "mnist_mlp.onnx"))
              ?? throw new FileNotFoundException("models/mnist_mlp.onnx not found above the working or base directory; pass --model.");

using var model = OnnxModel.Load(modelPath, new InferenceOptions { IntraOpThreads = threads });
var input = model.Inputs[0];
int features = checked((int)input.Dimensions.Skip(1).Aggregate(1L, (a, d) => a * (d.Value ?? 1)));
long[] shape = [1, .. input.Dimensions.Skip(1).Select(d => d.Value ?? 1)];
var rng = new Random(42);
// 16 distinct requests, values with 3 decimals (about 5 bytes per element in JSON), in each protocol's form.
var inputs = Enumerable.Range(0, 16).Select(_ => Enumerable.Range(0, features).Select(_ => MathF.Round(rng.NextSingle(), 3)).ToArray()).ToArray();
var bodies = inputs.Select(x => JsonSerializer.Serialize(new
{
    inputs = new[] { new { name = input.Name, shape, datatype = "FP32", data = x } },
})).Select(Encoding.UTF8.GetBytes).ToArray();
var binaryHeader = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
{
    inputs = new[] { new { name = input.Name, shape, datatype = "FP32", parameters = new { binary_data_size = features * 4 } } },
    parameters = new { binary_data_output = true },
}));
var binaryBodies = inputs.Select(x => binaryHeader.Concat(MemoryMarshal.AsBytes(x.AsSpan()).ToArray()).ToArray()).ToArray();
var grpcRequests = inputs.Select(x =>
{
    var r = new ModelInferRequest { ModelName = "bench" };
    var t = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = "FP32" };
    t.Shape.AddRange(shape);
    r.Inputs.Add(t);
    r.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(x.AsSpan())));
    return r;
}).ToArray();

string settings = $"Model: {Path.GetFileName(modelPath)} ({input.Name} {input.ShapeText}), request body {bodies[0].Length:N0} bytes, " +
                  $"ONNX Runtime {OrtEnv.Instance().GetVersionString()} with {threads} intra-op thread(s), {Environment.ProcessorCount} cores, " +
                  $"{totalRequests:N0} requests per setting in {rounds} rounds (cap {capSeconds} s).";
Console.WriteLine(settings);
Console.WriteLine();
var table = new List<string>();
void Row(string line)
{
    Console.WriteLine(line);
    table.Add(line);
}
// Both servers run side by side (the one without batching also serves gRPC); all settings are warmed up before
// anything is measured (JIT tiers, connections), and the settings alternate between rounds so that drift on a shared
// machine and leftover warm-up affect all alike. Each row aggregates its rounds.
var servers = new Dictionary<bool, (KServeServer Server, HttpClient Http)>();
foreach (var batching in new[] { false, true })
{
    var server = await KServeServer.StartAsync(model, new ServerOptions
    {
        ModelName = "bench",
        MaxBatchSize = batching ? 64 : 1,
        MaxBatchDelay = TimeSpan.FromMilliseconds(2),
        MaxConcurrency = 1024,
        GrpcPort = batching ? null : 0,
    });
    var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })
    {
        BaseAddress = server.BaseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };
    servers[batching] = (server, http);
}
var plain = servers[false];
using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{plain.Server.GrpcPort}",
    new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

async Task<bool> PostJson(HttpClient http, int k)
{
    using var content = new ByteArrayContent(bodies[k % bodies.Length]);
    content.Headers.ContentType = new("application/json");
    using var response = await http.PostAsync("v2/models/bench/infer", content);
    await response.Content.ReadAsByteArrayAsync();
    return response.StatusCode == HttpStatusCode.OK;
}
async Task<bool> PostBinary(HttpClient http, int k)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/bench/infer") { Content = new ByteArrayContent(binaryBodies[k % binaryBodies.Length]) };
    request.Content.Headers.ContentType = new("application/octet-stream");
    request.Headers.Add("Inference-Header-Content-Length", binaryHeader.Length.ToString(CultureInfo.InvariantCulture));
    using var response = await http.SendAsync(request);
    await response.Content.ReadAsByteArrayAsync();
    return response.StatusCode == HttpStatusCode.OK;
}
async Task<bool> CallGrpc(int k)
{
    var response = await grpc.ModelInferAsync(grpcRequests[k % grpcRequests.Length]);
    return response.RawOutputContents.Count == 1;
}
var settingsList = new (string Protocol, bool Batching, Func<int, Task<bool>> Send)[]
{
    ("REST JSON", false, k => PostJson(plain.Http, k)),
    ("REST JSON", true, k => PostJson(servers[true].Http, k)),
    ("REST binary", false, k => PostBinary(plain.Http, k)),
    ("gRPC", false, CallGrpc),
};
for (int w = 0; w < 2; w++)
    foreach (var setting in settingsList)
        foreach (var clients in new[] { 1, 8, 64 })
            await RunSetting(setting.Send, clients, 1000, Math.Min(capSeconds, 3));

var rows = new Dictionary<(int, int), (int Done, int Errors, double Seconds, List<double> Latencies, long Served, long Runs)>();
for (int round = 0; round < rounds; round++)
    foreach (var clients in new[] { 1, 8, 64 })
        foreach (int index in round % 2 == 0 ? Enumerable.Range(0, settingsList.Length) : Enumerable.Range(0, settingsList.Length).Reverse())
        {
            var server = servers[settingsList[index].Batching].Server;
            long served0 = server.RequestsServed, runs0 = server.ModelRuns;
            var (done, errors, seconds, latencies) = await RunSetting(settingsList[index].Send, clients, totalRequests / rounds, capSeconds / rounds);
            var r = rows.GetValueOrDefault((index, clients), (0, 0, 0, new List<double>(), 0, 0));
            r.Latencies.AddRange(latencies);
            rows[(index, clients)] = (r.Done + done, r.Errors + errors, r.Seconds + seconds, r.Latencies,
                                      r.Served + server.RequestsServed - served0, r.Runs + server.ModelRuns - runs0);
        }
Row("| protocol | batching | clients | requests | errors | requests/s | p50 ms | p99 ms | requests per model run |");
Row("|---|---|---:|---:|---:|---:|---:|---:|---:|");
for (int index = 0; index < settingsList.Length; index++)
    foreach (var clients in new[] { 1, 8, 64 })
    {
        var r = rows[(index, clients)];
        var sorted = r.Latencies.ToArray();
        Array.Sort(sorted);
        string label = settingsList[index].Batching ? "dynamic (max 64 rows, 2 ms)" : "off";
        Row(string.Create(CultureInfo.InvariantCulture,
            $"| {settingsList[index].Protocol} | {label} | {clients} | {r.Done} | {r.Errors} | {r.Done / r.Seconds:F0} | {Percentile(sorted, 0.50):F2} | {Percentile(sorted, 0.99):F2} | {(double)r.Served / Math.Max(1, r.Runs):F1} |"));
    }

// Soak: mixed valid and bad requests from 8 clients; resident memory of this process (server and clients) after a
// warm-up of 2,000 requests and at the end, after a full garbage collection each time.
if (soakRequests > 0)
{
    var bad = new[]
    {
        // 200,000 numbers for a [1, features] input (about 400 KB), wrong shape, malformed JSON, FP32 overflow.
        Encoding.UTF8.GetBytes($$"""{"inputs": [{"name": "{{input.Name}}", "shape": [{{string.Join(", ", shape)}}], "datatype": "FP32", "data": [{{string.Join(",", Enumerable.Repeat("0", 200_000))}}]}]}"""),
        Encoding.UTF8.GetBytes($$"""{"inputs": [{"name": "{{input.Name}}", "shape": [1, {{features + 1}}], "datatype": "FP32", "data": [{{string.Join(",", Enumerable.Repeat("0", features + 1))}}]}]}"""),
        Encoding.UTF8.GetBytes("""{"inputs": [{"name": """),
        Encoding.UTF8.GetBytes($$"""{"inputs": [{"name": "{{input.Name}}", "shape": [{{string.Join(", ", shape)}}], "datatype": "FP32", "data": [{{string.Join(",", Enumerable.Repeat("1e39", features))}}]}]}"""),
    };
    async Task<bool> PostBad(int k)
    {
        using var content = new ByteArrayContent(bad[k % bad.Length]);
        content.Headers.ContentType = new("application/json");
        using var response = await plain.Http.PostAsync("v2/models/bench/infer", content);
        await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode == HttpStatusCode.BadRequest;
    }
    Task<bool> Mixed(int k) => (k % 10) switch
    {
        < 7 => PostJson(plain.Http, k),
        7 => PostBinary(plain.Http, k),
        8 => CallGrpc(k),
        _ => PostBad(k / 10),
    };
    await RunSetting(Mixed, 8, 2000, 60);
    long before = ResidentBytes();
    var soak = await RunSetting(Mixed, 8, soakRequests, 600);
    long after = ResidentBytes();
    Row("");
    Row(string.Create(CultureInfo.InvariantCulture,
        $"Soak: {soak.Done:N0} mixed requests (70% REST JSON, 10% REST binary, 10% gRPC, 10% bad: oversized data, wrong shape, " +
        $"malformed JSON, FP32 overflow; each answered as expected unless counted here: {soak.Errors} unexpected) from 8 clients in " +
        $"{soak.Seconds:F1} s; resident memory of the process (server and clients) {before / 1048576.0:F0} MB after warm-up, " +
        $"{after / 1048576.0:F0} MB at the end."));
}
foreach (var (server, http) in servers.Values)
{
    http.Dispose();
    await server.StopAsync();
}

// Correctness under load: 64 concurrent requests through the batching server vs. direct one-row Predict calls.
{
    await using var server = await KServeServer.StartAsync(model, new ServerOptions
    {
        ModelName = "bench",
        MaxBatchSize = 64,
        MaxBatchDelay = TimeSpan.FromMilliseconds(2),
    });
    using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    var expected = bodies.Select(b =>
    {
        var data = JsonDocument.Parse(b).RootElement.GetProperty("inputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        return model.Predict(data, shape).Data;
    }).ToArray();
    long runs0 = server.ModelRuns;
    var same = await Task.WhenAll(Enumerable.Range(0, 256).Select(async k =>
    {
        using var content = new ByteArrayContent(bodies[k % bodies.Length]);
        content.Headers.ContentType = new("application/json");
        using var response = await http.PostAsync("v2/models/bench/infer", content);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var got = doc.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        return got.AsSpan().SequenceEqual(expected[k % bodies.Length]);
    }));
    Row("");
    Row($"Batched vs. direct one-row Predict: {same.Count(x => x)}/{same.Length} responses bit-identical " +
        $"({same.Length} requests in {server.ModelRuns - runs0} model runs).");
}
outPath ??= FindUp("OnnxKeras.sln") is { } sln ? Path.Combine(Path.GetDirectoryName(sln)!, "bench", "out", "server.md") : "server.md";
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
string command = "dotnet run -c Release --project bench/OnnxKeras.ServerBench" + (args.Length > 0 ? " -- " + string.Join(' ', args) : "");
File.WriteAllLines(outPath + ".tmp",
[
    $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `{command}`, .NET {Environment.Version}, load average {LoadAverage()} at the end. {settings}",
    "",
    .. table,
]);
File.Move(outPath + ".tmp", outPath, overwrite: true);
Console.WriteLine($"Table written to {Path.GetFullPath(outPath)}.");
return 0;

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

async Task<(int Done, int Errors, double Seconds, double[] LatenciesMs)> RunSetting(Func<int, Task<bool>> send, int clients, int requests, double cap)
{
    int next = -1, errors = 0;
    var latencies = new double[requests];
    int done = 0;
    var deadline = Stopwatch.GetTimestamp() + (long)(cap * Stopwatch.Frequency);
    var total = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
    {
        while (Stopwatch.GetTimestamp() < deadline)
        {
            int k = Interlocked.Increment(ref next);
            if (k >= requests) return;
            var start = Stopwatch.GetTimestamp();
            bool ok;
            try { ok = await send(k); }
            catch (Exception e) when (e is HttpRequestException or Grpc.Core.RpcException or TaskCanceledException) { ok = false; }
            latencies[k] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (!ok) Interlocked.Increment(ref errors);
            Interlocked.Increment(ref done);
        }
    }));
    double seconds = total.Elapsed.TotalSeconds;
    return (done, errors, seconds, latencies.Where(l => l > 0).ToArray());
}

static long ResidentBytes()
{
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    return Environment.WorkingSet;
}

static double Percentile(double[] sorted, double p) =>
    sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

static string? FindUp(string relative)
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
    return null;
}
