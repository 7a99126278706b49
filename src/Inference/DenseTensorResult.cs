using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

/// <summary>
/// A model output copied into managed memory: row-major <see cref="Values"/> of its <see cref="ElementType"/> plus
/// <see cref="Shape"/>. Most models (every Keras export) have float32 outputs, read through <see cref="Data"/>; other
/// element types (int64 from ArgMax, bool, double, ...) through <see cref="GetData{T}"/> or <see cref="Values"/>.
/// </summary>
/// <remarks>
/// The caller owns the array: it holds no native memory, needs no disposal, and stays valid after the model is
/// disposed. Outputs may contain NaN or infinity (from NaN inputs or the model's arithmetic); they are not checked.
/// </remarks>
public sealed class DenseTensorResult
{
    private readonly long[] shape;
    private readonly float[]? floats;

    /// <summary>Wraps float32 <paramref name="data"/> (not copied) with the given shape.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the data length.</exception>
    public DenseTensorResult(float[] data, params long[] shape) : this((Array)data, shape)
    {
    }

    /// <summary>Wraps <paramref name="values"/> (not copied; <c>float[]</c>, <c>double[]</c>, <c>long[]</c>, <c>int[]</c>,
    /// <c>short[]</c>, <c>sbyte[]</c>, <c>ulong[]</c>, <c>uint[]</c>, <c>ushort[]</c>, <c>byte[]</c> or <c>bool[]</c>) with the
    /// given shape.</summary>
    /// <exception cref="ArgumentException">The array's type is none of those, or the shape's element count differs from
    /// its length.</exception>
    public DenseTensorResult(Array values, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(shape);
        ElementType = TypeOf(values);
        var data = values;
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Shape {TensorInput.ShapeText(shape)} has a negative dimension.", nameof(shape));
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"Shape {TensorInput.ShapeText(shape)} needs {count} elements but the data holds {data.Length}.", nameof(data));
        Values = values;
        floats = values as float[];
        this.shape = (long[])shape.Clone();
    }

    // For results built by this library from arrays it allocated: no type switch, no count check.
    private DenseTensorResult(float[] data, long[] shape, bool checkedByCaller)
    {
        _ = checkedByCaller;
        ElementType = TensorElementType.Float;
        Values = data;
        floats = data;
        this.shape = (long[])shape.Clone();
    }

    /// <summary>A float32 result over <paramref name="data"/>, whose length the caller made equal to the shape's count.</summary>
    internal static DenseTensorResult OwnedFloat(float[] data, long[] shape) => new(data, shape, checkedByCaller: true);

    private static TensorElementType TypeOf(Array values) => values switch
    {
        float[] => TensorElementType.Float,
        double[] => TensorElementType.Double,
        long[] => TensorElementType.Int64,
        int[] => TensorElementType.Int32,
        short[] => TensorElementType.Int16,
        sbyte[] => TensorElementType.Int8,
        ulong[] => TensorElementType.UInt64,
        uint[] => TensorElementType.UInt32,
        ushort[] => TensorElementType.UInt16,
        byte[] => TensorElementType.UInt8,
        bool[] => TensorElementType.Bool,
        _ => throw new ArgumentException($"A result holds a one-dimensional array of a numeric or bool element type, not {values.GetType()}.", nameof(values)),
    };

    /// <summary>The element type of <see cref="Values"/>.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>The elements of any element type, row-major (last dimension fastest). Owned by the caller.</summary>
    public Array Values { get; }

    /// <summary>The float32 elements, row-major (last dimension fastest). Owned by the caller.</summary>
    /// <exception cref="InvalidOperationException">The output is not float32 (use <see cref="GetData{T}"/>).</exception>
    public float[] Data => floats ?? throw new InvalidOperationException(
        $"This output is {ElementType}, not float32: read it with GetData<" +
        (ElementType switch
        {
            TensorElementType.Int64 => "long",
            TensorElementType.Int32 => "int",
            TensorElementType.Bool => "bool",
            TensorElementType.Double => "double",
            _ => "T",
        }) +
        ">() or Values.");

    /// <summary>The elements as <typeparamref name="T"/>[], which must be the output's own element type.</summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the element type.</exception>
    public T[] GetData<T>() where T : unmanaged => Values as T[] ?? throw new InvalidOperationException(
        $"This output is {ElementType}, not {typeof(T).Name}.");

    /// <summary>The elements' bytes as they lie in memory (little-endian on every platform .NET runs this library on),
    /// for binary protocols.</summary>
    public ReadOnlySpan<byte> AsBytes() =>
        MemoryMarshal.CreateReadOnlySpan(ref MemoryMarshal.GetArrayDataReference(Values), Buffer.ByteLength(Values));

    /// <summary>The shape, outermost dimension first.</summary>
    public IReadOnlyList<long> Shape => shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => shape.Length;

    /// <summary>The element at the given index (one coordinate per dimension) of a float32 output.</summary>
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
    public override string ToString() => ElementType + " " + TensorInput.ShapeText(shape);
}
