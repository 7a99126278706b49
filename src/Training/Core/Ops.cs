using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxKeras;

/// <summary>
/// The backend-neutral operations that layers, losses and metrics compute with (Keras's <c>keras.ops</c>).
/// Every op here has Keras's semantics; the eager implementation runs on TorchSharp. A layer written only
/// with these ops needs no backend-specific code.
/// </summary>
/// <example><code>KTensor y = Ops.Relu(Ops.MatMul(x, kernel) + bias);</code></example>
public static partial class Ops
{
    /// <summary>
    /// Runs an op: computes it eagerly and, when an input is traced (ONNX export), reports it to the tracer, which returns
    /// a traced result. With no traced input (the training path, or constants during export) it is a plain eager op.
    /// </summary>
    private static KTensor Emit(string op, KTensor[] inputs, Func<Tensor> eager, Func<Dictionary<string, object?>>? attributes = null)
    {
        IOpTracer? tracer = null;
        foreach (var t in inputs)
        {
            if (t.Tracer is not null)
            {
                tracer = t.Tracer;
                break;
            }
        }
        var result = eager();
        return tracer is null ? new KTensor(result) : tracer.Record(op, inputs, result, attributes?.Invoke());
    }

    private static KTensor Emit(string op, IReadOnlyList<KTensor> inputs, Func<Tensor> eager, Func<Dictionary<string, object?>>? attributes = null) =>
        Emit(op, inputs.ToArray(), eager, attributes);

    // ---- arithmetic -------------------------------------------------------------------------------

    /// <summary>Elementwise <c>a + b</c> with broadcasting.</summary>
    public static KTensor Add(KTensor a, KTensor b) => Emit(nameof(Add), [a, b], () => a.Value + b.Value);

    /// <summary>Elementwise <c>a - b</c> with broadcasting.</summary>
    public static KTensor Subtract(KTensor a, KTensor b) => Emit(nameof(Subtract), [a, b], () => a.Value - b.Value);

    /// <summary>Elementwise <c>a * b</c> with broadcasting.</summary>
    public static KTensor Multiply(KTensor a, KTensor b) => Emit(nameof(Multiply), [a, b], () => a.Value * b.Value);

    /// <summary>Elementwise <c>a / b</c> with broadcasting.</summary>
    public static KTensor Divide(KTensor a, KTensor b) => Emit(nameof(Divide), [a, b], () => a.Value / b.Value);

    /// <summary><c>a * s</c> for a constant s.</summary>
    public static KTensor Scale(KTensor a, double s) => Emit(nameof(Scale), [a], () => a.Value * s, () => new Dictionary<string, object?> { ["scalar"] = s });

    /// <summary><c>a + s</c> for a constant s.</summary>
    public static KTensor AddScalar(KTensor a, double s) => Emit(nameof(AddScalar), [a], () => a.Value + s, () => new Dictionary<string, object?> { ["scalar"] = s });

    /// <summary><c>-a</c>.</summary>
    public static KTensor Negative(KTensor a) => Emit(nameof(Negative), [a], () => -a.Value);

    /// <summary>Elementwise maximum.</summary>
    public static KTensor Maximum(KTensor a, KTensor b) => Emit(nameof(Maximum), [a, b], () => torch.maximum(a.Value, b.Value));

    /// <summary>Elementwise minimum.</summary>
    public static KTensor Minimum(KTensor a, KTensor b) => Emit(nameof(Minimum), [a, b], () => torch.minimum(a.Value, b.Value));

    /// <summary>Matrix product with NumPy broadcasting rules.</summary>
    public static KTensor MatMul(KTensor a, KTensor b) => Emit(nameof(MatMul), [a, b], () => torch.matmul(a.Value, b.Value));

    /// <summary>
    /// <c>x @ kernel + bias</c> with kernel in Keras's [in, out] layout (one fused op for rank-2 input;
    /// ONNX Gemm).
    /// </summary>
    public static KTensor Linear(KTensor x, KTensor kernel, KTensor? bias)
    {
        if (bias is null) return Emit(nameof(Linear), [x, kernel], () => torch.matmul(x.Value, kernel.Value));
        return Emit(nameof(Linear), [x, kernel, bias], () =>
            x.Rank == 2 ? torch.addmm(bias.Value, x.Value, kernel.Value, 1, 1) : torch.matmul(x.Value, kernel.Value) + bias.Value);
    }

    // ---- elementwise math -------------------------------------------------------------------------

    /// <summary><c>|x|</c>.</summary>
    public static KTensor Abs(KTensor x) => Emit(nameof(Abs), [x], () => x.Value.abs());

    /// <summary><c>x^2</c>.</summary>
    public static KTensor Square(KTensor x) => Emit(nameof(Square), [x], () => x.Value.square());

    /// <summary><c>sqrt(x)</c>.</summary>
    public static KTensor Sqrt(KTensor x) => Emit(nameof(Sqrt), [x], () => x.Value.sqrt());

    /// <summary><c>exp(x)</c>.</summary>
    public static KTensor Exp(KTensor x) => Emit(nameof(Exp), [x], () => x.Value.exp());

    /// <summary>Natural logarithm.</summary>
    public static KTensor Log(KTensor x) => Emit(nameof(Log), [x], () => x.Value.log());

    /// <summary><c>log(1 + x)</c>.</summary>
    public static KTensor Log1p(KTensor x) => Emit(nameof(Log1p), [x], () => x.Value.log1p());

    /// <summary><c>x^p</c>.</summary>
    public static KTensor Power(KTensor x, double p) => Emit(nameof(Power), [x], () => x.Value.pow(p), () => new Dictionary<string, object?> { ["exponent"] = p });

    /// <summary>Clips to [min, max].</summary>
    public static KTensor Clip(KTensor x, double min, double max) => Emit(nameof(Clip), [x], () => ClampEager(x.Value, min, max), () => new Dictionary<string, object?> { ["min"] = min, ["max"] = max });

    /// <summary>libtorch's clamp with bounds beyond float32's range (e.g. infinity) treated as no bound.</summary>
    private static Tensor ClampEager(Tensor x, double min, double max)
    {
        bool hasMin = min > float.MinValue, hasMax = max < float.MaxValue;
        if (hasMin && hasMax) return x.clamp(min, max);
        if (hasMin) return x.clamp_min(min);
        return hasMax ? x.clamp_max(max) : x.alias();
    }

    /// <summary>Sign of x (-1, 0, 1).</summary>
    public static KTensor Sign(KTensor x) => Emit(nameof(Sign), [x], () => x.Value.sign());

    /// <summary>Picks <paramref name="a"/> where <paramref name="condition"/> is true, else <paramref name="b"/>.</summary>
    public static KTensor Where(KTensor condition, KTensor a, KTensor b) => Emit(nameof(Where), [condition, a, b], () => torch.where(condition.Value, a.Value, b.Value));

    /// <summary>Casts to float32.</summary>
    public static KTensor CastFloat(KTensor x) => Emit(nameof(CastFloat), [x], () => x.Value.to_type(ScalarType.Float32));

    // ---- activations ------------------------------------------------------------------------------

    /// <summary><c>max(x, 0)</c>.</summary>
    public static KTensor Relu(KTensor x) => Emit(nameof(Relu), [x], () => F.relu(x.Value));

    /// <summary>Logistic sigmoid <c>1 / (1 + exp(-x))</c>.</summary>
    public static KTensor Sigmoid(KTensor x) => Emit(nameof(Sigmoid), [x], () => torch.sigmoid(x.Value));

    /// <summary>Hyperbolic tangent.</summary>
    public static KTensor Tanh(KTensor x) => Emit(nameof(Tanh), [x], () => torch.tanh(x.Value));

    /// <summary>Softmax along <paramref name="axis"/> (default last).</summary>
    public static KTensor Softmax(KTensor x, int axis = -1) => Emit(nameof(Softmax), [x], () => F.softmax(x.Value, axis), () => new Dictionary<string, object?> { ["axis"] = axis });

    /// <summary>Log-softmax along <paramref name="axis"/> (default last).</summary>
    public static KTensor LogSoftmax(KTensor x, int axis = -1) => Emit(nameof(LogSoftmax), [x], () => F.log_softmax(x.Value, axis), () => new Dictionary<string, object?> { ["axis"] = axis });

    /// <summary><c>x</c> for x &gt; 0, else <c>alpha * (exp(x) - 1)</c>.</summary>
    public static KTensor Elu(KTensor x, double alpha = 1.0) => Emit(nameof(Elu), [x], () => F.elu(x.Value, alpha), () => new Dictionary<string, object?> { ["alpha"] = alpha });

    /// <summary>Scaled ELU with Klambauer et al.'s constants (alpha 1.67326324, scale 1.05070098).</summary>
    public static KTensor Selu(KTensor x) => Emit(nameof(Selu), [x], () => F.selu(x.Value));

    /// <summary>GELU: exact <c>0.5 x (1 + erf(x / sqrt 2))</c>, or the tanh approximation.</summary>
    public static KTensor Gelu(KTensor x, bool approximate = false) => Emit(nameof(Gelu), [x],
        () => approximate ? F.gelu(x.Value, TorchSharp.Modules.GELU.Approximate.tanh, false) : F.gelu(x.Value),
        () => new Dictionary<string, object?> { ["approximate"] = approximate });

    /// <summary>Swish / SiLU: <c>x * sigmoid(x)</c>.</summary>
    public static KTensor Silu(KTensor x) => Emit(nameof(Silu), [x], () => F.silu(x.Value));

    /// <summary><c>log(exp(x) + 1)</c>.</summary>
    public static KTensor Softplus(KTensor x) => Emit(nameof(Softplus), [x], () => F.softplus(x.Value, 1, 20));

    /// <summary><c>x / (|x| + 1)</c>.</summary>
    public static KTensor Softsign(KTensor x) => Emit(nameof(Softsign), [x], () => F.softsign(x.Value));

    /// <summary><c>x</c> for x &gt;= 0, else <c>negativeSlope * x</c>.</summary>
    public static KTensor LeakyRelu(KTensor x, double negativeSlope = 0.2) => Emit(nameof(LeakyRelu), [x], () => F.leaky_relu(x.Value, negativeSlope), () => new Dictionary<string, object?> { ["alpha"] = negativeSlope });

    /// <summary>Keras 3's hard sigmoid <c>clip(x / 6 + 0.5, 0, 1)</c>.</summary>
    public static KTensor HardSigmoid(KTensor x) => Emit(nameof(HardSigmoid), [x], () => F.hardsigmoid(x.Value));

    // ---- shape ------------------------------------------------------------------------------------

    /// <summary>Reshapes; -1 infers one dimension.</summary>
    public static KTensor Reshape(KTensor x, params long[] shape) => Emit(nameof(Reshape), [x], () => x.Value.reshape(shape), () => new Dictionary<string, object?> { ["shape"] = shape });

    /// <summary>Flattens every dimension after the first: [N, ...] to [N, prod(...)].</summary>
    public static KTensor Flatten(KTensor x) => Emit(nameof(Flatten), [x], () => x.Value.flatten(1));

    /// <summary>Permutes dimensions.</summary>
    public static KTensor Transpose(KTensor x, params long[] axes) => Emit(nameof(Transpose), [x], () => x.Value.permute(axes), () => new Dictionary<string, object?> { ["perm"] = axes });

    /// <summary>Concatenates along <paramref name="axis"/>.</summary>
    public static KTensor Concatenate(IReadOnlyList<KTensor> xs, int axis = -1) => Emit(nameof(Concatenate), xs, () => torch.cat(xs.Select(t => t.Value).ToArray(), axis), () => new Dictionary<string, object?> { ["axis"] = axis });

    // ---- reductions -------------------------------------------------------------------------------

    /// <summary>Sum over <paramref name="axis"/> (all axes when null).</summary>
    public static KTensor Sum(KTensor x, int? axis = null, bool keepDims = false) => Emit(nameof(Sum), [x],
        () => axis is int a ? x.Value.sum(a, keepDims) : x.Value.sum(),
        () => new Dictionary<string, object?> { ["axis"] = axis, ["keepdims"] = keepDims });

    /// <summary>Mean over <paramref name="axis"/> (all axes when null).</summary>
    public static KTensor Mean(KTensor x, int? axis = null, bool keepDims = false) => Emit(nameof(Mean), [x],
        () => axis is int a ? x.Value.mean([a], keepDims) : x.Value.mean(),
        () => new Dictionary<string, object?> { ["axis"] = axis, ["keepdims"] = keepDims });

    /// <summary>Maximum over <paramref name="axis"/>.</summary>
    public static KTensor Max(KTensor x, int axis, bool keepDims = false) => Emit(nameof(Max), [x], () => x.Value.amax([axis], keepDims), () => new Dictionary<string, object?> { ["axis"] = axis, ["keepdims"] = keepDims });

    /// <summary>Minimum over <paramref name="axis"/>.</summary>
    public static KTensor Min(KTensor x, int axis, bool keepDims = false) => Emit(nameof(Min), [x], () => x.Value.amin([axis], keepDims), () => new Dictionary<string, object?> { ["axis"] = axis, ["keepdims"] = keepDims });

    /// <summary>Index of the maximum over <paramref name="axis"/>.</summary>
    public static KTensor ArgMax(KTensor x, int axis = -1) => Emit(nameof(ArgMax), [x], () => x.Value.argmax(axis, false), () => new Dictionary<string, object?> { ["axis"] = axis });
}
