using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

// Ops of masks (Masking, Embedding's mask_zero, the masked recurrence): comparisons and logic on boolean tensors.
public static partial class Ops
{
    /// <summary>Elementwise <c>x != value</c> as a boolean tensor (Keras's <c>ops.not_equal</c> with a scalar).</summary>
    public static KTensor NotEqual(KTensor x, double value) => Emit(nameof(NotEqual), [x], () => x.Value.ne(value),
        () => new Dictionary<string, object?> { ["value"] = value, ["input_dtype"] = x.Value.dtype.ToString() });

    /// <summary>Whether any entry along <paramref name="axis"/> is true (Keras's <c>ops.any</c>), on a boolean tensor.</summary>
    public static KTensor Any(KTensor x, int axis, bool keepDims = false) => Emit(nameof(Any), [x], () => x.Value.any(axis, keepDims),
        () => new Dictionary<string, object?> { ["axis"] = axis, ["keepdims"] = keepDims });

    /// <summary>Elementwise logical and of two boolean tensors, with broadcasting (Keras's <c>ops.logical_and</c>).</summary>
    public static KTensor LogicalAnd(KTensor a, KTensor b) => Emit(nameof(LogicalAnd), [a, b], () => a.Value.logical_and(b.Value));
}
