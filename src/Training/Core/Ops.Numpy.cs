using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

// keras.ops.numpy: elementwise arithmetic and math, reductions, comparisons and logic.
public static partial class Ops
{
    /// <summary>Elementwise <c>a + b</c> with broadcasting.</summary>
    public static KTensor Add(KTensor a, KTensor b) => Emit(new AddOp(), [a, b], () => a.Value.add(b.Value, Scalars.One)); // a + b, no new Scalar

    /// <summary><c>a + s</c> for a constant s (Keras's <c>ops.add</c> with a scalar).</summary>
    public static KTensor Add(KTensor a, double s) => Emit(new AddScalarOp(s), [a], () =>
    {
        using Scalar v = s; // disposed now, not at a collection (docs/training.md, "Memory between collections")
        return a.Value.add(v, Scalars.One);
    });

    /// <summary>Elementwise <c>a - b</c> with broadcasting.</summary>
    public static KTensor Subtract(KTensor a, KTensor b) => Emit(new SubtractOp(), [a, b], () => a.Value - b.Value);

    /// <summary>Elementwise <c>a * b</c> with broadcasting.</summary>
    public static KTensor Multiply(KTensor a, KTensor b) => Emit(new MultiplyOp(), [a, b], () => a.Value * b.Value);

    /// <summary><c>a * s</c> for a constant s (Keras's <c>ops.multiply</c> with a scalar).</summary>
    public static KTensor Multiply(KTensor a, double s) => Emit(new MultiplyScalarOp(s), [a], () =>
    {
        using Scalar v = s;
        return a.Value.mul(v);
    });

    /// <summary>Elementwise <c>a / b</c> with broadcasting.</summary>
    public static KTensor Divide(KTensor a, KTensor b) => Emit(new DivideOp(), [a, b], () => a.Value / b.Value);

    /// <summary><c>-a</c>.</summary>
    public static KTensor Negative(KTensor a) => Emit(new NegativeOp(), [a], () => -a.Value);

    /// <summary>Elementwise maximum.</summary>
    public static KTensor Maximum(KTensor a, KTensor b) => Emit(new MaximumOp(), [a, b], () => torch.maximum(a.Value, b.Value));

    /// <summary>Elementwise minimum.</summary>
    public static KTensor Minimum(KTensor a, KTensor b) => Emit(new MinimumOp(), [a, b], () => torch.minimum(a.Value, b.Value));

    /// <summary>Matrix product with NumPy broadcasting rules.</summary>
    public static KTensor MatMul(KTensor a, KTensor b) => Emit(new MatMulOp(), [a, b], () => torch.matmul(a.Value, b.Value));

    /// <summary><c>|x|</c>.</summary>
    public static KTensor Abs(KTensor x) => Emit(new AbsOp(), [x], () => x.Value.abs());

    /// <summary><c>x^2</c>.</summary>
    public static KTensor Square(KTensor x) => Emit(new SquareOp(), [x], () => x.Value.pow(Scalars.Two));

    /// <summary><c>sqrt(x)</c>.</summary>
    public static KTensor Sqrt(KTensor x) => Emit(new SqrtOp(), [x], () => x.Value.sqrt());

    /// <summary><c>exp(x)</c>.</summary>
    public static KTensor Exp(KTensor x) => Emit(new ExpOp(), [x], () => x.Value.exp());

    /// <summary>Natural logarithm.</summary>
    public static KTensor Log(KTensor x) => Emit(new LogOp(), [x], () => x.Value.log());

    /// <summary><c>log(1 + x)</c>.</summary>
    public static KTensor Log1p(KTensor x) => Emit(new Log1pOp(), [x], () => x.Value.log1p());

    /// <summary><c>x^p</c>.</summary>
    public static KTensor Power(KTensor x, double p) => Emit(new PowerOp(p), [x], () => x.Value.pow(p));

    /// <summary>Hyperbolic tangent.</summary>
    public static KTensor Tanh(KTensor x) => Emit(new TanhOp(), [x], () => torch.tanh(x.Value));

    /// <summary>Clips to [min, max].</summary>
    public static KTensor Clip(KTensor x, double min, double max) => Emit(new ClipOp(min, max), [x], () => ClampEager(x.Value, min, max));

    /// <summary>libtorch's clamp with bounds beyond float32's range (e.g. infinity) treated as no bound.</summary>
    private static Tensor ClampEager(Tensor x, double min, double max)
    {
        bool hasMin = min > float.MinValue, hasMax = max < float.MaxValue;
        using Scalar low = min, high = max;
        if (hasMin && hasMax) return x.clamp(low, high);
        if (hasMin) return x.clamp_min(low);
        return hasMax ? x.clamp_max(high) : x.alias();
    }

    /// <summary>Sign of x (-1, 0, 1).</summary>
    public static KTensor Sign(KTensor x) => Emit(new SignOp(), [x], () => x.Value.sign());

    /// <summary>Picks <paramref name="a"/> where <paramref name="condition"/> is true, else <paramref name="b"/>.</summary>
    public static KTensor Where(KTensor condition, KTensor a, KTensor b) =>
        Emit(new WhereOp(), [condition, a, b], () => torch.where(condition.Value, a.Value, b.Value));

    // ---- comparisons and logic (masks) ----------------------------------------------------------

    /// <summary>Elementwise <c>x != value</c> as a boolean tensor (Keras's <c>ops.not_equal</c> with a scalar).</summary>
    public static KTensor NotEqual(KTensor x, double value) => Emit(new NotEqualOp(value, x.Value.dtype), [x], () => x.Value.ne(value));

    /// <summary>Elementwise <c>a &gt;= b</c> with broadcasting, as a boolean tensor (Keras's <c>ops.greater_equal</c>).</summary>
    public static KTensor GreaterEqual(KTensor a, KTensor b) => Emit(new GreaterEqualOp(), [a, b], () => a.Value.ge(b.Value));

    /// <summary>Whether any entry along <paramref name="axis"/> is true (Keras's <c>ops.any</c>), on a boolean tensor.</summary>
    public static KTensor Any(KTensor x, int axis, bool keepDims = false) => Emit(new AnyOp(axis, keepDims), [x], () => x.Value.any(axis, keepDims));

    /// <summary>Elementwise logical and of two boolean tensors, with broadcasting (Keras's <c>ops.logical_and</c>).</summary>
    public static KTensor LogicalAnd(KTensor a, KTensor b) => Emit(new LogicalAndOp(), [a, b], () => a.Value.logical_and(b.Value));

    // ---- reductions -------------------------------------------------------------------------------

    /// <summary>Sum over <paramref name="axis"/> (all axes when null).</summary>
    public static KTensor Sum(KTensor x, int? axis = null, bool keepDims = false) =>
        Emit(new SumOp(axis, keepDims), [x], () => axis is int a ? x.Value.sum(a, keepDims) : x.Value.sum());

    /// <summary>Mean over <paramref name="axis"/> (all axes when null).</summary>
    public static KTensor Mean(KTensor x, int? axis = null, bool keepDims = false) =>
        Emit(new MeanOp(axis, keepDims), [x], () => axis is int a ? x.Value.mean([a], keepDims) : x.Value.mean());

    /// <summary>Maximum over <paramref name="axis"/>.</summary>
    public static KTensor Max(KTensor x, int axis, bool keepDims = false) => Emit(new MaxOp(axis, keepDims), [x], () => x.Value.amax([axis], keepDims));

    /// <summary>Minimum over <paramref name="axis"/>.</summary>
    public static KTensor Min(KTensor x, int axis, bool keepDims = false) => Emit(new MinOp(axis, keepDims), [x], () => x.Value.amin([axis], keepDims));

    /// <summary>Index of the maximum over <paramref name="axis"/>.</summary>
    public static KTensor ArgMax(KTensor x, int axis = -1) => Emit(new ArgMaxOp(axis), [x], () => x.Value.argmax(axis, false));

    // ---- shapes, indexing and joining ---------------------------------------------------------------

    /// <summary>Reshapes; -1 infers one dimension.</summary>
    public static KTensor Reshape(KTensor x, params long[] shape) => Emit(new ReshapeOp(shape), [x], () => x.Value.reshape(shape));

    /// <summary>Flattens every dimension after the first: [N, ...] to [N, prod(...)].</summary>
    public static KTensor Flatten(KTensor x) => Emit(new FlattenOp(), [x], () => x.Value.flatten(1));

    /// <summary>Permutes dimensions.</summary>
    public static KTensor Transpose(KTensor x, params long[] axes) => Emit(new TransposeOp(axes), [x], () => x.Value.permute(axes));

    /// <summary>Inserts a dimension of size 1 at <paramref name="axis"/> (Keras's <c>ops.expand_dims</c>).</summary>
    public static KTensor ExpandDims(KTensor x, int axis) => Emit(new ExpandDimsOp(axis), [x], () => x.Value.unsqueeze(axis));

    /// <summary>Repeats each element <paramref name="repeats"/> times along <paramref name="axis"/> (Keras's
    /// <c>ops.repeat</c>, NumPy's <c>repeat</c>).</summary>
    public static KTensor Repeat(KTensor x, long repeats, int axis) =>
        Emit(new RepeatOp(repeats, axis < 0 ? axis + x.Rank : axis), [x], () => x.Value.repeat_interleave(repeats, axis, null));

    /// <summary>
    /// Gathers slices of <paramref name="x"/> along <paramref name="axis"/> at integer <paramref name="indices"/> (Keras's
    /// <c>ops.take</c>): the result has shape <c>x.shape[:axis] + indices.shape + x.shape[axis+1:]</c>. Indices are cast to int64.
    /// </summary>
    public static KTensor Take(KTensor x, KTensor indices, int axis = 0)
    {
        int a = NormalizeAxis(axis, x.Rank, "take");
        return Emit(new TakeOp(a), [x, indices], () =>
        {
            var v = x.Value;
            var idx = indices.Value.dtype == ScalarType.Int64 ? indices.Value : indices.Value.to_type(ScalarType.Int64);
            var gathered = v.index_select(a, idx.flatten());
            long[] shape = [.. v.shape[..a], .. idx.shape, .. v.shape[(a + 1)..]];
            return gathered.reshape(shape);
        });
    }

    /// <summary>
    /// The slice at <paramref name="index"/> along <paramref name="axis"/>, that axis removed (Keras's <c>ops.take</c> with
    /// a scalar index; e.g. one timestep of [batch, time, features]).
    /// </summary>
    public static KTensor Take(KTensor x, long index, int axis) => Emit(new TakeIndexOp(index, axis), [x], () => x.Value.select(axis, index));

    /// <summary>Splits into <paramref name="sections"/> equal pieces along <paramref name="axis"/> (Keras's <c>ops.split(x, sections, axis)</c>).</summary>
    /// <remarks>Each piece is traced as its own op (ONNX: a Slice per piece).</remarks>
    /// <exception cref="ArgumentException">The axis's size is unknown or not a multiple of <paramref name="sections"/>.</exception>
    public static KTensor[] Split(KTensor x, int sections, int axis = 0)
    {
        long size = x.Shape[NormalizeAxis(axis, x.Rank, "split")] ?? throw new ArgumentException($"split: axis {axis} of {x.Shape} has an unknown size.");
        if (sections <= 0 || size % sections != 0) throw new ArgumentException($"split: cannot split axis {axis} of size {size} into {sections} equal parts.");
        long piece = size / sections;
        Tensor[]? pieces = null;
        var result = new KTensor[sections];
        for (int k = 0; k < sections; k++)
        {
            int index = k;
            result[k] = Emit(new SplitOp(axis, index * piece, piece), [x], () => (pieces ??= x.Value.split(piece, axis))[index]);
        }
        return result;
    }

    /// <summary>Concatenates along <paramref name="axis"/>.</summary>
    public static KTensor Concatenate(IReadOnlyList<KTensor> xs, int axis = -1) =>
        Emit(new ConcatenateOp(axis), xs, () => torch.cat(xs.Select(t => t.Value).ToArray(), axis));

    /// <summary>Stacks tensors of the same shape along a new axis <paramref name="axis"/> (Keras's <c>ops.stack</c>).</summary>
    public static KTensor Stack(IReadOnlyList<KTensor> xs, int axis = 0) => Emit(new StackOp(axis), xs, () => torch.stack(xs.Select(t => t.Value), axis));

    /// <summary>Reverses the order of the entries along <paramref name="axis"/> (Keras's <c>ops.flip</c>).</summary>
    public static KTensor Flip(KTensor x, int axis) => Emit(new FlipOp(axis), [x], () => x.Value.flip(axis));
}

/// <summary><see cref="Ops.Add(KTensor, KTensor)"/>.</summary>
internal sealed record AddOp : OpInfo;
/// <summary><see cref="Ops.Add(KTensor, double)"/>.</summary>
internal sealed record AddScalarOp(double Scalar) : OpInfo;
/// <summary><see cref="Ops.Subtract"/>.</summary>
internal sealed record SubtractOp : OpInfo;
/// <summary><see cref="Ops.Multiply(KTensor, KTensor)"/>.</summary>
internal sealed record MultiplyOp : OpInfo;
/// <summary><see cref="Ops.Multiply(KTensor, double)"/>.</summary>
internal sealed record MultiplyScalarOp(double Scalar) : OpInfo;
/// <summary><see cref="Ops.Divide"/>.</summary>
internal sealed record DivideOp : OpInfo;
/// <summary><see cref="Ops.Negative"/>.</summary>
internal sealed record NegativeOp : OpInfo;
/// <summary><see cref="Ops.Maximum"/>.</summary>
internal sealed record MaximumOp : OpInfo;
/// <summary><see cref="Ops.Minimum"/>.</summary>
internal sealed record MinimumOp : OpInfo;
/// <summary><see cref="Ops.MatMul"/>.</summary>
internal sealed record MatMulOp : OpInfo;
/// <summary><see cref="Ops.Abs"/>.</summary>
internal sealed record AbsOp : OpInfo;
/// <summary><see cref="Ops.Square"/>.</summary>
internal sealed record SquareOp : OpInfo;
/// <summary><see cref="Ops.Sqrt"/>.</summary>
internal sealed record SqrtOp : OpInfo;
/// <summary><see cref="Ops.Exp"/>.</summary>
internal sealed record ExpOp : OpInfo;
/// <summary><see cref="Ops.Log"/>.</summary>
internal sealed record LogOp : OpInfo;
/// <summary><see cref="Ops.Log1p"/>.</summary>
internal sealed record Log1pOp : OpInfo;
/// <summary><see cref="Ops.Power"/>.</summary>
internal sealed record PowerOp(double Exponent) : OpInfo;
/// <summary><see cref="Ops.Tanh"/>.</summary>
internal sealed record TanhOp : OpInfo;
/// <summary><see cref="Ops.Clip"/>.</summary>
internal sealed record ClipOp(double Min, double Max) : OpInfo;
/// <summary><see cref="Ops.Sign"/>.</summary>
internal sealed record SignOp : OpInfo;
/// <summary><see cref="Ops.Where"/>.</summary>
internal sealed record WhereOp : OpInfo;
/// <summary><see cref="Ops.NotEqual"/> on an input of <paramref name="InputDType"/>.</summary>
internal sealed record NotEqualOp(double Value, ScalarType InputDType) : OpInfo;
/// <summary><see cref="Ops.GreaterEqual"/>.</summary>
internal sealed record GreaterEqualOp : OpInfo;
/// <summary><see cref="Ops.Any"/>.</summary>
internal sealed record AnyOp(int Axis, bool KeepDims) : OpInfo;
/// <summary><see cref="Ops.LogicalAnd"/>.</summary>
internal sealed record LogicalAndOp : OpInfo;
/// <summary><see cref="Ops.Sum"/> (all axes when <paramref name="Axis"/> is null).</summary>
internal sealed record SumOp(int? Axis, bool KeepDims) : OpInfo;
/// <summary><see cref="Ops.Mean"/> (all axes when <paramref name="Axis"/> is null).</summary>
internal sealed record MeanOp(int? Axis, bool KeepDims) : OpInfo;
/// <summary><see cref="Ops.Max"/>.</summary>
internal sealed record MaxOp(int Axis, bool KeepDims) : OpInfo;
/// <summary><see cref="Ops.Min"/>.</summary>
internal sealed record MinOp(int Axis, bool KeepDims) : OpInfo;
/// <summary><see cref="Ops.ArgMax"/>.</summary>
internal sealed record ArgMaxOp(int Axis) : OpInfo;
/// <summary><see cref="Ops.Reshape"/>.</summary>
internal sealed record ReshapeOp(long[] Shape) : OpInfo;
/// <summary><see cref="Ops.Flatten"/>.</summary>
internal sealed record FlattenOp : OpInfo;
/// <summary><see cref="Ops.Transpose"/>.</summary>
internal sealed record TransposeOp(long[] Perm) : OpInfo;
/// <summary><see cref="Ops.ExpandDims"/>.</summary>
internal sealed record ExpandDimsOp(int Axis) : OpInfo;
/// <summary><see cref="Ops.Repeat"/> (a non-negative axis).</summary>
internal sealed record RepeatOp(long Repeats, int Axis) : OpInfo;
/// <summary><see cref="Ops.Take(KTensor, KTensor, int)"/> (a non-negative axis).</summary>
internal sealed record TakeOp(int Axis) : OpInfo;
/// <summary><see cref="Ops.Take(KTensor, long, int)"/>.</summary>
internal sealed record TakeIndexOp(long Index, int Axis) : OpInfo;
/// <summary>One piece of <see cref="Ops.Split"/>: <paramref name="Length"/> entries from <paramref name="Start"/> along <paramref name="Axis"/>.</summary>
internal sealed record SplitOp(int Axis, long Start, long Length) : OpInfo;
/// <summary><see cref="Ops.Concatenate"/>.</summary>
internal sealed record ConcatenateOp(int Axis) : OpInfo;
/// <summary><see cref="Ops.Stack"/>.</summary>
internal sealed record StackOp(int Axis) : OpInfo;
/// <summary><see cref="Ops.Flip"/>.</summary>
internal sealed record FlipOp(int Axis) : OpInfo;
