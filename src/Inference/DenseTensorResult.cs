using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OnnxKeras.Inference;

/// <summary>
/// A float32 model output copied into managed memory: row-major <see cref="Data"/> plus <see cref="Shape"/>.
/// </summary>
/// <remarks>
/// The caller owns the array: it holds no native memory, needs no disposal, and stays valid after the model is
/// disposed. Outputs may contain NaN or infinity (from NaN inputs or the model's arithmetic); they are not checked.
/// </remarks>
public sealed class DenseTensorResult
{
    private readonly long[] shape;

    /// <summary>Wraps <paramref name="data"/> (not copied) with the given shape.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the data length.</exception>
    public DenseTensorResult(float[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Shape {TensorInput.ShapeText(shape)} has a negative dimension.", nameof(shape));
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"Shape {TensorInput.ShapeText(shape)} needs {count} elements but the data holds {data.Length}.", nameof(data));
        Data = data;
        this.shape = (long[])shape.Clone();
    }

    /// <summary>The elements, row-major (last dimension fastest). Owned by the caller.</summary>
    public float[] Data { get; }

    /// <summary>The shape, outermost dimension first.</summary>
    public IReadOnlyList<long> Shape => shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => shape.Length;

    /// <summary>The element at the given index (one coordinate per dimension).</summary>
    public float this[params long[] index]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(index);
            if (index.Length != shape.Length)
                throw new ArgumentException($"Index has {index.Length} coordinates but the tensor has rank {shape.Length}.", nameof(index));
            long flat = 0;
            for (int i = 0; i < shape.Length; i++)
            {
                if ((ulong)index[i] >= (ulong)shape[i])
                    throw new IndexOutOfRangeException($"Coordinate {i} is {index[i]} but dimension {i} has size {shape[i]}.");
                flat = flat * shape[i] + index[i];
            }
            return Data[flat];
        }
    }

    /// <summary>Copies a rank-2 result into a new float[rows, columns].</summary>
    /// <exception cref="InvalidOperationException">The result is not rank 2.</exception>
    public float[,] To2DArray()
    {
        if (shape.Length != 2)
            throw new InvalidOperationException($"To2DArray needs a rank-2 result but the shape is {TensorInput.ShapeText(shape)}.");
        var result = new float[shape[0], shape[1]];
        Data.AsSpan().CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.As<byte, float>(ref MemoryMarshal.GetArrayDataReference(result)), result.Length));
        return result;
    }

    /// <summary>E.g. <c>Float [2, 3]</c>.</summary>
    public override string ToString() => "Float " + TensorInput.ShapeText(shape);
}
