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
        var (variance, mean) = x.Value.var_mean(axes.Select(a => (long)a).ToArray(), unbiased: false, keepdim: keepDims);
        return (mean, variance);
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
        var shape = Enumerable.Repeat(1L, rank).ToArray();
        shape[a] = -1;
        var inv = (variance.Value.reshape(shape) + epsilon).rsqrt();
        if (scale is not null) inv = inv * scale.Value.reshape(shape);
        var y = (x.Value - mean.Value.reshape(shape)) * inv;
        return offset is null ? y : y + offset.Value.reshape(shape);
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
        var v = x.Value;
        var broadcast = Enumerable.Repeat(1L, rank).ToArray();
        foreach (var a in sorted) broadcast[a] = v.shape[a];
        var dims = sorted.Select(a => (long)a).ToArray();
        if (rmsScaling)
        {
            var variance = v.var(dims, unbiased: false, keepdim: true);
            var outputs = v * (variance + epsilon).rsqrt();
            return gamma is null ? outputs : outputs * gamma.Value.reshape(broadcast);
        }
        bool trailing = sorted.Select((a, i) => a == rank - sorted.Length + i).All(b => b);
        if (trailing)
        {
            // The fused kernel Keras's torch backend also uses for contiguous trailing axes.
            var normalized = dims.Select(a => v.shape[a]).ToArray();
            return F.layer_norm(v, normalized, gamma?.Value.reshape(normalized), beta?.Value.reshape(normalized), epsilon);
        }
        var (variance2, mean) = v.var_mean(dims, unbiased: false, keepdim: true);
        var inv = (variance2 + epsilon).rsqrt();
        if (gamma is not null) inv = inv * gamma.Value.reshape(broadcast);
        var res = -mean * inv;
        if (beta is not null) res = res + beta.Value.reshape(broadcast);
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
        var v = x.Value;
        if (negativeSlope != 0 && maxValue is null && threshold == 0) return F.leaky_relu(v, negativeSlope);
        var positive = threshold != 0 ? v * v.gt(threshold).to_type(v.dtype) : F.relu(v);
        if (maxValue is double m) positive = positive.clamp(0.0, m);
        if (negativeSlope != 0) positive = positive - F.relu(v.neg().add(threshold)) * negativeSlope;
        return positive;
    }

    /// <summary>Parametric ReLU (Keras's <c>PReLU</c>): <c>relu(x) - alpha * relu(-x)</c> with <paramref name="alpha"/> broadcast against x.</summary>
    public static KTensor Prelu(KTensor x, KTensor alpha) => F.relu(x.Value) - alpha.Value * F.relu(x.Value.neg());

    /// <summary>Softmax jointly over several <paramref name="axes"/>: <c>exp(x - logsumexp(x, axes))</c>.</summary>
    public static KTensor Softmax(KTensor x, IReadOnlyList<int> axes)
    {
        if (axes.Count == 1) return F.softmax(x.Value, axes[0]);
        var dims = axes.Select(a => (long)a).ToArray();
        var shifted = x.Value - x.Value.amax(dims, keepdim: true).detach();
        var e = shifted.exp();
        return e / e.sum(dims, keepdim: true);
    }

    // ---- embedding --------------------------------------------------------------------------------

    /// <summary>
    /// Gathers slices of <paramref name="x"/> along <paramref name="axis"/> at integer <paramref name="indices"/> (Keras's
    /// <c>ops.take</c>): the result has shape <c>x.shape[:axis] + indices.shape + x.shape[axis+1:]</c>. Indices are cast to int64.
    /// </summary>
    public static KTensor Take(KTensor x, KTensor indices, int axis = 0)
    {
        var v = x.Value;
        int rank = (int)v.dim();
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentException($"Take: axis {axis} is out of range for a tensor of rank {rank}.");
        var idx = indices.Value.dtype == ScalarType.Int64 ? indices.Value : indices.Value.to_type(ScalarType.Int64);
        var gathered = v.index_select(a, idx.flatten());
        long[] shape = [.. v.shape[..a], .. idx.shape, .. v.shape[(a + 1)..]];
        return gathered.reshape(shape);
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
