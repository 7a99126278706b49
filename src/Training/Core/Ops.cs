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
    // ---- arithmetic -------------------------------------------------------------------------------

    /// <summary>Elementwise <c>a + b</c> with broadcasting.</summary>
    public static KTensor Add(KTensor a, KTensor b) => a.Value + b.Value;

    /// <summary>Elementwise <c>a - b</c> with broadcasting.</summary>
    public static KTensor Subtract(KTensor a, KTensor b) => a.Value - b.Value;

    /// <summary>Elementwise <c>a * b</c> with broadcasting.</summary>
    public static KTensor Multiply(KTensor a, KTensor b) => a.Value * b.Value;

    /// <summary>Elementwise <c>a / b</c> with broadcasting.</summary>
    public static KTensor Divide(KTensor a, KTensor b) => a.Value / b.Value;

    /// <summary><c>a * s</c> for a constant s.</summary>
    public static KTensor Scale(KTensor a, double s) => a.Value * s;

    /// <summary><c>a + s</c> for a constant s.</summary>
    public static KTensor AddScalar(KTensor a, double s) => a.Value + s;

    /// <summary><c>-a</c>.</summary>
    public static KTensor Negative(KTensor a) => -a.Value;

    /// <summary>Elementwise maximum.</summary>
    public static KTensor Maximum(KTensor a, KTensor b) => torch.maximum(a.Value, b.Value);

    /// <summary>Elementwise minimum.</summary>
    public static KTensor Minimum(KTensor a, KTensor b) => torch.minimum(a.Value, b.Value);

    /// <summary>Matrix product with NumPy broadcasting rules.</summary>
    public static KTensor MatMul(KTensor a, KTensor b) => torch.matmul(a.Value, b.Value);

    /// <summary>
    /// <c>x @ kernel + bias</c> with kernel in Keras's [in, out] layout (one fused op for rank-2 input;
    /// ONNX Gemm).
    /// </summary>
    public static KTensor Linear(KTensor x, KTensor kernel, KTensor? bias)
    {
        if (bias is null) return torch.matmul(x.Value, kernel.Value);
        return x.Rank == 2 ? torch.addmm(bias.Value, x.Value, kernel.Value, 1, 1) : torch.matmul(x.Value, kernel.Value) + bias.Value;
    }

    // ---- elementwise math -------------------------------------------------------------------------

    /// <summary><c>|x|</c>.</summary>
    public static KTensor Abs(KTensor x) => x.Value.abs();

    /// <summary><c>x^2</c>.</summary>
    public static KTensor Square(KTensor x) => x.Value.square();

    /// <summary><c>sqrt(x)</c>.</summary>
    public static KTensor Sqrt(KTensor x) => x.Value.sqrt();

    /// <summary><c>exp(x)</c>.</summary>
    public static KTensor Exp(KTensor x) => x.Value.exp();

    /// <summary>Natural logarithm.</summary>
    public static KTensor Log(KTensor x) => x.Value.log();

    /// <summary><c>log(1 + x)</c>.</summary>
    public static KTensor Log1p(KTensor x) => x.Value.log1p();

    /// <summary><c>x^p</c>.</summary>
    public static KTensor Power(KTensor x, double p) => x.Value.pow(p);

    /// <summary>Clips to [min, max].</summary>
    public static KTensor Clip(KTensor x, double min, double max) => x.Value.clamp(min, max);

    /// <summary>Sign of x (-1, 0, 1).</summary>
    public static KTensor Sign(KTensor x) => x.Value.sign();

    /// <summary>Picks <paramref name="a"/> where <paramref name="condition"/> is true, else <paramref name="b"/>.</summary>
    public static KTensor Where(KTensor condition, KTensor a, KTensor b) => torch.where(condition.Value, a.Value, b.Value);

    /// <summary>Casts to float32.</summary>
    public static KTensor CastFloat(KTensor x) => x.Value.to_type(ScalarType.Float32);

    // ---- activations ------------------------------------------------------------------------------

    /// <summary><c>max(x, 0)</c>.</summary>
    public static KTensor Relu(KTensor x) => F.relu(x.Value);

    /// <summary>Logistic sigmoid <c>1 / (1 + exp(-x))</c>.</summary>
    public static KTensor Sigmoid(KTensor x) => torch.sigmoid(x.Value);

    /// <summary>Hyperbolic tangent.</summary>
    public static KTensor Tanh(KTensor x) => torch.tanh(x.Value);

    /// <summary>Softmax along <paramref name="axis"/> (default last).</summary>
    public static KTensor Softmax(KTensor x, int axis = -1) => F.softmax(x.Value, axis);

    /// <summary>Log-softmax along <paramref name="axis"/> (default last).</summary>
    public static KTensor LogSoftmax(KTensor x, int axis = -1) => F.log_softmax(x.Value, axis);

    /// <summary><c>x</c> for x &gt; 0, else <c>alpha * (exp(x) - 1)</c>.</summary>
    public static KTensor Elu(KTensor x, double alpha = 1.0) => F.elu(x.Value, alpha);

    /// <summary>Scaled ELU with Klambauer et al.'s constants (alpha 1.67326324, scale 1.05070098).</summary>
    public static KTensor Selu(KTensor x) => F.selu(x.Value);

    /// <summary>GELU: exact <c>0.5 x (1 + erf(x / sqrt 2))</c>, or the tanh approximation.</summary>
    public static KTensor Gelu(KTensor x, bool approximate = false) =>
        approximate ? F.gelu(x.Value, TorchSharp.Modules.GELU.Approximate.tanh, false) : F.gelu(x.Value);

    /// <summary>Swish / SiLU: <c>x * sigmoid(x)</c>.</summary>
    public static KTensor Silu(KTensor x) => F.silu(x.Value);

    /// <summary><c>log(exp(x) + 1)</c>.</summary>
    public static KTensor Softplus(KTensor x) => F.softplus(x.Value, 1, 20);

    /// <summary><c>x / (|x| + 1)</c>.</summary>
    public static KTensor Softsign(KTensor x) => F.softsign(x.Value);

    /// <summary><c>x</c> for x &gt;= 0, else <c>negativeSlope * x</c>.</summary>
    public static KTensor LeakyRelu(KTensor x, double negativeSlope = 0.2) => F.leaky_relu(x.Value, negativeSlope);

    /// <summary>Keras 3's hard sigmoid <c>clip(x / 6 + 0.5, 0, 1)</c>.</summary>
    public static KTensor HardSigmoid(KTensor x) => F.hardsigmoid(x.Value);

    // ---- shape ------------------------------------------------------------------------------------

    /// <summary>Reshapes; -1 infers one dimension.</summary>
    public static KTensor Reshape(KTensor x, params long[] shape) => x.Value.reshape(shape);

    /// <summary>Flattens every dimension after the first: [N, ...] to [N, prod(...)].</summary>
    public static KTensor Flatten(KTensor x) => x.Value.flatten(1);

    /// <summary>Permutes dimensions.</summary>
    public static KTensor Transpose(KTensor x, params long[] axes) => x.Value.permute(axes);

    /// <summary>Concatenates along <paramref name="axis"/>.</summary>
    public static KTensor Concatenate(IReadOnlyList<KTensor> xs, int axis = -1) => torch.cat(xs.Select(t => t.Value).ToArray(), axis);

    // ---- reductions -------------------------------------------------------------------------------

    /// <summary>Sum over <paramref name="axis"/> (all axes when null).</summary>
    public static KTensor Sum(KTensor x, int? axis = null, bool keepDims = false) =>
        axis is int a ? x.Value.sum(a, keepDims) : x.Value.sum();

    /// <summary>Mean over <paramref name="axis"/> (all axes when null).</summary>
    public static KTensor Mean(KTensor x, int? axis = null, bool keepDims = false) =>
        axis is int a ? x.Value.mean([a], keepDims) : x.Value.mean();

    /// <summary>Maximum over <paramref name="axis"/>.</summary>
    public static KTensor Max(KTensor x, int axis, bool keepDims = false) => x.Value.amax([axis], keepDims);

    /// <summary>Minimum over <paramref name="axis"/>.</summary>
    public static KTensor Min(KTensor x, int axis, bool keepDims = false) => x.Value.amin([axis], keepDims);

    /// <summary>Index of the maximum over <paramref name="axis"/>.</summary>
    public static KTensor ArgMax(KTensor x, int axis = -1) => x.Value.argmax(axis, false);
}
