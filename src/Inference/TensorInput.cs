using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

/// <summary>
/// A dense, row-major input tensor: caller-owned memory plus a shape, not copied when the input is made. ONNX Runtime
/// reads the caller's memory directly (pinned only for the duration of a <c>Predict</c> call, never written), except
/// that <c>Predict</c> copies inputs of at most 16 KiB into a pooled pinned buffer, which costs less than pinning.
/// </summary>
/// <remarks>
/// The caller keeps ownership of the memory and must not modify it while a <c>Predict</c> call that uses it runs.
/// The element count is checked against the shape (and the shape against the model) when the input is passed to
/// <c>Predict</c>, so that the error can name the model input. Supported element types: float32, int64, int32 and
/// string (models whose inputs are ONNX string tensors, e.g. a LabelEncoder from strings; the strings are copied into
/// ONNX Runtime's string tensor, UTF-8).
/// NaN and infinite values are passed to the model unchanged.
/// </remarks>
public sealed class TensorInput
{
    private readonly ReadOnlyMemory<float> floats;
    private readonly ReadOnlyMemory<long> int64s;
    private readonly ReadOnlyMemory<int> int32s;
    private readonly string[]? strings;
    private readonly long[] shape;

    /// <summary>A float32 tensor over <paramref name="data"/> (row-major) with the given shape.</summary>
    public TensorInput(ReadOnlyMemory<float> data, params long[] shape)
        : this(TensorElementType.Float, data.Length, shape) => floats = data;

    /// <summary>An int64 tensor (e.g. token ids) over <paramref name="data"/> (row-major) with the given shape.</summary>
    public TensorInput(ReadOnlyMemory<long> data, params long[] shape)
        : this(TensorElementType.Int64, data.Length, shape) => int64s = data;

    /// <summary>An int32 tensor over <paramref name="data"/> (row-major) with the given shape.</summary>
    public TensorInput(ReadOnlyMemory<int> data, params long[] shape)
        : this(TensorElementType.Int32, data.Length, shape) => int32s = data;

    /// <summary>A string tensor (row-major) with the given shape, for models with ONNX string inputs. Unlike the numeric
    /// forms the strings are copied (into ONNX Runtime's string tensor) at each <c>Predict</c>.</summary>
    /// <exception cref="ArgumentException">A null string.</exception>
    public TensorInput(string[] data, params long[] shape)
        : this(TensorElementType.String, (data ?? throw new ArgumentNullException(nameof(data))).Length, shape)
    {
        if (Array.IndexOf(data, null) is int i and >= 0) throw new ArgumentException($"String {i} of the input is null.", nameof(data));
        strings = (string[])data.Clone();
    }

    /// <summary>A float32 tensor of shape [rows, columns] over the 2-D array's own memory (no copy).</summary>
    public TensorInput(float[,] data)
        : this(TensorElementType.Float, (data ?? throw new ArgumentNullException(nameof(data))).Length,
               [data.GetLength(0), data.GetLength(1)])
        => floats = new Array2DMemory(data).Memory;

    private TensorInput(TensorElementType type, int length, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] < 0)
                throw new ArgumentException($"Dimension {i} of shape {ShapeText(shape)} is negative.", nameof(shape));
        ElementType = type;
        Length = length;
        this.shape = (long[])shape.Clone();
    }

    /// <summary>The element type.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>The shape, outermost dimension first.</summary>
    public IReadOnlyList<long> Shape => shape;

    /// <summary>The number of elements in the memory (must equal the product of <see cref="Shape"/>).</summary>
    public int Length { get; }

    internal long[] ShapeArray => shape;

    /// <summary>The elements' bytes (for copying into a pooled buffer); empty for strings, which are never pooled.</summary>
    internal ReadOnlySpan<byte> Bytes => ElementType switch
    {
        TensorElementType.Float => MemoryMarshal.AsBytes(floats.Span),
        TensorElementType.Int64 => MemoryMarshal.AsBytes(int64s.Span),
        TensorElementType.Int32 => MemoryMarshal.AsBytes(int32s.Span),
        _ => default,
    };

    /// <summary>Wraps a result of a previous prediction (no copy) so that it can feed another model.</summary>
    /// <exception cref="NotSupportedException">The result is not float32, int64 or int32 (the input types this library feeds).</exception>
    public static implicit operator TensorInput(DenseTensorResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Values switch
        {
            float[] f => new TensorInput(f, [.. result.Shape]),
            long[] l => new TensorInput(l, [.. result.Shape]),
            int[] i => new TensorInput(i, [.. result.Shape]),
            _ => throw new NotSupportedException($"A {result.ElementType} result cannot feed a model: inputs are float32, int64 or int32."),
        };
    }

    internal static string ShapeText(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>
    /// An OrtValue over rows [rowStart, rowStart + rowCount) of the first dimension (the whole tensor when
    /// rowCount is -1). The caller disposes it; it pins the memory until then.
    /// </summary>
    internal OrtValue ToOrtValue(long rowStart = 0, long rowCount = -1)
    {
        long[] sliceShape = shape;
        int start = 0, count = Length;
        if (rowCount >= 0)
        {
            long rowSize = 1;
            for (int i = 1; i < shape.Length; i++) rowSize *= shape[i];
            start = checked((int)(rowStart * rowSize));
            count = checked((int)(rowCount * rowSize));
            sliceShape = (long[])shape.Clone();
            sliceShape[0] = rowCount;
        }
        var cpu = OrtMemoryInfo.DefaultInstance;
        // ONNX Runtime does not write to input tensors, so exposing read-only memory as Memory<T> is safe here.
        return ElementType switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(cpu, MemoryMarshal.AsMemory(floats.Slice(start, count)), sliceShape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(cpu, MemoryMarshal.AsMemory(int64s.Slice(start, count)), sliceShape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(cpu, MemoryMarshal.AsMemory(int32s.Slice(start, count)), sliceShape),
            TensorElementType.String => StringValue(start, count, sliceShape),
            _ => throw new InvalidOperationException($"Unsupported element type {ElementType}."),
        };
    }

    private OrtValue StringValue(int start, int count, long[] sliceShape)
    {
        var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, sliceShape);
        try
        {
            for (int i = 0; i < count; i++) value.StringTensorSetElementAt(strings![start + i].AsMemory(), i);
            return value;
        }
        catch
        {
            value.Dispose();
            throw;
        }
    }

    /// <summary>Exposes a float[,] (contiguous, row-major) as Memory&lt;float&gt; without copying.</summary>
    private sealed class Array2DMemory(float[,] array) : MemoryManager<float>
    {
        public override Span<float> GetSpan() =>
            MemoryMarshal.CreateSpan(ref Unsafe.As<byte, float>(ref MemoryMarshal.GetArrayDataReference(array)), array.Length);

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new MemoryHandle((float*)handle.AddrOfPinnedObject() + elementIndex, handle);
        }

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}
