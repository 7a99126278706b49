using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

// keras.ops.core: cast, slice, unstack.
public static partial class Ops
{
    /// <summary>Casts to <paramref name="dtype"/> (Keras's <c>ops.cast</c>): "float32", "float64", "int32", "int64" or "bool".</summary>
    /// <exception cref="ArgumentException">Another dtype name.</exception>
    public static KTensor Cast(KTensor x, string dtype)
    {
        var type = dtype switch
        {
            "float32" => ScalarType.Float32,
            "float64" => ScalarType.Float64,
            "int32" => ScalarType.Int32,
            "int64" => ScalarType.Int64,
            "bool" => ScalarType.Bool,
            _ => throw new ArgumentException($"cast: dtype must be float32, float64, int32, int64 or bool; got '{dtype}'."),
        };
        return Emit(new CastOp(type), [x], () => x.Value.to_type(type));
    }

    /// <summary>
    /// The block of <paramref name="x"/> that starts at <paramref name="startIndices"/> with <paramref name="shape"/> (Keras's
    /// <c>ops.slice</c>, one entry per axis; the rank is kept). A size of -1 takes the rest of its axis (TensorFlow's
    /// <c>tf.slice</c> rule), so <c>Slice(x, [0, 4], [-1, 2])</c> is columns 4 and 5 of every row whatever the batch size.
    /// </summary>
    /// <exception cref="ArgumentException">Not one start and size per axis, or a block outside the tensor.</exception>
    public static KTensor Slice(KTensor x, long[] startIndices, long[] shape)
    {
        int rank = x.Rank;
        if (startIndices.Length != rank || shape.Length != rank)
            throw new ArgumentException($"slice: need one start index and one size per axis of a tensor of rank {rank}; got " +
                $"{startIndices.Length} and {shape.Length}.");
        var dims = x.Value.shape;
        for (int i = 0; i < rank; i++)
        {
            long start = startIndices[i], size = shape[i];
            if (start < 0 || start > dims[i] || size < -1 || (size >= 0 && start + size > dims[i]))
                throw new ArgumentException($"slice: start {start} with size {size} is outside axis {i} of size {dims[i]} (shape {Shape.Of(dims)}).");
        }
        return Emit(new SliceOp(startIndices.ToArray(), shape.ToArray()), [x], () =>
        {
            var v = x.Value;
            for (int i = 0; i < rank; i++)
            {
                if (startIndices[i] == 0 && shape[i] == -1) continue;
                v = v.narrow(i, startIndices[i], shape[i] == -1 ? v.shape[i] - startIndices[i] : shape[i]);
            }
            return v;
        });
    }

    /// <summary>
    /// All slices along <paramref name="axis"/>, that axis removed (Keras's <c>ops.unstack</c>; every timestep of [batch,
    /// time, features]). Eager, it is one <c>unbind</c>, whose backward is one stack; separate takes would each scatter
    /// their gradient into a zero tensor of the full input's size (for an LSTM over 100 steps, 100 full-size buffers per
    /// backward pass). Traced, each slice is a <see cref="Take(KTensor, long, int)"/>.
    /// </summary>
    public static KTensor[] Unstack(KTensor x, int axis = 0)
    {
        int a = NormalizeAxis(axis, x.Rank, "unstack");
        long n = x.Value.shape[a];
        if (x.Tracer is not null) return Enumerable.Range(0, (int)n).Select(i => Take(x, i, a)).ToArray();
        return x.Value.unbind(a).Select(t => new KTensor(t)).ToArray();
    }
}

/// <summary><see cref="Ops.Cast"/> to <paramref name="DType"/>.</summary>
internal sealed record CastOp(ScalarType DType) : OpInfo;

/// <summary><see cref="Ops.Slice"/>: per axis a start and a size (-1: the rest of the axis).</summary>
internal sealed record SliceOp(long[] Starts, long[] Sizes) : OpInfo;
