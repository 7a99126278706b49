using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Buckets continuous values by boundaries (Keras 3's <c>keras.layers.Discretization</c>): value <c>x</c> gets the
/// number of boundaries <c>&lt;= x</c> (numpy's <c>digitize</c>: bins <c>[b[i-1], b[i])</c>), as int64 with
/// <c>outputMode: "int"</c>, or encoded as CategoryEncoding does (<c>"one_hot"</c>, <c>"multi_hot"</c>, <c>"count"</c>,
/// float32) over <c>boundaries + 1</c> buckets. Boundaries are given (<c>binBoundaries</c>) or learned by
/// <see cref="Adapt(Array)"/> from <c>numBins</c> quantiles with Keras's summary algorithm (tolerance
/// <c>epsilon</c>); they live in the config, as in Keras (no weights). Exports as GreaterOrEqual + Cast + ReduceSum + Cast (+ CategoryEncoding's Gather).
/// </summary>
/// <example><code>var bucket = new Discretization(binBoundaries: [0, 1, 2]);   // [[-1.5, 1.0, 3.4, 0.5]] -> [[0, 2, 3, 1]]</code></example>
public sealed class Discretization : Layer
{
    private double[]? boundaries;

    /// <summary>Creates the layer.</summary>
    /// <param name="binBoundaries">Increasing bucket boundaries; or null and <paramref name="numBins"/> to learn them with Adapt.</param>
    /// <param name="numBins">How many buckets Adapt makes (quantiles of the data).</param>
    /// <param name="epsilon">Adapt's quantile tolerance (Keras's default 0.01).</param>
    /// <param name="outputMode"><c>"int"</c>, <c>"one_hot"</c>, <c>"multi_hot"</c> or <c>"count"</c>.</param>
    /// <param name="sparse">Keras's sparse output; only false is supported.</param>
    /// <exception cref="ArgumentException">Neither boundaries nor bins, negative bins, unsorted or non-finite boundaries,
    /// a bad epsilon or mode, or <paramref name="sparse"/> true.</exception>
    /// <remarks>Both arguments together are accepted (Keras's config of an adapted layer holds both): the boundaries are used.</remarks>
    public Discretization(double[]? binBoundaries = null, int? numBins = null, double epsilon = 0.01, string outputMode = "int", bool sparse = false)
    {
        if (outputMode is not ("int" or "one_hot" or "multi_hot" or "count"))
            throw new ArgumentException("Discretization: outputMode must be \"int\", \"one_hot\", \"multi_hot\" or \"count\"; " +
                $"got \"{outputMode}\".", nameof(outputMode));
        if (sparse)
            throw new ArgumentException("Discretization: sparse outputs are not supported " +
                "(TorchSharp training and ONNX export use dense tensors).", nameof(sparse));
        if (numBins is < 0) throw new ArgumentException($"Discretization: numBins must be >= 0; got {numBins}.", nameof(numBins));
        if (numBins is null && binBoundaries is null) throw new ArgumentException("Discretization: set either binBoundaries or numBins (and call Adapt).");
        if (!(epsilon > 0 && epsilon <= 1)) throw new ArgumentException($"Discretization: epsilon must be in (0, 1]; got {epsilon}.", nameof(epsilon));
        if (binBoundaries is not null)
        {
            if (binBoundaries.Any(b => !double.IsFinite(b)))
                throw new ArgumentException("Discretization: binBoundaries must be finite.", nameof(binBoundaries));
            for (int i = 1; i < binBoundaries.Length; i++)
            {
                if (binBoundaries[i] < binBoundaries[i - 1])
                    throw new ArgumentException($"Discretization: binBoundaries must be sorted; {binBoundaries[i]} follows " +
                        $"{binBoundaries[i - 1]}.", nameof(binBoundaries));
            }
            boundaries = (double[])binBoundaries.Clone();
        }
        NumBins = numBins;
        Epsilon = epsilon;
        OutputMode = outputMode;
    }

    /// <summary>The boundaries in use (given or adapted), or null before Adapt.</summary>
    public IReadOnlyList<double>? BinBoundaries => boundaries;

    /// <summary>How many buckets Adapt makes, or null.</summary>
    public int? NumBins { get; }

    /// <summary>Adapt's quantile tolerance.</summary>
    public double Epsilon { get; }

    /// <summary><c>"int"</c>, <c>"one_hot"</c>, <c>"multi_hot"</c> or <c>"count"</c>.</summary>
    public string OutputMode { get; }

    /// <summary>Learns <c>numBins</c> quantile boundaries of all values of <paramref name="data"/> (Keras's summary algorithm).</summary>
    /// <exception cref="InvalidOperationException">The layer was created with boundaries and no numBins.</exception>
    /// <example><code>
    /// var bucket = new Discretization(numBins: 4);
    /// bucket.Adapt(new float[,] { { -1.5f, 1, 3.4f, 0.5f }, { 0, 3, 1.3f, 0 } });   // boundaries 0, 0.5, 1.3
    /// </code></example>
    public void Adapt(Array data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var t = TensorConvert.ToTensor(data, nameof(data));
        Adapt(Dataset.FromTensorSlices(t.reshape(1, -1)).Batch(1));
    }

    /// <summary>As <see cref="Adapt(Array)"/> over every batch of <paramref name="dataset"/> (first tensor of each
    /// element), summaries merged as Keras merges them.</summary>
    /// <exception cref="InvalidOperationException">The layer was created with boundaries and no numBins.</exception>
    /// <exception cref="ArgumentException">An infinite or empty dataset.</exception>
    /// <example><code>var bucket = new Discretization(numBins: 3); bucket.Adapt(Dataset.FromTensorSlices(x).Batch(32));</code></example>
    public void Adapt(Dataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (NumBins is not int bins)
            throw new InvalidOperationException($"Layer '{Name}' (Discretization) was created with binBoundaries; create it with numBins to adapt it.");
        if (dataset.Cardinality == Dataset.Infinite) throw new ArgumentException("Discretization.Adapt: the dataset is infinite.", nameof(dataset));
        (double[] Values, double[] Weights) summary = ([], []);
        bool any = false;
        foreach (var element in dataset.Elements())
        {
            using var scope = NewDisposeScope();
            using var flat = element[0].detach().to_type(ScalarType.Float32).cpu().reshape(-1);
            var values = flat.data<float>().Select(v => (double)v).ToArray();
            if (values.Length == 0) continue;
            any = true;
            summary = QuantileSummary.Merge(QuantileSummary.Summarize(values, Epsilon), summary, Epsilon);
        }
        if (!any) throw new ArgumentException("Discretization.Adapt: the data has no values.", nameof(dataset));
        var compressed = QuantileSummary.Compress(summary, 1.0 / bins).Values;
        boundaries = compressed[..^1].Select(v => (double)(float)v).ToArray();
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No boundaries yet (numBins without Adapt).</exception>
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var b = boundaries ?? throw new InvalidOperationException($"Layer '{Name}' (Discretization) needs binBoundaries or a call to Adapt before it is used.");
        var x = Ops.Cast(inputs, "float32");
        // With no boundary every value is in bucket 0: compare with +inf so the graph keeps one shape.
        var edges = tensor(b.Length == 0 ? [float.PositiveInfinity] : b.Select(v => (float)v).ToArray(), device: x.Value.device);
        // The count is summed in float32 (exact below 2^24 boundaries; the exporter's ReduceSum is float) and cast to int64.
        var ids = Ops.Cast(Ops.Sum(Ops.Cast(Ops.GreaterEqual(Ops.ExpandDims(x, -1), new KTensor(edges)), "float32"), -1), "int64");
        return OutputMode == "int" ? ids : CategoryEncoding.Encode(ids, b.Length + 1, OutputMode);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        if (OutputMode == "int") return inputShape;
        int tokens = boundaries is not null ? boundaries.Length + 1 : NumBins ?? 1; // numBins buckets after Adapt
        var dims = inputShape.Dims;
        if (OutputMode == "one_hot" && (dims.Length == 1 || dims[^1] != 1)) return new Shape([.. dims, tokens]);
        return new Shape([.. dims[..^1], tokens]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("bin_boundaries", boundaries?.ToArray()).With("num_bins", NumBins).With("epsilon", Epsilon)
        .With("output_mode", OutputMode).With("sparse", false);
}

/// <summary>Keras's Discretization summaries: sorted sample values with weights, merged and compressed by interpolation.</summary>
internal static class QuantileSummary
{
    public static (double[] Values, double[] Weights) Summarize(double[] values, double epsilon)
    {
        var sorted = values.Select(v => (double)(float)v).Order().ToArray();
        double increment = sorted.Length / (1.0 / epsilon);
        int start = (int)increment, step = (int)Math.Max(increment, 1);
        var picked = new List<double>();
        for (int i = start; i < sorted.Length; i += step) picked.Add(sorted[i]);
        return ([.. picked], Enumerable.Repeat((double)(float)Math.Max(increment, 1), picked.Count).ToArray());
    }

    public static (double[] Values, double[] Weights) Merge((double[] Values, double[] Weights) a, (double[] Values, double[] Weights) b, double epsilon)
    {
        var merged = a.Values.Zip(a.Weights).Concat(b.Values.Zip(b.Weights)).OrderBy(p => p.First).ToArray();
        return Compress((merged.Select(p => p.First).ToArray(), merged.Select(p => p.Second).ToArray()), epsilon);
    }

    /// <summary>New bins at cumulative-weight fractions epsilon, 2 epsilon, ..., 1 (numpy's interp); unchanged when already small.</summary>
    public static (double[] Values, double[] Weights) Compress((double[] Values, double[] Weights) s, double epsilon)
    {
        if (s.Values.Length * epsilon < 1) return s;
        int n = (int)Math.Ceiling(1.0 / epsilon);
        var percents = Enumerable.Range(0, n).Select(i => epsilon + i * epsilon).ToArray();
        var cum = new double[s.Weights.Length];
        double total = 0;
        for (int i = 0; i < cum.Length; i++) cum[i] = total += s.Weights[i];
        var fractions = cum.Select(c => c / total).ToArray();
        var bins = percents.Select(p => (double)(float)Interp(p, fractions, s.Values)).ToArray();
        var cumAt = percents.Select(p => Interp(p, fractions, cum)).ToArray();
        var weights = cumAt.Select((c, i) => (double)(float)(c - (i == 0 ? 0 : cumAt[i - 1]))).ToArray();
        return (bins, weights);
    }

    private static double Interp(double x, double[] xp, double[] fp)
    {
        if (x <= xp[0]) return fp[0];
        if (x >= xp[^1]) return fp[^1];
        int hi = Array.BinarySearch(xp, x);
        if (hi >= 0) return fp[hi];
        hi = ~hi;
        int lo = hi - 1;
        return fp[lo] + (fp[hi] - fp[lo]) * (x - xp[lo]) / (xp[hi] - xp[lo]);
    }
}
