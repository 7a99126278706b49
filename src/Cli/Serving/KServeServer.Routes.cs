using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Serving;

/// <summary>The REST routes, the middleware (access log, API key), and the run path REST and gRPC share.</summary>
public sealed partial class KServeServer
{
    /// <summary>The routes and their methods, for 405 answers to other methods (the fallback would say 404).</summary>
    private static readonly (System.Text.RegularExpressions.Regex Path, string Allow)[] Routes =
    [
        (new(@"^/v2(/health/(live|ready))?/?$"), "GET"),
        (new(@"^/metrics/?$"), "GET"),
        (new(@"^/v2/models/[^/]+(/versions/[^/]+)?(/ready)?/?$"), "GET"),
        (new(@"^/v2/models/[^/]+(/versions/[^/]+)?/infer/?$"), "POST"),
        (new(@"^/v2/repository/index/?$"), "POST"),
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
            app.MapGet(prefix + "/ready", (HttpContext c) => WithModel(c, (c2, h) => Json(c2, 200, w =>
            {
                w.WriteStartObject();
                w.WriteString("name", h.Name);
                w.WriteBoolean("ready", true);
                w.WriteEndObject();
            })));
            app.MapPost(prefix + "/infer", (HttpContext c) => WithModel(c, InferAsync));
        }
        // Triton's repository index: every model version served, all READY (models are loaded before the server starts).
        app.MapPost("/v2/repository/index", (HttpContext c) => Json(c, 200, w =>
        {
            w.WriteStartArray();
            foreach (var h in models.Values.SelectMany(v => v))
            {
                w.WriteStartObject();
                w.WriteString("name", h.Name);
                w.WriteString("version", h.Version);
                w.WriteString("state", "READY");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }));
        if (options.GrpcPort is not null) app.MapGrpcService<GrpcInferenceService>();
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var (name, versions) in models) metrics.ModelRuns.WithLabels(name).IncTo(versions.Sum(h => h.ModelRuns));
        });
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

    private Task WithModel(HttpContext c, Func<HttpContext, HostedModel, Task> next)
    {
        var version = c.Request.RouteValues.TryGetValue("version", out var v) ? (string?)v : null;
        var (hosted, missing) = FindModel((string?)c.Request.RouteValues["name"], version);
        return hosted is null ? Error(c, 404, missing!) : next(c, hosted);
    }

    /// <summary>The model <paramref name="name"/> in <paramref name="version"/> (null or empty: its highest version), or
    /// null and the 404 message.</summary>
    internal (HostedModel? Model, string? Missing) FindModel(string? name, string? version)
    {
        if (name is null || !models.TryGetValue(name, out var versions))
            return (null, $"Unknown model '{name}'; this server serves {string.Join(", ", models.Keys.Order(StringComparer.Ordinal).Select(k => $"'{k}'"))}.");
        if (string.IsNullOrEmpty(version)) return (versions[0], null);
        return versions.FirstOrDefault(h => h.Version == version) is { } found
            ? (found, null)
            : (null, $"Model '{name}' has no version '{version}'; it has version(s) {string.Join(", ", versions.Select(h => $"'{h.Version}'"))}.");
    }

    private Task ModelMetadata(HttpContext c, HostedModel h) => Json(c, 200, w =>
    {
        w.WriteStartObject();
        w.WriteString("name", h.Name);
        w.WriteStartArray("versions");
        foreach (var other in models[h.Name]) w.WriteStringValue(other.Version);
        w.WriteEndArray();
        w.WriteString("platform", "onnxruntime_onnx");
        w.WriteStartArray("inputs");
        foreach (var i in h.Model.Inputs) InferCodec.WriteTensorMetadata(w, i);
        w.WriteEndArray();
        w.WriteStartArray("outputs");
        foreach (var o in h.Model.Outputs) InferCodec.WriteTensorMetadata(w, o);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private async Task InferAsync(HttpContext c, HostedModel h)
    {
        // The concurrency slot guards the model run and is taken once the request is read (RunAsync), so that clients
        // that send their bodies slowly hold no slot (their reading is bounded by RequestBodyTimeout and Kestrel's
        // minimum rate).
        using var flight = EnterFlight(h, "rest");
        c.Response.OnStarting(() =>
        {
            flight.Complete(c.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return Task.CompletedTask;
        });
        try
        {
            var request = await ReadRequestAsync(c, h.Model).ConfigureAwait(false);
            var outputs = await RunAsync(h, request).ConfigureAwait(false);
            if (request.BinaryOutputs is null || !outputs.Any(o => request.IsBinary(o.Name)))
            {
                await Json(c, 200, w => InferCodec.WriteResponse(w, h.Name, h.Version, request.Id, outputs)).ConfigureAwait(false);
                return;
            }
            // The binary tensor data extension: the JSON part, then each binary output's little-endian bytes in order.
            var json = new ArrayBufferWriter<byte>(256);
            using (var w = new Utf8JsonWriter(json, WriterOptions))
                InferCodec.WriteResponse(w, h.Name, h.Version, request.Id, outputs, request.IsBinary);
            var binary = outputs.Where(o => request.IsBinary(o.Name)).ToList();
            c.Response.StatusCode = 200;
            c.Response.ContentType = "application/octet-stream";
            c.Response.Headers["Inference-Header-Content-Length"] = json.WrittenCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
            c.Response.ContentLength = json.WrittenCount + binary.Sum(o => (long)o.Result.AsBytes().Length);
            var writer = c.Response.BodyWriter;
            writer.Write(json.WrittenSpan);
            foreach (var (_, result) in binary) writer.Write(result.AsBytes());
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

    /// <summary>Counts an inference request for <paramref name="h"/> in flight (<see cref="RequestsInFlight"/> and the
    /// model's own count, which its batcher reads) until disposed.</summary>
    internal FlightScope EnterFlight(HostedModel h, string protocol)
    {
        Interlocked.Increment(ref inFlight);
        Interlocked.Increment(ref h.InFlightCount);
        metrics.InFlight.WithLabels(h.Name).Inc();
        return new FlightScope(this, h, protocol, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    /// <summary>An inference request in flight; <see cref="Complete"/> records its answer in the metrics.</summary>
    internal sealed class FlightScope(KServeServer server, HostedModel h, string protocol, long started) : IDisposable
    {
        private string status = "aborted";

        public void Complete(string answer) => status = answer;

        public void Dispose()
        {
            Interlocked.Decrement(ref server.inFlight);
            Interlocked.Decrement(ref h.InFlightCount);
            var m = server.metrics;
            m.InFlight.WithLabels(h.Name).Dec();
            m.Requests.WithLabels(h.Name, protocol, status).Inc();
            m.Duration.WithLabels(h.Name, protocol).Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>
    /// Runs a parsed request on <paramref name="h"/>: takes a concurrency slot (or throws 503), runs the model directly or
    /// through its batcher, and returns the requested outputs, or every output, in order.
    /// </summary>
    internal async Task<IReadOnlyList<(string Name, DenseTensorResult Result)>> RunAsync(HostedModel h, InferRequest request)
    {
        if (!slots.Wait(0))
            throw new RequestException(503, $"The server is at its limit of {options.MaxConcurrency} concurrent inference requests; retry later.");
        try
        {
            var model = h.Model;
            IReadOnlyDictionary<string, DenseTensorResult> results;
            if (h.Batcher is null)
            {
                Interlocked.Increment(ref h.DirectRuns);
                results = model.Predict(request.Inputs.ToDictionary(i => i.Name, i => i.ToTensorInput()), request.Outputs);
            }
            else
            {
                results = await h.Batcher.PredictAsync(request).ConfigureAwait(false);
            }
            var order = request.Outputs ?? model.Outputs.Select(o => o.Name).ToArray();
            var list = order.Select(n => (n, results[n])).ToList();
            Interlocked.Increment(ref h.Served);
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
    private async Task<InferRequest> ReadRequestAsync(HttpContext c, OnnxModel model)
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
                jsonBytes = long.TryParse(header.ToString(), System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out long h) && h > 0 && h <= limit
                    ? h
                    : throw new RequestException(400,
                        $"Inference-Header-Content-Length must be a positive integer no larger than the body limit ({limit}), not '{header}'.");
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
