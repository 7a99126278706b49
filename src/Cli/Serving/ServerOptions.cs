namespace OnnxKeras.Cli.Serving;

/// <summary>Settings of <see cref="KServeServer"/>.</summary>
public sealed class ServerOptions
{
    /// <summary>The address to listen on: an IP address or <c>localhost</c>. Default <c>127.0.0.1</c> (loopback only).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 (the default) lets the system pick a free one, see <see cref="KServeServer.Port"/>.</summary>
    public int Port { get; init; }

    /// <summary>The TCP port of the gRPC service (<c>inference.GRPCInferenceService</c>, HTTP/2 without TLS); 0 lets the
    /// system pick (see <see cref="KServeServer.GrpcPort"/>); null (the default) turns gRPC off.</summary>
    public int? GrpcPort { get; init; }

    /// <summary>The model's name in URLs (<c>/v2/models/{name}</c>). Default: the model's graph name, else <c>model</c>.</summary>
    public string? ModelName { get; init; }

    /// <summary>The model version reported in metadata and accepted in <c>/versions/{version}</c> URLs. Default <c>1</c>.</summary>
    public string ModelVersion { get; init; } = "1";

    /// <summary>
    /// Dynamic batching: when above 1 and every input and output has a symbolic first dimension, concurrent
    /// requests are queued and run together as one batch of at most this many rows. Default 1 (off).
    /// </summary>
    public int MaxBatchSize { get; init; } = 1;

    /// <summary>How long the first request of a batch waits for others (dynamic batching only); the wait ends early
    /// when the batch is full or holds every inference request in flight. Default 2 ms.</summary>
    public TimeSpan MaxBatchDelay { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>The largest request body accepted; larger ones get HTTP 413. Default 64 MiB.</summary>
    public long MaxRequestBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>The most inference requests run at once (counted from the moment a request's body has been read);
    /// more get HTTP 503 at once. Default 256.</summary>
    public int MaxConcurrency { get; init; } = 256;

    /// <summary>How long a request body may take to arrive; a slower one gets HTTP 408 and its connection is closed.
    /// Default 60 s.</summary>
    public TimeSpan RequestBodyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The slowest request body accepted after a 5 s grace period, in bytes per second (Kestrel's
    /// <c>MinRequestBodyDataRate</c>); a slower client is disconnected. Default 4096.</summary>
    public double MinRequestBodyBytesPerSecond { get; init; } = 4096;

    /// <summary>The most open connections (Kestrel's <c>MaxConcurrentConnections</c>); further ones are refused.
    /// Default 1024.</summary>
    public long MaxConnections { get; init; } = 1024;

    /// <summary>When set, every route except <c>/v2/health/*</c> requires the header <c>Authorization: Bearer
    /// &lt;key&gt;</c>; others get HTTP 401. Null (the default): no authentication, and a warning is logged when the
    /// server listens on an address other than loopback.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Receives one JSON line per HTTP request once it is answered (time, remote address, method, path,
    /// protocol, status, milliseconds, bytes in and out); null (the default) for none.</summary>
    public Action<string>? AccessLog { get; init; }

    /// <summary>Receives one line per notable event (start, stop, internal errors); null for none.</summary>
    public Action<string>? Log { get; init; }
}
