using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

/// <summary>
/// What Compile configured, per model output: the loss, its weight in the total, and the metrics (Keras 3's
/// CompileLoss/CompileMetrics). Metric names get the output's name as a prefix when the model has several outputs
/// (<c>class_accuracy</c>), as do the per-output losses (<c>class_loss</c>). Metrics given as <c>metrics</c> ignore
/// sample weights; <c>weightedMetrics</c> use them (Keras 3).
/// </summary>
internal sealed class CompiledObjectives : IDisposable
{
    private readonly Loss[] losses;
    private readonly double[] lossWeights;
    private readonly string[] outputNames;
    private readonly List<(int Output, Metric Requested, bool Weighted)> requested;
    private List<(int Output, Metric Metric, bool Weighted)>? resolved;
    private readonly LossTracker[] outputTrackers;
    private readonly (int Output, string Name, bool Weighted)[] requestedNames;

    public CompiledObjectives(Loss[] losses, double[] lossWeights, string[] outputNames, List<(int Output, Metric Metric, bool Weighted)> metrics)
    {
        this.losses = losses;
        this.lossWeights = lossWeights;
        this.outputNames = outputNames;
        requested = metrics;
        // The names as given (resolving may rename a metric object to its output-prefixed name).
        requestedNames = metrics.Select(m => (m.Output, m.Metric.Name, m.Weighted)).ToArray();
        outputTrackers = losses.Length > 1 ? losses.Select(_ => new LossTracker()).ToArray() : [];
        var names = metrics.Select(m => FullName(m.Output, m.Metric.Name)).ToList();
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Metric '{duplicate.Key}' is given twice to Compile.");
        if (names.Any(n => n == "loss" || n.EndsWith("_loss", StringComparison.Ordinal)))
            throw new ArgumentException("A metric cannot be named 'loss' or end in '_loss'.");
    }

    public IReadOnlyList<Loss> Losses => losses;

    /// <summary>False when Compile was given no loss (a model whose overridden TrainStep computes its own).</summary>
    public bool HasLoss => losses.Length > 0;

    /// <summary>Each output's weight in the total loss.</summary>
    public IReadOnlyList<double> LossWeights => lossWeights;

    /// <summary>The metrics as Compile was given them: output index, name (without the output prefix), and whether sample weights apply.</summary>
    public IReadOnlyList<(int Output, string Name, bool Weighted)> RequestedMetrics => requestedNames;

    /// <summary>The metric objects Compile was given, in the order of <see cref="RequestedMetrics"/> (for saving their arguments).</summary>
    public IReadOnlyList<Metric> RequestedMetricObjects => requested.Select(m => m.Requested).ToList();

    public IReadOnlyList<Metric> Metrics => (resolved?.Select(m => m.Metric) ?? requested.Select(m => m.Requested)).ToList();

    private string FullName(int output, string name) => outputNames.Length > 1 ? $"{outputNames[output]}_{name}" : name;

    /// <summary>Resolves <c>accuracy</c> against the first batch's shapes (Keras 3 decides from shapes).</summary>
    private void Resolve(IReadOnlyList<Tensor> ys, IReadOnlyList<KTensor> predictions)
    {
        if (resolved is not null) return;
        resolved = requested.Select(m =>
        {
            var metric = MetricRegistry.Resolve(m.Requested, Shape.Of(ys[m.Output].shape), predictions[m.Output].Shape);
            metric.Name = FullName(m.Output, m.Requested.Name);
            return (m.Output, metric, m.Weighted);
        }).ToList();
    }

    /// <summary>The weighted sum of the per-output losses for one batch (regularization not included).</summary>
    public Tensor ComputeLoss(IReadOnlyList<Tensor> ys, IReadOnlyList<KTensor> predictions, IReadOnlyList<Tensor?> weights, long batchSize)
    {
        if (predictions.Count != losses.Length)
            throw new InvalidOperationException($"The model produced {predictions.Count} outputs but Compile configured {losses.Length} losses.");
        Tensor? total = null;
        for (int k = 0; k < losses.Length; k++)
        {
            var value = losses[k].Compute(ys[k], predictions[k], weights[k] is Tensor w ? (KTensor)w : null).Value;
            if (outputTrackers.Length > 0) outputTrackers[k].Add(value, batchSize);
            var weighted = lossWeights[k] == 1.0 ? value : value * lossWeights[k];
            total = total is null ? weighted : total + weighted;
        }
        return total!;
    }

    public void UpdateMetrics(IReadOnlyList<Tensor> ys, IReadOnlyList<KTensor> predictions, IReadOnlyList<Tensor?> weights)
    {
        Resolve(ys, predictions);
        using var _ = no_grad();
        foreach (var (output, metric, weighted) in resolved!)
        {
            var w = weighted && weights[output] is Tensor t ? (KTensor)t : null;
            // The prediction's mask goes with it: Keras's MeanMetricWrapper weights by it.
            var prediction = predictions[output];
            metric.UpdateState(ys[output], new KTensor(prediction.Value.detach()).WithMask(prediction.Mask), w);
        }
    }

    public void Reset()
    {
        foreach (var t in outputTrackers) t.Reset();
        foreach (var m in resolved?.Select(r => r.Metric) ?? []) m.ResetState();
    }

    /// <summary>Keras's logs: total loss, per-output losses (several outputs), then metrics.</summary>
    public Dictionary<string, double> Logs(LossTracker total)
    {
        var logs = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = total.Result() };
        for (int k = 0; k < outputTrackers.Length; k++) logs[$"{outputNames[k]}_loss"] = outputTrackers[k].Result();
        foreach (var m in resolved?.Select(r => r.Metric) ?? []) logs[m.Name] = m.Result();
        return logs;
    }

    public void Dispose()
    {
        foreach (var t in outputTrackers) t.Dispose();
        foreach (var m in resolved?.Select(r => r.Metric) ?? requested.Select(r => r.Requested)) m.Dispose();
    }
}
