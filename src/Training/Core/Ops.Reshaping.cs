using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

// Ops for the reshaping layers (Reshape, Permute, RepeatVector).
public static partial class Ops
{
    /// <summary>Inserts a dimension of size 1 at <paramref name="axis"/> (Keras's <c>ops.expand_dims</c>).</summary>
    public static KTensor ExpandDims(KTensor x, int axis) => Emit(nameof(ExpandDims), [x], () => x.Value.unsqueeze(axis),
        () => new Dictionary<string, object?> { ["axis"] = axis });

    /// <summary>Repeats each element <paramref name="repeats"/> times along <paramref name="axis"/> (Keras's <c>ops.repeat</c>, NumPy's <c>repeat</c>).</summary>
    public static KTensor Repeat(KTensor x, long repeats, int axis) => Emit(nameof(Repeat), [x], () => x.Value.repeat_interleave(repeats, axis, null),
        () => new Dictionary<string, object?> { ["repeats"] = repeats, ["axis"] = axis < 0 ? axis + x.Rank : axis });
}
