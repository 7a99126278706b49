using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>Converts .NET arrays to tensors: floating-point data to float32, integer data (class labels) to int64.</summary>
public static class TensorConvert
{
    /// <summary>
    /// Converts <c>float[]</c>, <c>float[,]</c>, <c>float[,,,]</c> (any rank), jagged <c>float[][]</c>, the same with
    /// <c>double</c>, and <c>int</c>/<c>long</c> arrays; returns a new CPU tensor the caller owns.
    /// </summary>
    /// <exception cref="ArgumentException">Unsupported element type, ragged jagged array, or non-finite integer conversions.</exception>
    public static Tensor ToTensor(Array array, string argumentName = "x")
    {
        ArgumentNullException.ThrowIfNull(array, argumentName);
        var elementType = array.GetType().GetElementType()!;
        if (elementType.IsArray) return FromJagged(array, argumentName);
        long[] shape = Enumerable.Range(0, array.Rank).Select(d => (long)array.GetLength(d)).ToArray();
        ref byte start = ref MemoryMarshal.GetArrayDataReference(array);
        int n = array.Length;
        if (elementType == typeof(float))
            return tensor(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, float>(ref start), n).ToArray(), shape, ScalarType.Float32);
        if (elementType == typeof(double))
            return tensor(
                Array.ConvertAll(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, double>(ref start), n).ToArray(), v => (float)v),
                shape, ScalarType.Float32);
        if (elementType == typeof(int))
            return tensor(
                Array.ConvertAll(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, int>(ref start), n).ToArray(), v => (long)v),
                shape, ScalarType.Int64);
        if (elementType == typeof(long))
            return tensor(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, long>(ref start), n).ToArray(), shape, ScalarType.Int64);
        if (elementType == typeof(byte))
            return tensor(Array.ConvertAll(MemoryMarshal.CreateReadOnlySpan(ref start, n).ToArray(), v => (float)v), shape, ScalarType.Float32);
        throw new ArgumentException($"'{argumentName}': arrays of {elementType.Name} are not supported; use float, double, int, long or byte.", argumentName);
    }

    private static Tensor FromJagged(Array rows, string argumentName)
    {
        if (rows.Length == 0) throw new ArgumentException($"'{argumentName}' is empty.", argumentName);
        var parts = new List<Tensor>(rows.Length);
        try
        {
            foreach (var row in rows)
            {
                if (row is not Array r) throw new ArgumentException($"'{argumentName}' has a null row.", argumentName);
                parts.Add(ToTensor(r, argumentName));
            }
            var first = parts[0].shape;
            for (int i = 1; i < parts.Count; i++)
            {
                if (!parts[i].shape.SequenceEqual(first))
                    throw new ArgumentException($"'{argumentName}' is ragged: row 0 has shape {Shape.Of(first)}, row {i} has " +
                        $"{Shape.Of(parts[i].shape)}.", argumentName);
            }
            return stack(parts.ToArray());
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>Copies a tensor to a managed <see cref="NDArray"/> (float32).</summary>
    public static NDArray ToNDArray(Tensor t)
    {
        using var cpu = t.detach().to_type(ScalarType.Float32).cpu().contiguous();
        return new NDArray(cpu.data<float>().ToArray(), cpu.shape);
    }
}
