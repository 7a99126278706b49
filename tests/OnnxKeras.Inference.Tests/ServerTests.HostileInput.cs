using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using OnnxKeras.Cli.Serving;
using Xunit;

namespace OnnxKeras.Inference.Tests;

/// <summary>The server under hostile or careless clients: oversized data, slow bodies, out-of-range numbers,
/// unsupported parameters, wrong methods, missing credentials.</summary>
public sealed partial class ServerTests
{
    /// <summary>Sends raw HTTP/1.1 bytes on a new connection and returns the socket (the caller reads or closes it).</summary>
    private static async Task<TcpClient> Connect(KServeServer server)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.Port);
        return client;
    }

    private static byte[] Headers(string path, long contentLength) =>
        Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {contentLength}\r\n\r\n");

    /// <summary>Reads what the server sends until it closes the connection or <paramref name="within"/> passes.</summary>
    private static async Task<string> ReadResponse(TcpClient client, TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        var stream = client.GetStream();
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
                if (text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && text.ToString().Contains("\"}", StringComparison.Ordinal)) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
        return text.ToString();
    }

    [Fact]
    public async Task DataFarLargerThanTheDeclaredShapeIsRefusedWithoutBufferingTheBody()
    {
        // Issue 13, item 1: a body of 16 MiB whose data holds millions of numbers for a [1, 3] input. The request is
        // refused after the fourth number; the server never holds the body or the numbers. Before, it buffered the whole
        // body (a growing MemoryStream), parsed it into a JsonDocument and a List<float>: well over 16 MiB allocated.
        await using var s = await Start(TestModels.Dense());
        byte[] head = Encoding.ASCII.GetBytes("""{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [""");
        byte[] chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("1.5,", 16 * 1024)));   // 64 KiB
        const int chunks = 256;                                                                              // 16 MiB
        long length = head.Length + (long)chunk.Length * chunks + 6;
        using var client = await Connect(s.Server);
        var stream = client.GetStream();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await stream.WriteAsync(Headers("/v2/models/m/infer", length));
        await stream.WriteAsync(head);
        try
        {
            for (int i = 0; i < chunks; i++) await stream.WriteAsync(chunk);
            await stream.WriteAsync("1.5]}]}"u8.ToArray().AsMemory(0, 6));
        }
        catch (IOException)
        {
            // The server answered and closed the connection while the client was still sending: expected.
        }
        string response = await ReadResponse(client, Timeout);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.StartsWith("HTTP/1.1 400", response, StringComparison.Ordinal);
        Assert.Contains("needs 3 elements, but its data holds more", response, StringComparison.Ordinal);
        // Client and server share this process; the client sends from two fixed arrays. 4 MiB is a quarter of the body.
        Assert.True(allocated < 4L * 1024 * 1024, $"allocated {allocated:N0} bytes while refusing a 16 MiB body");
        await AssertStillServing(s.Http);
    }

    [Fact]
    public async Task AShapeLargerThanAnyAcceptedBodyIsRefusedBeforeAnyDataArrives()
    {
        await using var s = await Start(TestModels.Dense(), new ServerOptions { ModelName = "m", MaxRequestBytes = 1024 * 1024 });
        var (status, error) = await Post(s.Http, "v2/models/m/infer",
            """{"inputs": [{"name": "x", "shape": [1000000000, 3], "datatype": "FP32", "data": [1, 2, 3]}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        // 3e9 elements need at least 6e9 - 1 bytes of JSON; the limit is 1,048,576.
        Assert.Contains("needs 3000000000 elements, more than a request body of at most 1048576 bytes can hold",
                        error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowBodiesHoldNoSlotSoValidRequestsAreServed()
    {
        // Issue 13, item 2: with two slots, four clients trickling their bodies used to take every slot (the slot was
        // taken before the body was read) and valid requests got 503. Now a slot is taken once the body is in.
        await using var s = await Start(TestModels.Dense(), new ServerOptions { ModelName = "m", MaxConcurrency = 2 });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = Enumerable.Range(0, 4).Select(_ => PostGated(s.Http, DenseRequest([1, 2, 3]), gate.Task)).ToArray();
        await WaitUntil(() => s.Server.RequestsInFlight == 4);
        for (int i = 0; i < 5; i++)
        {
            var (status, body) = await Post(s.Http, "v2/models/m/infer", DenseRequest([i, 1, 2]));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(s.Model.Predict(new float[] { i, 1, 2 }, [1L, 3L]).Data, Floats(body.GetProperty("outputs")[0]));
        }
        gate.SetResult();
        foreach (var r in await Task.WhenAll(slow)) Assert.Equal(HttpStatusCode.OK, r.Status);
    }

    [Fact]
    public async Task ABodyThatDoesNotArriveInTimeGets408()
    {
        await using var s = await Start(TestModels.Dense(), new ServerOptions { ModelName = "m", RequestBodyTimeout = TimeSpan.FromSeconds(1) });
        using var client = await Connect(s.Server);
        await client.GetStream().WriteAsync(Headers("/v2/models/m/infer", 100));
        await client.GetStream().WriteAsync("""{"inputs": ["""u8.ToArray());
        var started = DateTime.UtcNow;
        string response = await ReadResponse(client, TimeSpan.FromSeconds(15));
        Assert.StartsWith("HTTP/1.1 408", response, StringComparison.Ordinal);
        Assert.Contains("did not arrive within 1 s", response, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
        await AssertStillServing(s.Http);
    }

    public static TheoryData<string, string, string> HostileBodies => new()
    {
        { "FP32 overflow", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 1e39, 3]}]}""", "element 1e39, which is outside the FP32 range" },
        { "FP32 negative overflow", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, -4e38, 3]}]}""", "outside the FP32 range" },
        { "long string element", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, "NaNNaNNaNNaNNaNNaN", 3]}]}""", "non-numeric element" },
        { "binary input without its size", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "parameters": {"binary_data": true}, "data": [1, 2, 3]}]}""", "give its byte count as 'binary_data_size'" },
        { "non-boolean binary flag", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}], "parameters": {"binary_data_output": 1}}""", "'binary_data_output' must be a boolean" },
        { "unknown parameter", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "parameters": {"classification": 2}, "data": [1, 2, 3]}]}""", "Parameter 'classification' is not supported" },
        { "nesting too deep", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": """ + new string('[', 100) + "1" + new string(']', 100) + "}]}", "not valid JSON" },
        { "inputs twice", """{"inputs": [], "inputs": []}""", "'inputs' twice" },
        { "data twice", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3], "data": [1, 2, 3]}]}""", "'data' twice" },
        { "trailing garbage", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]} {}""", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task HostileBodiesGet400(string what, string body, string message)
    {
        await using var s = await Start(TestModels.Dense());
        var (status, error) = await Post(s.Http, "v2/models/m/infer", body);
        Assert.True(status == HttpStatusCode.BadRequest, $"{what}: {status} {error}");
        Assert.Contains(message, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        await AssertStillServing(s.Http);
    }

    [Fact]
    public async Task DataBeforeShapeAndFalseBinaryParametersAreAccepted()
    {
        await using var s = await Start(TestModels.Dense());
        var (status, body) = await Post(s.Http, "v2/models/m/infer",
            """{"parameters": {"binary_data_output": false}, "inputs": [{"data": [[1, 2, 3]], "parameters": {"binary_data": false}, "datatype": "FP32", "name": "x", "shape": [1, 3]}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(s.Model.Predict(new float[] { 1, 2, 3 }, [1L, 3L]).Data, Floats(body.GetProperty("outputs")[0]));
    }

    [Fact]
    public async Task AKnownRouteWithAnotherMethodGets405WithAllow()
    {
        await using var s = await Start(TestModels.Dense());
        using var get = await s.Http.GetAsync("v2/models/m/infer");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(["POST"], get.Content.Headers.Allow);
        using var post = await s.Http.PostAsync("v2/health/live", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET"], post.Content.Headers.Allow);
        using var other = await s.Http.GetAsync("v2/elsewhere");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Fact]
    public async Task WithAnApiKeyEveryRouteButHealthNeedsTheBearerToken()
    {
        await using var s = await Start(TestModels.Dense(), new ServerOptions { ModelName = "m", ApiKey = "s3cret-key" });
        Assert.Equal(HttpStatusCode.OK, (await Get(s.Http, "v2/health/ready")).Status);
        using (var r = await s.Http.GetAsync("v2/models/m"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Equal("Bearer", r.Headers.WwwAuthenticate.Single().Scheme);
        }
        var (status, error) = await Post(s.Http, "v2/models/m/infer", DenseRequest([1, 2, 3]));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("requires 'Authorization: Bearer <key>'", error.GetProperty("error").GetString(), StringComparison.Ordinal);
        s.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-kez");
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get(s.Http, "v2/models/m")).Status);
        s.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-key");
        Assert.Equal(HttpStatusCode.OK, (await Get(s.Http, "v2/models/m")).Status);
        await AssertStillServing(s.Http);
    }

    [Fact]
    public async Task ListeningOffLoopbackWithoutAKeyLogsAWarning()
    {
        using var model = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        foreach (var (host, key, warned) in new[] { ("0.0.0.0", (string?)null, true), ("0.0.0.0", "k", false), ("127.0.0.1", null, false) })
        {
            var log = new List<string>();
            await using var server = await KServeServer.StartAsync(model, new ServerOptions { Host = host, ApiKey = key, Log = m => { lock (log) log.Add(m); } });
            Assert.Equal(warned, log.Any(l => l.Contains("without authentication", StringComparison.Ordinal)));
        }
    }
}

/// <summary>Observability: Prometheus metrics and the access log.</summary>
public sealed partial class ServerTests
{
    [Fact]
    public async Task MetricsCountRequestsByStatusAndProtocol()
    {
        var lines = new List<string>();
        var (s, channel, client) = await StartGrpc(new ServerOptions { ModelName = "m", GrpcPort = 0, AccessLog = l => { lock (lines) lines.Add(l); } });
        await using var _ = s;
        using var __ = channel;
        Assert.Equal(HttpStatusCode.OK, (await Post(s.Http, "v2/models/m/infer", DenseRequest([1, 2, 3]))).Status);
        Assert.Equal(HttpStatusCode.OK, (await Post(s.Http, "v2/models/m/infer", DenseRequest([4, 5, 6]))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(s.Http, "v2/models/m/infer", "{")).Status);
        await client.ModelInferAsync(GrpcDenseRequest([1, 2, 3], raw: true));
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await client.ModelInferAsync(GrpcDenseRequest([1, 2], raw: false)));

        string text = await s.Http.GetStringAsync("metrics");
        Assert.Contains("""onnxkeras_inference_requests_total{model="m",protocol="rest",status="200"} 2""", text, StringComparison.Ordinal);
        Assert.Contains("""onnxkeras_inference_requests_total{model="m",protocol="rest",status="400"} 1""", text, StringComparison.Ordinal);
        Assert.Contains("""onnxkeras_inference_requests_total{model="m",protocol="grpc",status="OK"} 1""", text, StringComparison.Ordinal);
        Assert.Contains("""onnxkeras_inference_requests_total{model="m",protocol="grpc",status="InvalidArgument"} 1""", text, StringComparison.Ordinal);
        Assert.Contains("""onnxkeras_inference_request_duration_seconds_count{model="m",protocol="rest"} 3""", text, StringComparison.Ordinal);
        Assert.Contains("""onnxkeras_inference_requests_in_flight{model="m"} 0""", text, StringComparison.Ordinal);
        Assert.Contains("""onnxkeras_model_runs_total{model="m"} 3""", text, StringComparison.Ordinal);

        // The access log has a JSON line per HTTP request: the five REST calls above (three infer, the metrics GET is
        // logged after its own answer) and the two gRPC calls.
        await WaitUntil(() => { lock (lines) return lines.Count >= 5; });
        var entries = lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([200, 200, 400], entries.Where(e => e.GetProperty("path").GetString() == "/v2/models/m/infer").Select(e => e.GetProperty("status").GetInt32()));
        Assert.Equal(2, entries.Count(e => e.GetProperty("path").GetString() == "/inference.GRPCInferenceService/ModelInfer"));
        Assert.All(entries, e => Assert.True(e.GetProperty("ms").GetDouble() >= 0));
    }
}
