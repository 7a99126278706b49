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
/// An HTTP server for one or more <see cref="OnnxModel"/>s speaking the Open Inference Protocol (KServe v2 REST and gRPC,
/// as Triton and KServe do): health, server and model metadata, the model repository index, and inference (JSON or binary
/// tensor data). Kestrel with minimal APIs.
/// </summary>
/// <remarks>
/// Routes: <c>GET /v2/health/live</c>, <c>GET /v2/health/ready</c>, <c>GET /v2</c>, <c>GET /v2/models/{name}</c>,
/// <c>GET /v2/models/{name}/ready</c>, <c>POST /v2/models/{name}/infer</c> (each model route also under
/// <c>/versions/{version}</c>). Errors are <c>{"error": "..."}</c> with 400 (malformed or invalid request), 404 (unknown
/// model, version or route), 401 (no or wrong bearer token when <see cref="ServerOptions.ApiKey"/> is set), 405 (a known
/// route with another method), 408 (body slower than <see cref="ServerOptions.RequestBodyTimeout"/>), 413 (body over
/// <see cref="ServerOptions.MaxRequestBytes"/>), 503 (over <see cref="ServerOptions.MaxConcurrency"/>, or stopping), 500
/// (model failure). Request bodies are parsed as they arrive (<see cref="InferRequestReader"/>): memory follows the
/// tensors a request declares, not the size of its body. The server does not own the models:
/// stop the server before disposing them.
/// </remarks>
public sealed partial class KServeServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ServerOptions options;
    private readonly SemaphoreSlim slots;
    /// <summary>The models by name; each name's versions highest first (the first is the default).</summary>
    private readonly Dictionary<string, HostedModel[]> models;
    private int stopped;
    private int inFlight;
    private readonly ServerMetrics metrics = new();

    private KServeServer(WebApplication app, IReadOnlyList<HostedModel> hosted, ServerOptions options)
    {
        this.app = app;
        this.options = options;
        models = hosted.GroupBy(h => h.Name, StringComparer.Ordinal)
                       .ToDictionary(g => g.Key, g => g.OrderByDescending(h => h.Version, VersionComparer.Instance).ToArray(), StringComparer.Ordinal);
        ModelName = hosted[0].Name;
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

    /// <summary>The name of the first model served (the only one when the server was started with one model).</summary>
    public string ModelName { get; }

    /// <summary>The models served, as (name, version) pairs, each name's highest version first.</summary>
    public IReadOnlyList<(string Name, string Version)> Models =>
        models.Values.SelectMany(v => v).Select(h => (h.Name, h.Version)).ToArray();

    /// <summary>Inference requests being handled now, from receipt of the headers to the response (including those
    /// whose bodies are still arriving, which hold no concurrency slot yet).</summary>
    public int RequestsInFlight => Volatile.Read(ref inFlight);

    /// <summary>Inference requests holding a concurrency slot now: read, and running or waiting to run on the model.</summary>
    public int RequestsRunning => options.MaxConcurrency - slots.CurrentCount;

    /// <summary>Inference requests answered with HTTP 200 (gRPC OK) so far, all models together.</summary>
    public long RequestsServed => models.Values.SelectMany(v => v).Sum(h => h.RequestsServed);

    /// <summary>ONNX Runtime runs made for inference requests so far, all models together (fewer than
    /// <see cref="RequestsServed"/> when dynamic batching combined requests).</summary>
    public long ModelRuns => models.Values.SelectMany(v => v).Sum(h => h.ModelRuns);

    /// <summary>Whether dynamic batching is on for the first model (requested and the model has a batch dimension).</summary>
    public bool DynamicBatching => models[ModelName][0].Batcher is not null;

    /// <summary>Starts serving <paramref name="model"/> as <see cref="ServerOptions.ModelName"/> (default: the model's graph
    /// name, else <c>model</c>) in version <see cref="ServerOptions.ModelVersion"/>; returns once the socket is bound.</summary>
    /// <param name="model">The model; it stays the caller's.</param>
    /// <param name="options">Address, limits and batching.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="ArgumentException">An option is out of range or the host is not an IP address.</exception>
    public static Task<KServeServer> StartAsync(OnnxModel model, ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        string name = !string.IsNullOrWhiteSpace(options.ModelName) ? options.ModelName
            : !string.IsNullOrWhiteSpace(model.GraphName) ? model.GraphName : "model";
        return StartAsync([new ServedModel(name, options.ModelVersion, model)], options, cancellationToken);
    }

    /// <summary>Starts serving several models (for example those of a model repository, <see cref="ModelRepository"/>);
    /// a URL without a version gets a name's highest version. Returns once the sockets are bound.</summary>
    /// <param name="served">The models with their names and versions; they stay the caller's.
    /// <see cref="ServerOptions.ModelName"/> and <see cref="ServerOptions.ModelVersion"/> are not used.</param>
    /// <param name="options">Address, limits and batching (per model).</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="ArgumentException">No model, a duplicate name and version, a name or version that cannot stand in
    /// a URL, an option out of range, or a host that is not an IP address.</exception>
    public static async Task<KServeServer> StartAsync(IReadOnlyList<ServedModel> served, ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(served);
        ArgumentNullException.ThrowIfNull(options);
        if (served.Count == 0) throw new ArgumentException("The server needs at least one model.", nameof(served));
        foreach (var m in served)
        {
            ArgumentNullException.ThrowIfNull(m?.Model, nameof(served));
            if (string.IsNullOrEmpty(m.Name) || m.Name.Contains('/') || string.IsNullOrEmpty(m.Version) || m.Version.Contains('/'))
                throw new ArgumentException($"Model name '{m.Name}' and version '{m.Version}' must be non-empty and contain no '/'.", nameof(served));
        }
        if (served.GroupBy(m => (m.Name, m.Version)).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"Model '{twice.Key.Name}' version '{twice.Key.Version}' is given twice.", nameof(served));
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

        var hosted = served.Select(m => new HostedModel(m.Name, m.Version, m.Model)).ToList();
        if (options.MaxBatchSize > 1)
        {
            foreach (var h in hosted)
            {
                if (DynamicBatcher.CanBatch(h.Model, out var why))
                    h.Batcher = new DynamicBatcher(h.Model, options.MaxBatchSize, options.MaxBatchDelay, () => h.InFlight, options.Log);
                else
                    options.Log?.Invoke($"dynamic batching is off for model '{h.Name}' version {h.Version}: {why}.");
            }
        }
        KServeServer? self = null;

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
            k.Limits.MinRequestBodyDataRate =
                new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(options.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5));
            k.Limits.MaxConcurrentConnections = options.MaxConnections;
            k.Listen(address, options.Port);
            // gRPC needs HTTP/2; without TLS that means prior knowledge (h2c), so it gets a port of its own.
            if (options.GrpcPort is int grpcPort)
                k.Listen(address, grpcPort, l => { l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2; grpcListen = l; });
        });
        var app = builder.Build();
        var server = self = new KServeServer(app, hosted, options);
        server.MapRoutes();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach (var h in hosted) if (h.Batcher is not null) await h.Batcher.DisposeAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        server.Port = bound.Port;
        if (grpcListen is not null) server.GrpcPort = grpcListen.IPEndPoint!.Port;
        server.BaseAddress = new Uri(
            $"http://{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString())}:{bound.Port}/");
        if (options.ApiKey is null && !IPAddress.IsLoopback(address))
            options.Log?.Invoke($"warning: listening on {address} without authentication: anyone who can reach port {server.Port} " +
                                "can read the model's metadata and run it. Set an API key (onnxkeras serve --api-key-file, or the " +
                                "ONNXKERAS_API_KEY environment variable) or put an authenticating proxy in front.");
        options.Log?.Invoke($"serving {string.Join(", ", hosted.Select(h => $"'{h.Name}' version {h.Version}"))} at {server.BaseAddress} " +
                            "(Open Inference Protocol v2)" +
                            (server.GrpcPort is int gp ? $", gRPC on port {gp}" : "") +
                            (hosted.Any(h => h.Batcher is not null)
                                ? $", dynamic batching up to {options.MaxBatchSize} rows / {options.MaxBatchDelay.TotalMilliseconds} ms"
                                : ""));
        return server;
    }

    /// <summary>Stops accepting requests, lets requests in flight finish, and releases the socket.</summary>
    /// <param name="cancellationToken">Ends the graceful wait early.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0) return;
        await app.StopAsync(cancellationToken).ConfigureAwait(false);
        foreach (var h in models.Values.SelectMany(v => v))
            if (h.Batcher is not null) await h.Batcher.DisposeAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        slots.Dispose();
    }

    /// <summary>Same as <see cref="StopAsync"/>.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
