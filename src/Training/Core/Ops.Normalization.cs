using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxKeras;

// Ops for the normalization family and the other layers of this family (activation layers, Embedding, noise).
public static partial class Ops
{
    // ---- normalization ----------------------------------------------------------------------------

    /// <summary>
    /// Mean and <b>biased</b> variance (divided by the number of elements, not n - 1) over <paramref name="axes"/>
    /// (Keras's <c>ops.moments</c>).
    /// </summary>
    public static (KTensor Mean, KTensor Variance) Moments(KTensor x, IReadOnlyList<int> axes, bool keepDims = false)
    {
        var dims = axes.Select(a => (long)a).ToArray();
        Tensor? mean = null, variance = null;
        void Compute()
        {
            if (mean is null) (variance, mean) = x.Value.var_mean(dims, unbiased: false, keepdim: keepDims);
        }
        Dictionary<string, object?> Attributes() => new() { ["axes"] = dims, ["keepdims"] = keepDims };
        // Two traced results from one eager computation: each is its own op (ONNX: ReduceMean, and the variance formula).
        var m = Emit(nameof(Moments) + "Mean", [x], () =>
        {
            Compute();
            return mean!;
        }, Attributes);
        var v = Emit(nameof(Moments) + "Variance", [x], () =>
        {
            Compute();
            return variance!;
        }, Attributes);
        return (m, v);
    }

    /// <summary>
    /// Keras's <c>ops.batch_normalization</c>: <c>(x - mean) * (rsqrt(variance + epsilon) * scale) + offset</c>, where
    /// <paramref name="mean"/>, <paramref name="variance"/>, <paramref name="offset"/> and <paramref name="scale"/> are
    /// vectors of size <c>x.shape[axis]</c> broadcast along <paramref name="axis"/>.
    /// </summary>
    public static KTensor BatchNormalization(KTensor x, KTensor mean, KTensor variance, int axis, KTensor? offset = null, KTensor? scale = null, double epsilon = 1e-3)
    {
        int rank = x.Rank;
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentException($"BatchNormalization: axis {axis} is out of range for input of rank {rank}.");
        KTensor[] inputs = [x, mean, variance, .. offset is null ? Array.Empty<KTensor>() : [offset], .. scale is null ? Array.Empty<KTensor>() : [scale]];
        return Emit(nameof(BatchNormalization), inputs, () =>
        {
            var shape = Enumerable.Repeat(1L, rank).ToArray();
            shape[a] = -1;
            var inv = (variance.Value.reshape(shape) + epsilon).rsqrt();
            if (scale is not null) inv = inv * scale.Value.reshape(shape);
            var y = (x.Value - mean.Value.reshape(shape)) * inv;
            return offset is null ? y : y + offset.Value.reshape(shape);
        }, () => new Dictionary<string, object?> { ["axis"] = a, ["epsilon"] = epsilon, ["has_offset"] = offset is not null, ["has_scale"] = scale is not null });
    }

    /// <summary>
    /// Keras's <c>ops.layer_normalization</c> over <paramref name="axes"/>: <c>(x - mean) * rsqrt(variance + epsilon) * gamma + beta</c>
    /// with the biased variance. <paramref name="gamma"/> and <paramref name="beta"/> have the sizes of the normalized axes and
    /// are reshaped (as Keras does) to broadcast against x. With <paramref name="rmsScaling"/>, Keras's variant
    /// <c>x * rsqrt(variance + epsilon) * gamma</c> (no centering, beta unused).
    /// </summary>
    public static KTensor LayerNormalization(KTensor x, KTensor? gamma, KTensor? beta, IReadOnlyList<int> axes, double epsilon = 1e-3, bool rmsScaling = false)
    {
        int rank = x.Rank;
        var sorted = axes.Select(a => a < 0 ? a + rank : a).Order().ToArray();
        if (sorted.Length == 0 || sorted[0] < 0 || sorted[^1] >= rank || sorted.Distinct().Count() != sorted.Length)
            throw new ArgumentException($"LayerNormalization: axes ({string.Join(", ", axes)}) are not valid distinct axes for input of rank {rank}.");
        KTensor[] inputs = [x, .. gamma is null ? Array.Empty<KTensor>() : [gamma], .. beta is null ? Array.Empty<KTensor>() : [beta]];
        return Emit(nameof(LayerNormalization), inputs, () => LayerNormalizationEager(x.Value, gamma?.Value, beta?.Value, sorted, epsilon, rmsScaling),
            () => new Dictionary<string, object?>
            {
                ["axes"] = sorted.Select(a => (long)a).ToArray(),
                ["epsilon"] = epsilon,
                ["rms_scaling"] = rmsScaling,
                ["has_gamma"] = gamma is not null,
                ["has_beta"] = beta is not null,
            });
    }

    private static Tensor LayerNormalizationEager(Tensor v, Tensor? gamma, Tensor? beta, int[] sorted, double epsilon, bool rmsScaling)
    {
        int rank = (int)v.dim();
        var broadcast = Enumerable.Repeat(1L, rank).ToArray();
        foreach (var a in sorted) broadcast[a] = v.shape[a];
        var dims = sorted.Select(a => (long)a).ToArray();
        if (rmsScaling)
        {
            var variance = v.var(dims, unbiased: false, keepdim: true);
            var outputs = v * (variance + epsilon).rsqrt();
            return gamma is null ? outputs : outputs * gamma.reshape(broadcast);
        }
        bool trailing = sorted.Select((a, i) => a == rank - sorted.Length + i).All(b => b);
        if (trailing)
        {
            // The fused kernel Keras's torch backend also uses for contiguous trailing axes.
            var normalized = dims.Select(a => v.shape[a]).ToArray();
            return F.layer_norm(v, normalized, gamma?.reshape(normalized), beta?.reshape(normalized), epsilon);
        }
        var (variance2, mean) = v.var_mean(dims, unbiased: false, keepdim: true);
        var inv = (variance2 + epsilon).rsqrt();
        if (gamma is not null) inv = inv * gamma.reshape(broadcast);
        var res = -mean * inv;
        if (beta is not null) res = res + beta.reshape(broadcast);
        return v * inv + res;
    }

    // ---- activation layers ------------------------------------------------------------------------

    /// <summary>
    /// Keras's generalized ReLU (<c>keras.activations.relu</c>):
    /// <c>min(x * [x &gt; threshold], maxValue) - negativeSlope * relu(threshold - x)</c>, that is <c>min(x, maxValue)</c>
    /// above the threshold and <c>negativeSlope * (x - threshold)</c> at or below it.
    /// </summary>
    public static KTensor Relu(KTensor x, double negativeSlope, double? maxValue, double threshold)
    {
        if (negativeSlope == 0 && maxValue is null && threshold == 0) return Relu(x);
        if (negativeSlope != 0 && maxValue is null && threshold == 0) return LeakyRelu(x, negativeSlope);
        return Emit(nameof(Relu) + "Extended", [x], () =>
        {
            var v = x.Value;
            var positive = threshold != 0 ? v * v.gt(threshold).to_type(v.dtype) : F.relu(v);
            if (maxValue is double m) positive = positive.clamp(0.0, m);
            if (negativeSlope != 0) positive = positive - F.relu(v.neg().add(threshold)) * negativeSlope;
            return positive;
        }, () => new Dictionary<string, object?> { ["negative_slope"] = negativeSlope, ["max_value"] = maxValue, ["threshold"] = threshold });
    }

    /// <summary>Parametric ReLU (Keras's <c>PReLU</c>): <c>relu(x) - alpha * relu(-x)</c> with <paramref name="alpha"/> broadcast against x.</summary>
    public static KTensor Prelu(KTensor x, KTensor alpha) => Emit(nameof(Prelu), [x, alpha], () => F.relu(x.Value) - alpha.Value * F.relu(x.Value.neg()));

    /// <summary>Softmax jointly over several <paramref name="axes"/>: <c>exp(x - logsumexp(x, axes))</c>.</summary>
    public static KTensor Softmax(KTensor x, IReadOnlyList<int> axes)
    {
        if (axes.Count == 1) return Softmax(x, axes[0]);
        var dims = axes.Select(a => (long)a).ToArray();
        return Emit(nameof(Softmax) + "Axes", [x], () =>
        {
            var shifted = x.Value - x.Value.amax(dims, keepdim: true).detach();
            var e = shifted.exp();
            return e / e.sum(dims, keepdim: true);
        }, () => new Dictionary<string, object?> { ["axes"] = dims });
    }

    // ---- embedding --------------------------------------------------------------------------------

    /// <summary>
    /// Gathers slices of <paramref name="x"/> along <paramref name="axis"/> at integer <paramref name="indices"/> (Keras's
    /// <c>ops.take</c>): the result has shape <c>x.shape[:axis] + indices.shape + x.shape[axis+1:]</c>. Indices are cast to int64.
    /// </summary>
    public static KTensor Take(KTensor x, KTensor indices, int axis = 0)
    {
        int rank = x.Rank;
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentException($"Take: axis {axis} is out of range for a tensor of rank {rank}.");
        return Emit(nameof(Take), [x, indices], () =>
        {
            var v = x.Value;
            var idx = indices.Value.dtype == ScalarType.Int64 ? indices.Value : indices.Value.to_type(ScalarType.Int64);
            var gathered = v.index_select(a, idx.flatten());
            long[] shape = [.. v.shape[..a], .. idx.shape, .. v.shape[(a + 1)..]];
            return gathered.reshape(shape);
        }, () => new Dictionary<string, object?> { ["axis"] = a });
    }

    // ---- random -----------------------------------------------------------------------------------

    /// <summary>
    /// Float32 normal noise of <paramref name="shape"/> with <paramref name="mean"/> and <paramref name="stddev"/> on
    /// <paramref name="device"/> (default <see cref="Keras.Device"/>), drawn on the CPU from <paramref name="generator"/>
    /// (default the global generator seeded by <see cref="Keras.SetRandomSeed"/>) so results do not depend on the device.
    /// </summary>
    public static KTensor RandomNormal(long[] shape, double mean = 0.0, double stddev = 1.0, Generator? generator = null, Device? device = null)
    {
        var noise = randn(shape, ScalarType.Float32, CPU, generator: generator ?? Keras.Generator);
        if (stddev != 1.0) noise = noise * stddev;
        if (mean != 0.0) noise = noise + mean;
        var target = device ?? Keras.Device;
        return noise.device == target ? noise : noise.to(target);
    }
}
