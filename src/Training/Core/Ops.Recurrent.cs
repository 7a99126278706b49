using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

// Ops of the recurrent family (SimpleRNN, LSTM, GRU, Bidirectional): indexing and stacking along an axis, and zero states.
public static partial class Ops
{
    /// <summary>The slice at <paramref name="index"/> along <paramref name="axis"/>, with that axis removed (e.g. one timestep of [batch, time, features]).</summary>
    public static KTensor SelectAlong(KTensor x, int axis, long index) => x.Value.select(axis, index);

    /// <summary>The <paramref name="length"/> entries from <paramref name="start"/> along <paramref name="axis"/> (the axis is kept).</summary>
    public static KTensor NarrowAlong(KTensor x, int axis, long start, long length) => x.Value.narrow(axis, start, length);

    /// <summary>Splits into <paramref name="parts"/> equal pieces along <paramref name="axis"/> (Keras's <c>ops.split(x, parts, axis)</c>).</summary>
    public static KTensor[] SplitAlong(KTensor x, int parts, int axis = -1)
    {
        long size = x.Shape[axis < 0 ? x.Rank + axis : axis] ?? throw new ArgumentException($"SplitAlong: axis {axis} of {x.Shape} has an unknown size.");
        if (parts <= 0 || size % parts != 0) throw new ArgumentException($"SplitAlong: cannot split axis {axis} of size {size} into {parts} equal parts.");
        return x.Value.split(size / parts, axis).Select(t => (KTensor)t).ToArray();
    }

    /// <summary>Stacks tensors of the same shape along a new axis <paramref name="axis"/> (Keras's <c>ops.stack</c>).</summary>
    public static KTensor StackAlong(IReadOnlyList<KTensor> xs, int axis) => torch.stack(xs.Select(t => t.Value), axis);

    /// <summary>Reverses the order of the entries along <paramref name="axis"/> (Keras's <c>ops.flip</c>).</summary>
    public static KTensor ReverseAlong(KTensor x, int axis) => x.Value.flip(axis);

    /// <summary>A zero state [batch, <paramref name="units"/>] with the batch size, dtype and device of <paramref name="like"/> (batch on axis 0).</summary>
    public static KTensor ZeroState(KTensor like, long units) =>
        torch.zeros([like.Value.shape[0], units], like.Value.dtype, like.Value.device);
}
