using System.Net;
using System.Text;
using System.Text.Json;
using OnnxKeras.Cli;
using OnnxKeras.Cli.Serving;
using Xunit;

namespace OnnxKeras.Inference.Tests;

/// <summary>The Open Inference Protocol server over real HTTP on 127.0.0.1 (port 0: a free port).</summary>
public sealed partial class ServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private sealed class Running : IAsyncDisposable
    {
        public required OnnxModel Model { get; init; }
        public required KServeServer Server { get; init; }
        public required HttpClient Http { get; init; }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Server.StopAsync();
            Model.Dispose();
        }
    }

    private static async Task<Running> Start(byte[] model, ServerOptions? options = null)
    {
        var m = OnnxModel.Load(model, TestModels.Cpu());
        var server = await KServeServer.StartAsync(m, options ?? new ServerOptions { ModelName = "m" });
        Assert.Equal("127.0.0.1", server.BaseAddress.Host);
        return new Running { Model = m, Server = server, Http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = Timeout } };
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Get(HttpClient http, string path)
    {
        using var r = await http.GetAsync(path);
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Post(HttpClient http, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var r = await http.PostAsync(path, content);
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static string DenseRequest(float[] x, string? id = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = id,
            ["inputs"] = new[] { new { name = "x", shape = new[] { x.Length / 3, 3 }, datatype = "FP32", data = x } },
        });

    private static float[] Floats(JsonElement output) => output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();

    private static long[] Shape(JsonElement output) => output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();

    /// <summary>The server still answers after an error.</summary>
    private static async Task AssertStillServing(HttpClient http)
    {
        var (status, body) = await Post(http, "v2/models/m/infer", DenseRequest([1, 2, 3]));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, Floats(body.GetProperty("outputs")[0]).Length);
    }

    [Fact]
    public async Task HealthServerAndModelMetadata()
    {
        await using var s = await Start(TestModels.Dense());
        var (status, live) = await Get(s.Http, "v2/health/live");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(live.GetProperty("live").GetBoolean());
        (status, var ready) = await Get(s.Http, "v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(ready.GetProperty("ready").GetBoolean());
        (status, var server) = await Get(s.Http, "v2");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("onnxkeras", server.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Array, server.GetProperty("extensions").ValueKind);

        (status, var meta) = await Get(s.Http, "v2/models/m");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("m", meta.GetProperty("name").GetString());
        Assert.Equal(["1"], meta.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("onnxruntime_onnx", meta.GetProperty("platform").GetString());
        var input = Assert.Single(meta.GetProperty("inputs").EnumerateArray());
        Assert.Equal("x", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 3L], Shape(input));
        var output = Assert.Single(meta.GetProperty("outputs").EnumerateArray());
        Assert.Equal("y", output.GetProperty("name").GetString());
        Assert.Equal([-1L, 2L], Shape(output));

        (status, var modelReady) = await Get(s.Http, "v2/models/m/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(modelReady.GetProperty("ready").GetBoolean());
        (status, _) = await Get(s.Http, "v2/models/m/versions/1");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task MetadataReportsInt64Datatypes()
    {
        await using var s = await Start(TestModels.CastInt64());
        var (_, meta) = await Get(s.Http, "v2/models/m");
        Assert.Equal("INT64", meta.GetProperty("inputs")[0].GetProperty("datatype").GetString());
        var (status, body) = await Post(s.Http, "v2/models/m/infer",
            """{"inputs": [{"name": "ids", "shape": [2, 2], "datatype": "INT64", "data": [[1, 2], [3, -4]]}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([1f, 2f, 3f, -4f], Floats(body.GetProperty("outputs")[0]));
    }

    [Fact]
    public async Task InferReturnsHandComputedValuesWithIdAndShape()
    {
        await using var s = await Start(TestModels.Dense());
        // Row [1, 2, 3]: h = xW + b = [1 + 3, 2 - 3 + 0.5] = [4, -0.5]; relu [4, 0]; softmax [e^4, 1] / (e^4 + 1).
        // Row [0, 0, 0]: h = b = [0, 0.5]; softmax [1, e^0.5] / (1 + e^0.5).
        using (var raw = await s.Http.PostAsync("v2/models/m/infer", new StringContent("""{"inputs": [{"name": "q"}]}""")))
        {
            // Messages keep their quotes readable (no \u0027 escapes).
            Assert.Contains("Input 'q' needs a 'shape' array.", await raw.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal("application/json", raw.Content.Headers.ContentType?.MediaType);
        }
        var (status, body) = await Post(s.Http, "v2/models/m/infer",
            """{"id": "req-7", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [0, 0, 0]]}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("m", body.GetProperty("model_name").GetString());
        Assert.Equal("req-7", body.GetProperty("id").GetString());
        var y = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal("y", y.GetProperty("name").GetString());
        Assert.Equal("FP32", y.GetProperty("datatype").GetString());
        Assert.Equal([2L, 2L], Shape(y));
        double e4 = Math.Exp(4), eh = Math.Exp(0.5);
        double[] expected = [e4 / (e4 + 1), 1 / (e4 + 1), 1 / (1 + eh), eh / (1 + eh)];
        var actual = Floats(y);
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 6);
    }

    [Fact]
    public async Task RequestedOutputsSubsetAndFlatData()
    {
        await using var s = await Start(TestModels.AddMul());
        const string inputs = """
            "inputs": [{"name": "a", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]},
                       {"name": "b", "shape": [2, 2], "datatype": "FP32", "data": [10, 20, 30, 40]}]
            """;
        var (status, body) = await Post(s.Http, "v2/models/m/infer", "{" + inputs + """, "outputs": [{"name": "prod"}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var prod = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal("prod", prod.GetProperty("name").GetString());
        Assert.Equal([10f, 40f, 90f, 160f], Floats(prod));
        Assert.False(body.TryGetProperty("id", out _));

        (status, body) = await Post(s.Http, "v2/models/m/infer", "{" + inputs + "}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["sum", "prod"], body.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.Equal([11f, 22f, 33f, 44f], Floats(body.GetProperty("outputs")[0]));
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { "malformed JSON", """{"inputs": [{"name": "x", """, "not valid JSON" },
        { "not an object", """[1, 2]""", "must be a JSON object" },
        { "no inputs", """{"id": "a"}""", "needs an 'inputs' array" },
        { "missing input", """{"inputs": []}""", "Missing model input(s): 'x'" },
        { "unknown input", """{"inputs": [{"name": "z", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}""", "no input named 'z'" },
        { "wrong shape", """{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""", "dimension 1 must be 3" },
        { "wrong rank", """{"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]}""", "(rank 2) but got shape [3] (rank 1)" },
        { "wrong datatype", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]}]}""", "expects datatype FP32 but the request says INT64" },
        { "wrong element count", """{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3]}]}""", "needs 6 elements, but its data holds 3" },
        { "non-numeric data", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, "a", 3]}]}""", "non-numeric element" },
        { "negative dimension", """{"inputs": [{"name": "x", "shape": [-1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}""", "non-negative integers" },
        { "no data", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32"}]}""", "has no 'data'" },
        { "unknown output", """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}], "outputs": [{"name": "q"}]}""", "no output named 'q'" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task MalformedRequestsGet400WithAnErrorAndTheServerKeepsServing(string what, string body, string message)
    {
        await using var s = await Start(TestModels.Dense());
        var (status, error) = await Post(s.Http, "v2/models/m/infer", body);
        Assert.True(status == HttpStatusCode.BadRequest, $"{what}: {status} {error}");
        Assert.Contains(message, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", error.GetProperty("error").GetString(), StringComparison.Ordinal);
        await AssertStillServing(s.Http);
    }

    [Fact]
    public async Task UnknownModelVersionAndRouteGet404()
    {
        await using var s = await Start(TestModels.Dense());
        var (status, error) = await Post(s.Http, "v2/models/other/infer", DenseRequest([1, 2, 3]));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("Unknown model 'other'", error.GetProperty("error").GetString(), StringComparison.Ordinal);
        (status, _) = await Get(s.Http, "v2/models/other");
        Assert.Equal(HttpStatusCode.NotFound, status);
        (status, _) = await Get(s.Http, "v2/models/m/versions/2");
        Assert.Equal(HttpStatusCode.NotFound, status);
        (status, error) = await Get(s.Http, "v3/nothing");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("No route", error.GetProperty("error").GetString(), StringComparison.Ordinal);
        await AssertStillServing(s.Http);
    }

    [Fact]
    public async Task BodyOverTheLimitGets413()
    {
        await using var s = await Start(TestModels.Dense(), new ServerOptions { ModelName = "m", MaxRequestBytes = 1024 });
        var big = DenseRequest(Enumerable.Range(0, 600).Select(i => (float)i).ToArray());
        Assert.True(Encoding.UTF8.GetByteCount(big) > 1024);
        // Repeated: the server drains the body before answering, so the client reliably gets the 413, not a reset.
        for (int i = 0; i < 10; i++)
        {
            var (status, error) = await Post(s.Http, "v2/models/m/infer", big);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
            Assert.Contains("limit is 1024", error.GetProperty("error").GetString(), StringComparison.Ordinal);

            // Without Content-Length (chunked), the limit applies while reading.
            using var chunked = new HttpRequestMessage(HttpMethod.Post, "v2/models/m/infer")
            {
                Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))),
            };
            chunked.Headers.TransferEncodingChunked = true;
            using var r = await s.Http.SendAsync(chunked);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
            Assert.Contains("larger than the limit of 1024 bytes", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        await AssertStillServing(s.Http);
    }

    /// <summary>A body that sends its first byte, then waits for <paramref name="gate"/> before the rest: the server
    /// has the request (and counts it in flight) while its body is still coming.</summary>
    private sealed class GatedContent(string body, Task gate) : HttpContent
    {
        private readonly byte[] bytes = Encoding.UTF8.GetBytes(body);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(bytes.AsMemory(0, 1));
            await stream.FlushAsync();
            await gate;
            await stream.WriteAsync(bytes.AsMemory(1));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostGated(HttpClient http, string body, Task gate)
    {
        using var content = new GatedContent(body, gate);
        content.Headers.ContentType = new("application/json");
        using var r = await http.PostAsync("v2/models/m/infer", content);
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 400 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition(), "timed out waiting");
    }

    [Fact]
    public async Task OverTheConcurrencyLimitGets503()
    {
        // One slot. B's body is held back: B is in flight but, still being read, holds no slot. A arrives whole, takes the
        // slot and waits in the batcher for B (the batch waits for every request in flight, up to 10 s). C finds no slot.
        await using var s = await Start(TestModels.Dense(), new ServerOptions
        {
            ModelName = "m",
            MaxConcurrency = 1,
            MaxBatchSize = 64,
            MaxBatchDelay = TimeSpan.FromSeconds(10),
        });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var b = PostGated(s.Http, DenseRequest([1, 2, 3]), gate.Task);
        await WaitUntil(() => s.Server.RequestsInFlight == 1);
        Assert.Equal(0, s.Server.RequestsRunning);
        var a = Post(s.Http, "v2/models/m/infer", DenseRequest([4, 5, 6]));
        await WaitUntil(() => s.Server.RequestsRunning == 1);
        var (status, error) = await Post(s.Http, "v2/models/m/infer", DenseRequest([1, 2, 3]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("limit of 1 concurrent", error.GetProperty("error").GetString(), StringComparison.Ordinal);
        gate.SetResult();
        // B's body completes while A still holds the slot: B is refused too, and then A runs alone.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await b).Status);
        Assert.Equal(HttpStatusCode.OK, (await a).Status);
        await AssertStillServing(s.Http);
    }

    [Fact]
    public async Task DynamicBatchingRunsRequestsInFlightAsOneBatch()
    {
        // RowCounter: y = x, rows = the number of rows ONNX Runtime saw in the run. All 16 requests are in flight
        // (bodies held back) before any is queued, so the batcher waits for all of them: one run of 16 rows.
        await using var s = await Start(TestModels.RowCounter(), new ServerOptions
        {
            ModelName = "m",
            MaxBatchSize = 64,
            MaxBatchDelay = TimeSpan.FromSeconds(5),
        });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, 16).Select(k => PostGated(s.Http,
            $$"""{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [{{k}}, {{-k}}]}]}""", gate.Task)).ToArray();
        await WaitUntil(() => s.Server.RequestsInFlight == 16);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        gate.SetResult();
        var results = await Task.WhenAll(tasks);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the batch waited out its delay: {clock.Elapsed}");
        for (int k = 0; k < 16; k++)
        {
            Assert.Equal(HttpStatusCode.OK, results[k].Status);
            Assert.Equal([(float)k, -k], Floats(results[k].Body.GetProperty("outputs")[0]));
            Assert.Equal([16f], Floats(results[k].Body.GetProperty("outputs")[1]));
        }
        Assert.Equal(16, s.Server.RequestsServed);
        Assert.Equal(1, s.Server.ModelRuns);
    }

    [Fact]
    public async Task WithoutBatchingEachRequestIsItsOwnRun()
    {
        await using var s = await Start(TestModels.RowCounter());
        Assert.False(s.Server.DynamicBatching);
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(k => Post(s.Http, "v2/models/m/infer",
            $$"""{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [{{k}}, {{-k}}]}]}""")));
        Assert.All(results, r => Assert.Equal([1f], Floats(r.Body.GetProperty("outputs")[1])));
        Assert.Equal(16, s.Server.ModelRuns);
    }

    [Fact]
    public async Task ALoneRequestDoesNotWaitOutTheBatchDelay()
    {
        await using var s = await Start(TestModels.Dense(), new ServerOptions
        {
            ModelName = "m",
            MaxBatchSize = 64,
            MaxBatchDelay = TimeSpan.FromSeconds(10),
        });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await AssertStillServing(s.Http);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public async Task ParallelRequestsGiveTheSequentialResults(int maxBatchSize)
    {
        await using var s = await Start(TestModels.Dense(), new ServerOptions
        {
            ModelName = "m",
            MaxBatchSize = maxBatchSize,
            MaxBatchDelay = TimeSpan.FromMilliseconds(20),
        });
        Assert.Equal(maxBatchSize > 1, s.Server.DynamicBatching);
        // 16 requests of 1 or 2 rows with distinct values.
        var xs = Enumerable.Range(0, 16)
            .Select(k => Enumerable.Range(0, 3 * (1 + k % 2)).Select(j => (float)Math.Sin(k * 7 + j) * 3).ToArray()).ToArray();
        var expected = xs.Select(x => s.Model.Predict(x, [x.Length / 3, 3]).Data).ToArray();
        var sequential = new List<float[]>();
        foreach (var x in xs)
            sequential.Add(Floats((await Post(s.Http, "v2/models/m/infer", DenseRequest(x))).Body.GetProperty("outputs")[0]));
        var parallel = await Task.WhenAll(xs.Select(async (x, k) =>
        {
            var (status, body) = await Post(s.Http, "v2/models/m/infer", DenseRequest(x, $"r{k}"));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal($"r{k}", body.GetProperty("id").GetString());
            Assert.Equal([x.Length / 3, 2L], Shape(body.GetProperty("outputs")[0]));
            return Floats(body.GetProperty("outputs")[0]);
        }));
        for (int k = 0; k < xs.Length; k++)
        {
            Assert.Equal(expected[k], sequential[k]);
            Assert.Equal(expected[k], parallel[k]);
        }
    }

    [Fact]
    public async Task BatchedBadRequestGetsItsOwnErrorAndTheOthersSucceed()
    {
        await using var s = await Start(TestModels.Dense(), new ServerOptions
        {
            ModelName = "m",
            MaxBatchSize = 64,
            MaxBatchDelay = TimeSpan.FromSeconds(5),
        });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, 8).Select(k => PostGated(s.Http, k == 3
            ? """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2]}]}"""
            : DenseRequest([k, 1, 2]), gate.Task)).ToArray();
        await WaitUntil(() => s.Server.RequestsInFlight == 8);
        gate.SetResult();
        var results = await Task.WhenAll(tasks);
        // The bad request is refused while its body is read (its data holds fewer elements than its shape says), so it
        // never reaches the batcher; the 7 others run as one batch.
        Assert.Equal(1, s.Server.ModelRuns);
        for (int k = 0; k < 8; k++)
            if (k != 3) Assert.Equal(s.Model.Predict(new float[] { k, 1, 2 }, [1L, 3L]).Data, Floats(results[k].Body.GetProperty("outputs")[0]));
        for (int k = 0; k < 8; k++)
            Assert.Equal(k == 3 ? HttpStatusCode.BadRequest : HttpStatusCode.OK, results[k].Status);
        Assert.Contains("data holds 2", results[3].Body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeCommandServesUntilShutdown()
    {
        using var dir = new TempDir();
        var path = dir.File("dense.onnx", TestModels.Dense());
        await RunServeCommand(["serve", path, "--port", "0", "--threads", "1"], async http =>
        {
            var (status, meta) = await Get(http, "v2/models/dense");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("dense", meta.GetProperty("name").GetString());
        });
    }

    [Fact]
    public async Task ServeCommandServesAModelRepository()
    {
        string root = WriteRepository(Directory.CreateTempSubdirectory("onnxkeras-repo-").FullName);
        try
        {
            string line = await RunServeCommand(["serve", "--model-repository", root, "--port", "0"], async http =>
            {
                var (status, body) = await Post(http, "v2/models/dense/versions/1/infer", DenseRequest([1, 2, 3]));
                Assert.Equal((HttpStatusCode.OK, "1"), (status, body.GetProperty("model_version").GetString()));
                (status, _) = await Get(http, "v2/models/relu/versions/3/ready");
                Assert.Equal(HttpStatusCode.OK, status);
            });
            Assert.StartsWith("Serving 'dense' version 2, 'dense' version 1, 'relu' version 3 at ", line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs <c>onnxkeras serve</c> in-process until <paramref name="use"/> is done with it; returns the line that
    /// announced the address.</summary>
    private static async Task<string> RunServeCommand(string[] args, Func<HttpClient, Task> use)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var output = TextWriter.Synchronized(stdout);
        var run = Task.Run(() => new CliApp { ShutdownToken = cts.Token }.Run(args, output, TextWriter.Synchronized(stderr)));
        string? line = null;
        for (int i = 0; i < 200 && line is null && !run.IsCompleted; i++)
        {
            await Task.Delay(50);
            lock (output) line = stdout.ToString().Split('\n').FirstOrDefault(l => l.StartsWith("Serving", StringComparison.Ordinal));
        }
        Assert.True(line is not null, $"no address printed; stderr: {stderr}");
        var address = line!.Split(' ').First(w => w.StartsWith("http://", StringComparison.Ordinal));
        Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal);
        using (var http = new HttpClient { BaseAddress = new Uri(address), Timeout = Timeout }) await use(http);
        await cts.CancelAsync();
        Assert.Equal(CliApp.Ok, await run.WaitAsync(Timeout));
        return line;
    }

    [Fact]
    public async Task RequestsAfterTheModelIsDisposedGet503()
    {
        var model = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        await using var server = await KServeServer.StartAsync(model, new ServerOptions { ModelName = "m" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = Timeout };
        Assert.Equal(HttpStatusCode.OK, (await Post(http, "v2/models/m/infer", DenseRequest([1, 2, 3]))).Status);
        model.Dispose();
        var (status, error) = await Post(http, "v2/models/m/infer", DenseRequest([1, 2, 3]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("no longer available", error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ServeCommandUsageErrors()
    {
        var err = new StringWriter();
        Assert.Equal(CliApp.Usage, new CliApp().Run(["serve", "m.onnx"], new StringWriter(), err));
        Assert.Contains("--port", err.ToString(), StringComparison.Ordinal);
        Assert.Equal(CliApp.Usage, new CliApp().Run(["serve", "m.onnx", "--port", "x"], new StringWriter(), new StringWriter()));
        foreach (var args in new[] { new[] { "serve", "--port", "0" }, ["serve", "m.onnx", "--model-repository", "r", "--port", "0"] })
        {
            err = new StringWriter();
            Assert.Equal(CliApp.Usage, new CliApp().Run(args, new StringWriter(), err));
            Assert.Contains("serve needs a model file or --model-repository <dir>, not both.", err.ToString(), StringComparison.Ordinal);
        }
    }
}
