using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

// Ops of the recurrent family (SimpleRNN, LSTM, GRU, Bidirectional): indexing and stacking along an axis, and zero states.
public static partial class Ops
{
    /// <summary>The slice at <paramref name="index"/> along <paramref name="axis"/>, with that axis removed (e.g. one timestep of [batch, time, features]).</summary>
    public static KTensor SelectAlong(KTensor x, int axis, long index) => Emit(nameof(SelectAlong), [x], () => x.Value.select(axis, index),
        () => new Dictionary<string, object?> { ["axis"] = axis, ["index"] = index });

    /// <summary>
    /// All slices along <paramref name="axis"/>, that axis removed (every timestep of [batch, time, features]). Eager, it is
    /// one <c>unbind</c>, whose backward is one stack; separate selects would each scatter their gradient into a zero
    /// tensor of the full input's size (for an LSTM over 100 steps, 100 full-size buffers per backward pass). Traced, each
    /// slice is a <see cref="SelectAlong"/>.
    /// </summary>
    public static KTensor[] UnbindAlong(KTensor x, int axis)
    {
        long n = x.Value.shape[axis < 0 ? x.Value.dim() + axis : axis];
        if (x.Tracer is not null) return Enumerable.Range(0, (int)n).Select(i => SelectAlong(x, axis, i)).ToArray();
        return x.Value.unbind(axis).Select(t => new KTensor(t)).ToArray();
    }

    /// <summary>The <paramref name="length"/> entries from <paramref name="start"/> along <paramref name="axis"/> (the axis is kept).</summary>
    public static KTensor NarrowAlong(KTensor x, int axis, long start, long length) => Emit(nameof(NarrowAlong), [x], () => x.Value.narrow(axis, start, length),
        () => new Dictionary<string, object?> { ["axis"] = axis, ["start"] = start, ["length"] = length });

    /// <summary>Splits into <paramref name="parts"/> equal pieces along <paramref name="axis"/> (Keras's <c>ops.split(x, parts, axis)</c>).</summary>
    /// <remarks>Each piece is traced as its own op (ONNX: a Slice per piece).</remarks>
    public static KTensor[] SplitAlong(KTensor x, int parts, int axis = -1)
    {
        long size = x.Shape[axis < 0 ? x.Rank + axis : axis] ?? throw new ArgumentException($"SplitAlong: axis {axis} of {x.Shape} has an unknown size.");
        if (parts <= 0 || size % parts != 0) throw new ArgumentException($"SplitAlong: cannot split axis {axis} of size {size} into {parts} equal parts.");
        long piece = size / parts;
        Tensor[]? pieces = null;
        var result = new KTensor[parts];
        for (int k = 0; k < parts; k++)
        {
            int index = k;
            result[k] = Emit(nameof(SplitAlong), [x], () => (pieces ??= x.Value.split(piece, axis))[index],
                () => new Dictionary<string, object?> { ["axis"] = axis, ["start"] = index * piece, ["length"] = piece });
        }
        return result;
    }

    /// <summary>Stacks tensors of the same shape along a new axis <paramref name="axis"/> (Keras's <c>ops.stack</c>).</summary>
    public static KTensor StackAlong(IReadOnlyList<KTensor> xs, int axis) => Emit(nameof(StackAlong), xs, () => torch.stack(xs.Select(t => t.Value), axis),
        () => new Dictionary<string, object?> { ["axis"] = axis });

    /// <summary>Reverses the order of the entries along <paramref name="axis"/> (Keras's <c>ops.flip</c>).</summary>
    public static KTensor ReverseAlong(KTensor x, int axis) => Emit(nameof(ReverseAlong), [x], () => x.Value.flip(axis),
        () => new Dictionary<string, object?> { ["axis"] = axis });

    /// <summary>A zero state [batch, <paramref name="units"/>] with the batch size, dtype and device of <paramref name="like"/> (batch on axis 0).</summary>
    public static KTensor ZeroState(KTensor like, long units) => Emit(nameof(ZeroState), [like],
        () => torch.zeros([like.Value.shape[0], units], like.Value.dtype, like.Value.device),
        () => new Dictionary<string, object?> { ["units"] = units });
}
