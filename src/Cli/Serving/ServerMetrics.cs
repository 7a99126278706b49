using Prometheus;

namespace OnnxKeras.Cli.Serving;

/// <summary>
/// The server's Prometheus metrics (prometheus-net), in a registry of the server's own so that several servers in one
/// process keep separate counts; <c>GET /metrics</c> writes them in Prometheus's text format.
/// </summary>
internal sealed class ServerMetrics
{
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    /// <summary>Inference requests answered, by model, protocol (rest, grpc) and status (HTTP status code).</summary>
    public Counter Requests { get; }

    /// <summary>Time from receipt of an inference request to its answer, by model and protocol.</summary>
    public Histogram Duration { get; }

    /// <summary>Inference requests in flight (including those whose bodies are still arriving), by model.</summary>
    public Gauge InFlight { get; }

    /// <summary>Model runs (fewer than requests when dynamic batching combines them), by model.</summary>
    public Counter ModelRuns { get; }

    public ServerMetrics()
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("onnxkeras_inference_requests_total", "Inference requests answered, by model, protocol and status.",
            new CounterConfiguration { LabelNames = ["model", "protocol", "status"] });
        Duration = factory.CreateHistogram("onnxkeras_inference_request_duration_seconds", "Time from receiving an inference request to answering it.",
            new HistogramConfiguration
            {
                LabelNames = ["model", "protocol"],
                // 0.1 ms doubling to about 13 s (0.0001 * 2^17).
                Buckets = Histogram.ExponentialBuckets(0.0001, 2, 18),
            });
        InFlight = factory.CreateGauge("onnxkeras_inference_requests_in_flight", "Inference requests being handled now.",
            new GaugeConfiguration { LabelNames = ["model"] });
        ModelRuns = factory.CreateCounter("onnxkeras_model_runs_total", "ONNX Runtime runs made for inference requests.",
            new CounterConfiguration { LabelNames = ["model"] });
    }
}
