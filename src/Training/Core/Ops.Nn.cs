using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxKeras;

// keras.ops.nn: activations, softmax, the dense product, moments and normalization, and the zero state of recurrent layers.
// Convolution and pooling are in Ops.Nn.Convolution.cs.
public static partial class Ops
{
    /// <summary>
    /// <c>x @ kernel + bias</c> with kernel in Keras's [in, out] layout (one fused op for rank-2 input;
    /// ONNX Gemm).
    /// </summary>
    public static KTensor Linear(KTensor x, KTensor kernel, KTensor? bias)
    {
        if (bias is null) return Emit(new LinearOp(), [x, kernel], () => torch.matmul(x.Value, kernel.Value));
        return Emit(new LinearOp(), [x, kernel, bias], () =>
            x.Rank == 2 ? torch.addmm(bias.Value, x.Value, kernel.Value, 1, 1) : torch.matmul(x.Value, kernel.Value) + bias.Value);
    }

    // ---- activations ------------------------------------------------------------------------------

    /// <summary><c>max(x, 0)</c>.</summary>
    public static KTensor Relu(KTensor x) => Emit(new ReluOp(), [x], () => F.relu(x.Value));

    /// <summary>
    /// Keras's generalized ReLU (<c>keras.activations.relu</c>):
    /// <c>min(x * [x &gt; threshold], maxValue) - negativeSlope * relu(threshold - x)</c>, that is <c>min(x, maxValue)</c>
    /// above the threshold and <c>negativeSlope * (x - threshold)</c> at or below it.
    /// </summary>
    public static KTensor Relu(KTensor x, double negativeSlope, double? maxValue, double threshold)
    {
        if (negativeSlope == 0 && maxValue is null && threshold == 0) return Relu(x);
        if (negativeSlope != 0 && maxValue is null && threshold == 0) return LeakyRelu(x, negativeSlope);
        return Emit(new GeneralizedReluOp(negativeSlope, maxValue, threshold), [x], () =>
        {
            var v = x.Value;
            var positive = threshold != 0 ? v * v.gt(threshold).to_type(v.dtype) : F.relu(v);
            if (maxValue is double m) positive = positive.clamp(0.0, m);
            if (negativeSlope != 0) positive = positive - F.relu(v.neg().add(threshold)) * negativeSlope;
            return positive;
        });
    }

    /// <summary>Parametric ReLU (Keras's <c>PReLU</c>): <c>relu(x) - alpha * relu(-x)</c> with <paramref name="alpha"/> broadcast against x.</summary>
    public static KTensor Prelu(KTensor x, KTensor alpha) => Emit(new PreluOp(), [x, alpha], () => F.relu(x.Value) - alpha.Value * F.relu(x.Value.neg()));

    /// <summary><c>x</c> for x &gt;= 0, else <c>negativeSlope * x</c>.</summary>
    public static KTensor LeakyRelu(KTensor x, double negativeSlope = 0.2) =>
        Emit(new LeakyReluOp(negativeSlope), [x], () =>
        {
            using Scalar slope = negativeSlope;
            return x.Value.leaky_relu(slope);
        });

    /// <summary>Logistic sigmoid <c>1 / (1 + exp(-x))</c>.</summary>
    public static KTensor Sigmoid(KTensor x) => Emit(new SigmoidOp(), [x], () => torch.sigmoid(x.Value));

    /// <summary>Keras 3's hard sigmoid <c>clip(x / 6 + 0.5, 0, 1)</c>.</summary>
    public static KTensor HardSigmoid(KTensor x) => Emit(new HardSigmoidOp(), [x], () => F.hardsigmoid(x.Value));

    /// <summary>Softmax along <paramref name="axis"/> (default last).</summary>
    public static KTensor Softmax(KTensor x, int axis = -1) => Emit(new SoftmaxOp([axis]), [x], () => F.softmax(x.Value, axis));

    /// <summary>Softmax jointly over several <paramref name="axes"/>: <c>exp(x - logsumexp(x, axes))</c>.</summary>
    public static KTensor Softmax(KTensor x, IReadOnlyList<int> axes)
    {
        if (axes.Count == 1) return Softmax(x, axes[0]);
        var dims = axes.Select(a => (long)a).ToArray();
        return Emit(new SoftmaxOp(dims), [x], () =>
        {
            var shifted = x.Value - x.Value.amax(dims, keepdim: true).detach();
            var e = shifted.exp();
            return e / e.sum(dims, keepdim: true);
        });
    }

    /// <summary>Log-softmax along <paramref name="axis"/> (default last).</summary>
    public static KTensor LogSoftmax(KTensor x, int axis = -1) => Emit(new LogSoftmaxOp(axis), [x], () => F.log_softmax(x.Value, axis));

    /// <summary><c>x</c> for x &gt; 0, else <c>alpha * (exp(x) - 1)</c>.</summary>
    public static KTensor Elu(KTensor x, double alpha = 1.0) => Emit(new EluOp(alpha), [x], () => F.elu(x.Value, alpha));

    /// <summary>Scaled ELU with Klambauer et al.'s constants (alpha 1.67326324, scale 1.05070098).</summary>
    public static KTensor Selu(KTensor x) => Emit(new SeluOp(), [x], () => F.selu(x.Value));

    /// <summary>GELU: exact <c>0.5 x (1 + erf(x / sqrt 2))</c>, or the tanh approximation.</summary>
    public static KTensor Gelu(KTensor x, bool approximate = false) => Emit(new GeluOp(approximate), [x],
        () => approximate ? F.gelu(x.Value, TorchSharp.Modules.GELU.Approximate.tanh, false) : F.gelu(x.Value));

    /// <summary>Swish / SiLU: <c>x * sigmoid(x)</c>.</summary>
    public static KTensor Silu(KTensor x) => Emit(new SiluOp(), [x], () => F.silu(x.Value));

    /// <summary><c>log(exp(x) + 1)</c>.</summary>
    public static KTensor Softplus(KTensor x) => Emit(new SoftplusOp(), [x], () => F.softplus(x.Value, 1, 20));

    /// <summary><c>x / (|x| + 1)</c>.</summary>
    public static KTensor Softsign(KTensor x) => Emit(new SoftsignOp(), [x], () => F.softsign(x.Value));

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
        // Two traced results from one eager computation: each is its own op (ONNX: ReduceMean, and the variance formula).
        var m = Emit(new MomentsMeanOp(dims, keepDims), [x], () =>
        {
            Compute();
            return mean!;
        });
        var v = Emit(new MomentsVarianceOp(dims, keepDims), [x], () =>
        {
            Compute();
            return variance!;
        });
        return (m, v);
    }

    /// <summary>
    /// Keras's <c>ops.batch_normalization</c>: <c>(x - mean) * (rsqrt(variance + epsilon) * scale) + offset</c>, where
    /// <paramref name="mean"/>, <paramref name="variance"/>, <paramref name="offset"/> and <paramref name="scale"/> are
    /// vectors of size <c>x.shape[axis]</c> broadcast along <paramref name="axis"/>.
    /// </summary>
    public static KTensor BatchNormalization(KTensor x, KTensor mean, KTensor variance, int axis, KTensor? offset = null, KTensor? scale = null,
        double epsilon = 1e-3)
    {
        int rank = x.Rank;
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentException($"BatchNormalization: axis {axis} is out of range for input of rank {rank}.");
        KTensor[] inputs = [x, mean, variance, .. offset is null ? Array.Empty<KTensor>() : [offset], .. scale is null ? Array.Empty<KTensor>() : [scale]];
        return Emit(new BatchNormalizationOp(a, epsilon, offset is not null, scale is not null), inputs, () =>
        {
            var shape = Enumerable.Repeat(1L, rank).ToArray();
            shape[a] = -1;
            using Scalar eps = epsilon; // disposed now, not at a collection (docs/training.md, "Memory between collections")
            var inv = variance.Value.reshape(shape).add(eps, Scalars.One).rsqrt();
            if (scale is not null) inv = inv * scale.Value.reshape(shape);
            var y = (x.Value - mean.Value.reshape(shape)) * inv;
            return offset is null ? y : y.add(offset.Value.reshape(shape), Scalars.One);
        });
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
        var op = new LayerNormalizationOp(sorted.Select(a => (long)a).ToArray(), epsilon, rmsScaling, gamma is not null, beta is not null);
        return Emit(op, inputs, () => LayerNormalizationEager(x.Value, gamma?.Value, beta?.Value, sorted, epsilon, rmsScaling));
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

    // ---- recurrent layers -------------------------------------------------------------------------

    /// <summary>A zero state [batch, <paramref name="units"/>] with the batch size, dtype and device of <paramref name="like"/> (batch on axis 0).</summary>
    public static KTensor ZeroState(KTensor like, long units) =>
        Emit(new ZeroStateOp(units), [like], () => torch.zeros([like.Value.shape[0], units], like.Value.dtype, like.Value.device));
}

/// <summary><see cref="Ops.Linear"/>: inputs x, kernel and an optional bias.</summary>
internal sealed record LinearOp : OpInfo;
/// <summary><see cref="Ops.Relu(KTensor)"/>.</summary>
internal sealed record ReluOp : OpInfo;
/// <summary><see cref="Ops.Relu(KTensor, double, double?, double)"/> with a threshold, a maximum or both.</summary>
internal sealed record GeneralizedReluOp(double NegativeSlope, double? MaxValue, double Threshold) : OpInfo;
/// <summary><see cref="Ops.Prelu"/>.</summary>
internal sealed record PreluOp : OpInfo;
/// <summary><see cref="Ops.LeakyRelu"/>.</summary>
internal sealed record LeakyReluOp(double NegativeSlope) : OpInfo;
/// <summary><see cref="Ops.Sigmoid"/>.</summary>
internal sealed record SigmoidOp : OpInfo;
/// <summary><see cref="Ops.HardSigmoid"/> (Keras 3's slope 1/6).</summary>
internal sealed record HardSigmoidOp : OpInfo;
/// <summary><see cref="Ops.Softmax(KTensor, int)"/> (one axis) or jointly over several axes.</summary>
internal sealed record SoftmaxOp(long[] Axes) : OpInfo;
/// <summary><see cref="Ops.LogSoftmax"/>.</summary>
internal sealed record LogSoftmaxOp(int Axis) : OpInfo;
/// <summary><see cref="Ops.Elu"/>.</summary>
internal sealed record EluOp(double Alpha) : OpInfo;
/// <summary><see cref="Ops.Selu"/>.</summary>
internal sealed record SeluOp : OpInfo;
/// <summary><see cref="Ops.Gelu"/>.</summary>
internal sealed record GeluOp(bool Approximate) : OpInfo;
/// <summary><see cref="Ops.Silu"/>.</summary>
internal sealed record SiluOp : OpInfo;
/// <summary><see cref="Ops.Softplus"/>.</summary>
internal sealed record SoftplusOp : OpInfo;
/// <summary><see cref="Ops.Softsign"/>.</summary>
internal sealed record SoftsignOp : OpInfo;
/// <summary>The mean of <see cref="Ops.Moments"/>.</summary>
internal sealed record MomentsMeanOp(long[] Axes, bool KeepDims) : OpInfo;
/// <summary>The biased variance of <see cref="Ops.Moments"/>.</summary>
internal sealed record MomentsVarianceOp(long[] Axes, bool KeepDims) : OpInfo;
/// <summary><see cref="Ops.BatchNormalization"/>: inputs x, mean, variance, then offset and scale where present; a non-negative axis.</summary>
internal sealed record BatchNormalizationOp(int Axis, double Epsilon, bool HasOffset, bool HasScale) : OpInfo;
/// <summary><see cref="Ops.LayerNormalization"/>: inputs x, then gamma and beta where present; sorted non-negative axes.</summary>
internal sealed record LayerNormalizationOp(long[] Axes, double Epsilon, bool RmsScaling, bool HasGamma, bool HasBeta) : OpInfo;
/// <summary><see cref="Ops.ZeroState"/>.</summary>
internal sealed record ZeroStateOp(long Units) : OpInfo;
