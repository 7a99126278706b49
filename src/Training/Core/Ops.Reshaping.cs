using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

// Ops for the reshaping layers (Reshape, Permute, RepeatVector).
public static partial class Ops
{
    /// <summary>Inserts a dimension of size 1 at <paramref name="axis"/> (Keras's <c>ops.expand_dims</c>).</summary>
    public static KTensor ExpandDims(KTensor x, int axis) => x.Value.unsqueeze(axis);

    /// <summary>Repeats each element <paramref name="repeats"/> times along <paramref name="axis"/> (Keras's <c>ops.repeat</c>, NumPy's <c>repeat</c>).</summary>
    public static KTensor Repeat(KTensor x, long repeats, int axis) => x.Value.repeat_interleave(repeats, axis, null);
}
