using System.Buffers;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Serving;

/// <summary>
/// An HTTP server for one <see cref="OnnxModel"/> speaking the Open Inference Protocol (KServe v2 REST, as Triton and
/// KServe do): health, server and model metadata, and JSON inference. Kestrel with minimal APIs.
/// </summary>
/// <remarks>
/// Routes: <c>GET /v2/health/live</c>, <c>GET /v2/health/ready</c>, <c>GET /v2</c>, <c>GET /v2/models/{name}</c>,
/// <c>GET /v2/models/{name}/ready</c>, <c>POST /v2/models/{name}/infer</c> (each model route also under
/// <c>/versions/{version}</c>). Errors are <c>{"error": "..."}</c> with 400 (malformed or invalid request), 404 (unknown
/// model, version or route), 401 (no or wrong bearer token when <see cref="ServerOptions.ApiKey"/> is set), 405 (a known
/// route with another method), 408 (body slower than <see cref="ServerOptions.RequestBodyTimeout"/>), 413 (body over
/// <see cref="ServerOptions.MaxRequestBytes"/>), 503 (over <see cref="ServerOptions.MaxConcurrency"/>, or stopping), 500
/// (model failure). Request bodies are parsed as they arrive (<see cref="InferRequestReader"/>): memory follows the
/// tensors a request declares, not the size of its body. The server does not own the model:
/// stop the server before disposing the model.
/// </remarks>
public sealed class KServeServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly OnnxModel model;
    private readonly ServerOptions options;
    private readonly DynamicBatcher? batcher;
    private readonly SemaphoreSlim slots;
    private int stopped;
    private int inFlight;
    private readonly ServerMetrics metrics = new();
    private long requestsServed;
    private long directRuns;

    private KServeServer(WebApplication app, OnnxModel model, ServerOptions options, string name, DynamicBatcher? batcher)
    {
        this.app = app;
        this.model = model;
        this.options = options;
        ModelName = name;
        this.batcher = batcher;
        slots = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
    }

    /// <summary>The bound TCP port (the one picked by the system when <see cref="ServerOptions.Port"/> was 0).</summary>
    public int Port { get; private set; }

    /// <summary>The bound gRPC port (<see cref="ServerOptions.GrpcPort"/>; the system's pick when that was 0), or null when
    /// gRPC is off.</summary>
    public int? GrpcPort { get; private set; }

    /// <summary>The server's version in metadata (the assembly version).</summary>
    internal static string Version => typeof(KServeServer).Assembly.GetName().Version?.ToString() ?? "0";

    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:8000/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The model's name in URLs.</summary>
    public string ModelName { get; }

    /// <summary>Inference requests being handled now, from receipt of the headers to the response (including those
    /// whose bodies are still arriving, which hold no concurrency slot yet).</summary>
    public int RequestsInFlight => Volatile.Read(ref inFlight);

    /// <summary>Inference requests holding a concurrency slot now: read, and running or waiting to run on the model.</summary>
    public int RequestsRunning => options.MaxConcurrency - slots.CurrentCount;

    /// <summary>Inference requests answered with HTTP 200 so far.</summary>
    public long RequestsServed => Interlocked.Read(ref requestsServed);

    /// <summary>ONNX Runtime runs made for inference requests so far (fewer than <see cref="RequestsServed"/> when
    /// dynamic batching combined requests).</summary>
    public long ModelRuns => batcher?.Runs ?? Interlocked.Read(ref directRuns);

    /// <summary>Whether dynamic batching is on (requested and the model has a batch dimension).</summary>
    public bool DynamicBatching => batcher is not null;

    /// <summary>Starts serving <paramref name="model"/>; returns once the socket is bound.</summary>
    /// <param name="model">The model; it stays the caller's.</param>
    /// <param name="options">Address, limits and batching.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="ArgumentException">An option is out of range or the host is not an IP address.</exception>
    public static async Task<KServeServer> StartAsync(OnnxModel model, ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Port is < 0 or > 65535) throw new ArgumentException($"Port {options.Port} is not in 0..65535.", nameof(options));
        if (options.MaxBatchSize < 1) throw new ArgumentException("MaxBatchSize must be at least 1.", nameof(options));
        if (options.MaxConcurrency < 1) throw new ArgumentException("MaxConcurrency must be at least 1.", nameof(options));
        if (options.MaxRequestBytes < 1) throw new ArgumentException("MaxRequestBytes must be positive.", nameof(options));
        if (options.MaxBatchDelay < TimeSpan.Zero) throw new ArgumentException("MaxBatchDelay must not be negative.", nameof(options));
        if (options.RequestBodyTimeout <= TimeSpan.Zero) throw new ArgumentException("RequestBodyTimeout must be positive.", nameof(options));
        if (!(options.MinRequestBodyBytesPerSecond > 0)) throw new ArgumentException("MinRequestBodyBytesPerSecond must be positive.", nameof(options));
        if (options.MaxConnections < 1) throw new ArgumentException("MaxConnections must be at least 1.", nameof(options));
        if (options.ApiKey is { } key && (key.Length == 0 || key.Any(char.IsWhiteSpace)))
            throw new ArgumentException("ApiKey must be non-empty and contain no white space.", nameof(options));
        IPAddress address = options.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(options.Host, out var a) ? a
            : throw new ArgumentException($"Host '{options.Host}' is not an IP address (or localhost).", nameof(options));
        string name = !string.IsNullOrWhiteSpace(options.ModelName) ? options.ModelName
            : !string.IsNullOrWhiteSpace(model.GraphName) ? model.GraphName : "model";

        DynamicBatcher? batcher = null;
        KServeServer? self = null;
        if (options.MaxBatchSize > 1)
        {
            if (DynamicBatcher.CanBatch(model, out var why))
                batcher = new DynamicBatcher(model, options.MaxBatchSize, options.MaxBatchDelay, () => self?.RequestsInFlight ?? 0, options.Log);
            else
                options.Log?.Invoke($"dynamic batching is off: {why}.");
        }

        if (options.GrpcPort is < 0 or > 65535) throw new ArgumentException($"GrpcPort {options.GrpcPort} is not in 0..65535.", nameof(options));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (options.GrpcPort is not null)
        {
            builder.Services.AddGrpc(g =>
            {
                g.MaxReceiveMessageSize = (int)Math.Min(options.MaxRequestBytes, int.MaxValue);
                g.MaxSendMessageSize = null;
            });
            builder.Services.AddSingleton(_ => new GrpcInferenceService(self!));
        }
        Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? grpcListen = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // The limit is enforced while reading (ReadBodyAsync), which also drains oversized bodies before the 413 so
            // that clients get the response rather than a reset connection.
            k.Limits.MaxRequestBodySize = null;
            k.Limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(options.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5));
            k.Limits.MaxConcurrentConnections = options.MaxConnections;
            k.Listen(address, options.Port);
            // gRPC needs HTTP/2; without TLS that means prior knowledge (h2c), so it gets a port of its own.
            if (options.GrpcPort is int grpcPort)
                k.Listen(address, grpcPort, l => { l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2; grpcListen = l; });
        });
        var app = builder.Build();
        var server = self = new KServeServer(app, model, options, name, batcher);
        server.MapRoutes();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (batcher is not null) await batcher.DisposeAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        server.Port = bound.Port;
        if (grpcListen is not null) server.GrpcPort = grpcListen.IPEndPoint!.Port;
        server.BaseAddress = new Uri($"http://{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString())}:{bound.Port}/");
        if (options.ApiKey is null && !IPAddress.IsLoopback(address))
            options.Log?.Invoke($"warning: listening on {address} without authentication: anyone who can reach port {server.Port} " +
                                "can read the model's metadata and run it. Set an API key (onnxkeras serve --api-key-file, or the " +
                                "ONNXKERAS_API_KEY environment variable) or put an authenticating proxy in front.");
        options.Log?.Invoke($"serving model '{name}' at {server.BaseAddress} (Open Inference Protocol v2)" +
                            (server.GrpcPort is int gp ? $", gRPC on port {gp}" : "") +
                            (batcher is null ? "" : $", dynamic batching up to {options.MaxBatchSize} rows / {options.MaxBatchDelay.TotalMilliseconds} ms"));
        return server;
    }

    /// <summary>Stops accepting requests, lets requests in flight finish, and releases the socket.</summary>
    /// <param name="cancellationToken">Ends the graceful wait early.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0) return;
        await app.StopAsync(cancellationToken).ConfigureAwait(false);
        if (batcher is not null) await batcher.DisposeAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        slots.Dispose();
    }

    /// <summary>Same as <see cref="StopAsync"/>.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>The routes and their methods, for 405 answers to other methods (the fallback would say 404).</summary>
    private static readonly (System.Text.RegularExpressions.Regex Path, string Allow)[] Routes =
    [
        (new(@"^/v2(/health/(live|ready))?/?$"), "GET"),
        (new(@"^/metrics/?$"), "GET"),
        (new(@"^/v2/models/[^/]+(/versions/[^/]+)?(/ready)?/?$"), "GET"),
        (new(@"^/v2/models/[^/]+(/versions/[^/]+)?/infer/?$"), "POST"),
    ];

    private void MapRoutes()
    {
        if (options.AccessLog is { } accessLog)
        {
            // One JSON line per request, written when the response has been sent.
            app.Use(async (c, next) =>
            {
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await next(c).ConfigureAwait(false);
                }
                finally
                {
                    var line = new System.Text.Json.Nodes.JsonObject
                    {
                        ["time"] = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                        ["remote"] = c.Connection.RemoteIpAddress?.ToString(),
                        ["method"] = c.Request.Method,
                        ["path"] = c.Request.Path.Value,
                        ["protocol"] = c.Request.Protocol,
                        ["status"] = c.RequestAborted.IsCancellationRequested && !c.Response.HasStarted ? 499 : c.Response.StatusCode,
                        ["ms"] = Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, 3),
                        ["bytes_in"] = c.Request.ContentLength,
                        ["bytes_out"] = c.Response.ContentLength,
                    };
                    accessLog(line.ToJsonString());
                }
            });
        }

        if (options.ApiKey is { } key)
        {
            byte[] expected = System.Text.Encoding.UTF8.GetBytes("Bearer " + key);
            app.Use(async (c, next) =>
            {
                if (c.Request.Path.StartsWithSegments("/v2/health")
                    || c.Request.Path.Value is "/inference.GRPCInferenceService/ServerLive" or "/inference.GRPCInferenceService/ServerReady")
                {
                    await next(c).ConfigureAwait(false);
                    return;
                }
                string given = c.Request.Headers.Authorization.ToString();
                if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(given), expected))
                {
                    c.Response.Headers.WWWAuthenticate = "Bearer";
                    c.Response.Headers.Connection = "close";
                    await Error(c, 401, given.Length == 0
                        ? "This server requires 'Authorization: Bearer <key>'."
                        : "The bearer token is not valid.").ConfigureAwait(false);
                    return;
                }
                await next(c).ConfigureAwait(false);
            });
        }
        app.MapGet("/v2/health/live", (HttpContext c) => Json(c, 200, w => { w.WriteStartObject(); w.WriteBoolean("live", true); w.WriteEndObject(); }));
        app.MapGet("/v2/health/ready", (HttpContext c) => Json(c, 200, w => { w.WriteStartObject(); w.WriteBoolean("ready", true); w.WriteEndObject(); }));
        app.MapGet("/v2", (HttpContext c) => Json(c, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("name", "onnxkeras");
            w.WriteString("version", Version);
            w.WriteStartArray("extensions");
            w.WriteStringValue("binary_tensor_data");
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        foreach (var prefix in new[] { "/v2/models/{name}", "/v2/models/{name}/versions/{version}" })
        {
            app.MapGet(prefix, (HttpContext c) => WithModel(c, ModelMetadata));
            app.MapGet(prefix + "/ready", (HttpContext c) => WithModel(c, c2 => Json(c2, 200, w =>
            {
                w.WriteStartObject();
                w.WriteString("name", ModelName);
                w.WriteBoolean("ready", true);
                w.WriteEndObject();
            })));
            app.MapPost(prefix + "/infer", (HttpContext c) => WithModel(c, InferAsync));
        }
        if (options.GrpcPort is not null) app.MapGrpcService<GrpcInferenceService>();
        metrics.Registry.AddBeforeCollectCallback(() => metrics.ModelRuns.WithLabels(ModelName).IncTo(ModelRuns));
        app.MapMetrics("/metrics", metrics.Registry);
        app.MapFallback((HttpContext c) =>
        {
            string path = c.Request.Path.Value ?? "";
            foreach (var (route, allow) in Routes)
            {
                if (!route.IsMatch(path)) continue;
                c.Response.Headers.Allow = allow;
                return Error(c, 405, $"{c.Request.Method} is not allowed on {path}; use {allow}.");
            }
            return Error(c, 404, $"No route {c.Request.Method} {c.Request.Path}.");
        });
    }

    private Task WithModel(HttpContext c, Func<HttpContext, Task> next)
    {
        var version = c.Request.RouteValues.TryGetValue("version", out var v) ? (string?)v : null;
        if (FindModel((string?)c.Request.RouteValues["name"], version) is { } missing) return Error(c, 404, missing);
        return next(c);
    }

    /// <summary>Null when this server serves model <paramref name="name"/> in <paramref name="version"/> (null or empty:
    /// any), else the 404 message.</summary>
    internal string? FindModel(string? name, string? version)
    {
        if (name != ModelName) return $"Unknown model '{name}'; this server serves '{ModelName}'.";
        if (!string.IsNullOrEmpty(version) && version != options.ModelVersion)
            return $"Model '{name}' has no version '{version}'; it has version '{options.ModelVersion}'.";
        return null;
    }

    internal OnnxModel Model => model;

    internal ServerOptions Options => options;

    private Task ModelMetadata(HttpContext c) => Json(c, 200, w =>
    {
        w.WriteStartObject();
        w.WriteString("name", ModelName);
        w.WriteStartArray("versions");
        w.WriteStringValue(options.ModelVersion);
        w.WriteEndArray();
        w.WriteString("platform", "onnxruntime_onnx");
        w.WriteStartArray("inputs");
        foreach (var i in model.Inputs) InferCodec.WriteTensorMetadata(w, i);
        w.WriteEndArray();
        w.WriteStartArray("outputs");
        foreach (var o in model.Outputs) InferCodec.WriteTensorMetadata(w, o);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private async Task InferAsync(HttpContext c)
    {
        // The concurrency slot guards the model run and is taken once the request is read (RunAsync), so that clients
        // that send their bodies slowly hold no slot (their reading is bounded by RequestBodyTimeout and Kestrel's
        // minimum rate).
        using var flight = EnterFlight("rest");
        c.Response.OnStarting(() =>
        {
            flight.Complete(c.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return Task.CompletedTask;
        });
        try
        {
            var request = await ReadRequestAsync(c).ConfigureAwait(false);
            var outputs = await RunAsync(request).ConfigureAwait(false);
            if (request.BinaryOutputs is null || !outputs.Any(o => request.IsBinary(o.Name)))
            {
                await Json(c, 200, w => InferCodec.WriteResponse(w, ModelName, options.ModelVersion, request.Id, outputs)).ConfigureAwait(false);
                return;
            }
            // The binary tensor data extension: the JSON part, then each binary output's little-endian floats in order.
            var json = new ArrayBufferWriter<byte>(256);
            using (var w = new Utf8JsonWriter(json, WriterOptions))
                InferCodec.WriteResponse(w, ModelName, options.ModelVersion, request.Id, outputs, request.IsBinary);
            var binary = outputs.Where(o => request.IsBinary(o.Name)).ToList();
            c.Response.StatusCode = 200;
            c.Response.ContentType = "application/octet-stream";
            c.Response.Headers["Inference-Header-Content-Length"] = json.WrittenCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
            c.Response.ContentLength = json.WrittenCount + binary.Sum(o => (long)o.Result.Data.Length * sizeof(float));
            var writer = c.Response.BodyWriter;
            writer.Write(json.WrittenSpan);
            foreach (var (_, result) in binary) writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.Data.AsSpan()));
            await writer.FlushAsync(c.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException && c.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (BadHttpRequestException e)
        {
            await Error(c, e.StatusCode, e.Message).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var (status, message) = Classify(e);
            if (status == 503) c.Response.Headers.RetryAfter = "1";
            await Error(c, status, message).ConfigureAwait(false);
        }
    }

    /// <summary>Counts an inference request in flight (<see cref="RequestsInFlight"/>) until disposed.</summary>
    internal FlightScope EnterFlight(string protocol)
    {
        Interlocked.Increment(ref inFlight);
        metrics.InFlight.WithLabels(ModelName).Inc();
        return new FlightScope(this, protocol, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    /// <summary>An inference request in flight; <see cref="Complete"/> records its answer in the metrics.</summary>
    internal sealed class FlightScope(KServeServer server, string protocol, long started) : IDisposable
    {
        private string status = "aborted";

        public void Complete(string answer) => status = answer;

        public void Dispose()
        {
            Interlocked.Decrement(ref server.inFlight);
            var m = server.metrics;
            m.InFlight.WithLabels(server.ModelName).Dec();
            m.Requests.WithLabels(server.ModelName, protocol, status).Inc();
            m.Duration.WithLabels(server.ModelName, protocol).Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>
    /// Runs a parsed request: takes a concurrency slot (or throws 503), resolves the outputs (the requested ones, else
    /// every FP32 output), runs the model directly or through the batcher, and returns the outputs in order.
    /// </summary>
    internal async Task<IReadOnlyList<(string Name, DenseTensorResult Result)>> RunAsync(InferRequest request)
    {
        if (!slots.Wait(0))
            throw new RequestException(503, $"The server is at its limit of {options.MaxConcurrency} concurrent inference requests; retry later.");
        try
        {
            string[]? outputs = request.Outputs
                ?? (model.Outputs.Any(o => o.ElementType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
                    ? model.Outputs.Where(o => o.ElementType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float).Select(o => o.Name).ToArray()
                    : null);
            if (outputs is { Length: 0 })
                throw new RequestException(400, "The model has no FP32 outputs; this server returns FP32 outputs only.");
            request = request with { Outputs = outputs };
            IReadOnlyDictionary<string, DenseTensorResult> results;
            if (batcher is null)
            {
                Interlocked.Increment(ref directRuns);
                results = model.Predict(request.Inputs.ToDictionary(i => i.Name, i => i.ToTensorInput()), request.Outputs);
            }
            else
            {
                results = await batcher.PredictAsync(request).ConfigureAwait(false);
            }
            var order = request.Outputs ?? model.Outputs.Select(o => o.Name).ToArray();
            var list = order.Select(n => (n, results[n])).ToList();
            Interlocked.Increment(ref requestsServed);
            return list;
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>The HTTP status and message of a failed inference request (the gRPC service maps the same statuses to
    /// its codes): the request's own status, 503 once the model is disposed, 400 for what the model's checks and ONNX
    /// Runtime refuse, 500 for anything else (logged).</summary>
    internal (int Status, string Message) Classify(Exception e)
    {
        switch (e)
        {
            case RequestException r:
                return (r.Status, r.Message);
            case ObjectDisposedException:
                // Before InvalidOperationException: ObjectDisposedException derives from it.
                return (503, "The server is stopping; the model is no longer available.");
            case ArgumentException or NotSupportedException or InvalidOperationException:
                string message = e.Message;
                if (e is ArgumentException { ParamName: { } param } && message.EndsWith($" (Parameter '{param}')", StringComparison.Ordinal))
                    message = message[..^$" (Parameter '{param}')".Length];
                return (400, message);
            case Microsoft.ML.OnnxRuntime.OnnxRuntimeException:
                return (400, $"ONNX Runtime failed to run the model on this request: {e.Message}");
            default:
                options.Log?.Invoke($"internal error: {e}");
                return (500, $"Internal error: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>How much of an oversized body is read and discarded before the 413 is sent.</summary>
    private const long DrainBytes = 8L * 1024 * 1024;

    /// <summary>Reads and parses the body as it arrives (<see cref="InferRequestReader"/>), at most
    /// <see cref="ServerOptions.MaxRequestBytes"/> within <see cref="ServerOptions.RequestBodyTimeout"/>. A request refused
    /// while its body is still coming (413, 400, 408) drains up to <see cref="DrainBytes"/> more, so that a client that is
    /// still sending gets the response rather than a reset connection, and closes the connection.</summary>
    private async Task<InferRequest> ReadRequestAsync(HttpContext c)
    {
        long limit = options.MaxRequestBytes;
        if (c.Request.ContentLength is long n && n > limit)
        {
            await DrainAsync(c).ConfigureAwait(false);
            c.Response.Headers.Connection = "close";
            throw new RequestException(413, $"The request body has {n} bytes; the limit is {limit}.");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(c.RequestAborted);
        timeout.CancelAfter(options.RequestBodyTimeout);
        try
        {
            long? jsonBytes = null;
            if (c.Request.Headers.TryGetValue("Inference-Header-Content-Length", out var header))
            {
                jsonBytes = long.TryParse(header.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long h) && h > 0 && h <= limit
                    ? h : throw new RequestException(400, $"Inference-Header-Content-Length must be a positive integer no larger than the body limit ({limit}), not '{header}'.");
            }
            return await new InferRequestReader(model, limit, jsonBytes).ReadAsync(c.Request.BodyReader, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !c.RequestAborted.IsCancellationRequested)
        {
            c.Response.Headers.Connection = "close";
            throw new RequestException(408, $"The request body did not arrive within {options.RequestBodyTimeout.TotalSeconds:0.###} s.");
        }
        catch (Exception e) when (e is RequestException or ArgumentException or NotSupportedException)
        {
            await DrainAsync(c).ConfigureAwait(false);
            c.Response.Headers.Connection = "close";
            throw;
        }
    }

    private static async Task DrainAsync(HttpContext c)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(c.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        var reader = c.Request.BodyReader;
        long drained = 0;
        try
        {
            while (drained < DrainBytes)
            {
                var result = await reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                drained += result.Buffer.Length;
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException or InvalidOperationException)
        {
            // Best effort: the error response is sent either way.
        }
    }

    /// <summary>Escapes only what JSON requires (not HTML-sensitive characters such as the apostrophes in messages).</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static Task Error(HttpContext c, int status, string message) =>
        Json(c, status, w => { w.WriteStartObject(); w.WriteString("error", message); w.WriteEndObject(); });

    private static async Task Json(HttpContext c, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions)) write(w);
        c.Response.StatusCode = status;
        c.Response.ContentType = "application/json";
        c.Response.ContentLength = buffer.WrittenCount;
        await c.Response.Body.WriteAsync(buffer.WrittenMemory, c.RequestAborted).ConfigureAwait(false);
    }
}
