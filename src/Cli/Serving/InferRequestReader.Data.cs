using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Cli.Serving;

/// <summary>The tensor data of a request: JSON elements into typed arrays, and the binary tensor data extension.</summary>
internal sealed partial class InferRequestReader
{
    // ---------------------------------------------------------------- tensor data

    private void Data(ref Utf8JsonReader r)
    {
        var b = input!;
        switch (r.TokenType)
        {
            case JsonTokenType.StartArray:
                b.DataDepth++;
                return;
            case JsonTokenType.EndArray:
                if (--b.DataDepth == 0) frames.Pop();
                return;
            case JsonTokenType.Number or JsonTokenType.String:
                var bytes = Leaf(ref r, scratch);
                if (b.Sink is { } sink) sink.Add(bytes, r.TokenType == JsonTokenType.String);
                else
                {
                    var raw = b.Raw!;
                    raw.GetSpan(1)[0] = r.TokenType == JsonTokenType.String ? (byte)1 : (byte)0;
                    raw.Advance(1);
                    BitConverter.TryWriteBytes(raw.GetSpan(4), bytes.Length);
                    raw.Advance(4);
                    bytes.CopyTo(raw.GetSpan(bytes.Length));
                    raw.Advance(bytes.Length);
                }
                return;
            default:
                throw Bad($"Input '{b.Name ?? "?"}' has a data element that is not a number; expected numbers in flat or nested arrays.");
        }
    }

    /// <summary>The raw bytes of a number, or the unescaped bytes of a string of at most 16 bytes (only "NaN",
    /// "Infinity" and "-Infinity" mean anything; a longer string is returned cut, and refused by the sink).</summary>
    private static ReadOnlySpan<byte> Leaf(ref Utf8JsonReader r, byte[] scratch)
    {
        long length = r.HasValueSequence ? r.ValueSequence.Length : r.ValueSpan.Length;
        if (r.TokenType == JsonTokenType.String)
        {
            if (length > 16) return "(a long string)"u8;
            try
            {
                return scratch.AsSpan(0, r.CopyString(scratch));
            }
            catch (InvalidOperationException)
            {
                return "(not UTF-8)"u8;
            }
        }
        if (!r.HasValueSequence) return r.ValueSpan;
        if (length > scratch.Length) throw Bad($"A number in the request is longer than {scratch.Length} characters.");
        r.ValueSequence.CopyTo(scratch);
        return scratch.AsSpan(0, (int)length);
    }

    private ElementSink Sink(InputBuilder b)
    {
        var (type, size, count) = InferCodec.CheckDeclaredInput(model, b.Name!, b.Datatype!, b.Shape!);
        // n numbers take at least 2n - 1 bytes of JSON ("0,0"), so a larger count cannot fit in an accepted body.
        if (count > (maxBodyBytes + 1) / 2)
            throw Bad($"Input '{b.Name}' has shape {InferCodec.ShapeText(b.Shape!)}, which needs " +
                      $"{(count == long.MaxValue ? "more than long.MaxValue" : count.ToString(CultureInfo.InvariantCulture))} " +
                      $"elements, more than a request body of at most {maxBodyBytes} bytes can hold.");
        if (count > Array.MaxLength)
            throw Bad($"Input '{b.Name}' has shape {InferCodec.ShapeText(b.Shape!)}, which needs {count} elements, more than one .NET array holds.");
        return new ElementSink(b.Name!, type, size, b.Shape!.ToArray(), count);
    }

    /// <summary>The inputs whose data follows the JSON part as binary, in input order (their arrays are filled here).</summary>
    private readonly List<(ParsedInput Input, long Bytes)> pendingBinary = [];

    /// <summary>Reads the binary tensor data after the JSON part: exactly each binary input's bytes, in order, nothing after.</summary>
    private async Task ReadBinaryAsync(PipeReader body, long consumedTotal, CancellationToken cancellationToken)
    {
        foreach (var (input, bytes) in pendingBinary)
        {
            long filled = 0;
            while (filled < bytes)
            {
                var result = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                long take = Math.Min(buffer.Length, bytes - filled);
                try
                {
                    if (consumedTotal + take > maxBodyBytes)
                        throw new RequestException(413, $"The request body is larger than the limit of {maxBodyBytes} bytes.");
                    if (take == 0 && result.IsCompleted)
                        throw Bad($"The body ends inside the binary data of input '{input.Name}': {filled} of its {bytes} bytes arrived.");
                    Copy(buffer.Slice(0, take), input.Data, filled);
                    filled += take;
                    consumedTotal += take;
                }
                finally
                {
                    body.AdvanceTo(buffer.GetPosition(take));
                }
            }
        }
        var rest = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
        long extra = rest.Buffer.Length;
        body.AdvanceTo(rest.Buffer.End);
        if (extra > 0 || !rest.IsCompleted)
            throw Bad("The body holds more bytes after the binary data of the inputs that declare binary_data_size.");
    }

    private static void Copy(ReadOnlySequence<byte> source, Array target, long offset)
    {
        Span<byte> bytes = target switch
        {
            float[] f => System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()),
            long[] l => System.Runtime.InteropServices.MemoryMarshal.AsBytes(l.AsSpan()),
            int[] i => System.Runtime.InteropServices.MemoryMarshal.AsBytes(i.AsSpan()),
            _ => throw new InvalidOperationException("unreachable"),
        };
        source.CopyTo(bytes[(int)offset..]);
    }

    /// <summary>One input object as it is read.</summary>
    private sealed class InputBuilder
    {
        public string? Name;
        public List<long>? Shape;
        public string? Datatype;
        public ElementSink? Sink;
        public ArrayBufferWriter<byte>? Raw;   // data that came before shape/datatype: (kind, length, bytes) per element
        public int DataDepth;
        public long? BinarySize;                // binary tensor data extension: the bytes that follow the JSON part

        public ParsedInput Finish(InferRequestReader reader)
        {
            if (Name is null) throw Bad("Each input needs a 'name' string.");
            if (Shape is null) throw Bad($"Input '{Name}' needs a 'shape' array.");
            if (Datatype is null) throw Bad($"Input '{Name}' needs a 'datatype' string (e.g. \"FP32\").");
            if (BinarySize is long binary)
            {
                if (Sink is not null || Raw is not null) throw Bad($"Input '{Name}' has both 'data' and binary_data_size; give one.");
                if (binary > reader.maxBodyBytes)
                    throw new RequestException(413, $"Input '{Name}' declares {binary} bytes of binary data; the body limit is {reader.maxBodyBytes}.");
                var sink = reader.Sink(this);
                var parsed = sink.Allocate(binary);
                reader.pendingBinary.Add((parsed, binary));
                return parsed;
            }
            if (Sink is null && Raw is null) throw Bad($"Input '{Name}' has no 'data' (nor binary_data_size with the binary extension).");
            if (Raw is not null)
            {
                Sink = reader.Sink(this);
                var span = Raw.WrittenSpan;
                while (!span.IsEmpty)
                {
                    bool isString = span[0] == 1;
                    int n = BitConverter.ToInt32(span[1..5]);
                    Sink.Add(span.Slice(5, n), isString);
                    span = span[(5 + n)..];
                }
                Raw = null;
            }
            return Sink!.Finish();
        }
    }

    /// <summary>The elements of one input: an array that grows with the data received, up to the declared count.</summary>
    private sealed class ElementSink(string name, TensorElementType type, int size, long[] shape, long expected)
    {
        private float[]? floats;
        private long[]? longs;
        private int[]? ints;
        private long count;

        private void Grow()
        {
            long capacity = Math.Min(expected, Math.Max(1024, 2 * Capacity));
            switch (type)
            {
                case TensorElementType.Float: Array.Resize(ref floats, (int)capacity); break;
                case TensorElementType.Int64: Array.Resize(ref longs, (int)capacity); break;
                default: Array.Resize(ref ints, (int)capacity); break;
            }
        }

        private long Capacity => floats?.Length ?? longs?.Length ?? ints?.Length ?? 0;

        public void Add(ReadOnlySpan<byte> token, bool isString)
        {
            if (count == expected)
                throw Bad($"Input '{name}' has shape {InferCodec.ShapeText(shape)}, which needs {expected} elements, but its data holds more.");
            if (count == Capacity) Grow();
            switch (type)
            {
                case TensorElementType.Float:
                    float f;
                    if (isString)
                    {
                        f = token.SequenceEqual("NaN"u8) ? float.NaN
                          : token.SequenceEqual("Infinity"u8) ? float.PositiveInfinity
                          : token.SequenceEqual("-Infinity"u8) ? float.NegativeInfinity
                          : throw Bad($"Input '{name}' (FP32) has a non-numeric element \"{Encoding.UTF8.GetString(token)}\".");
                    }
                    else if (!float.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out f) || !float.IsFinite(f))
                    {
                        throw Bad($"Input '{name}' (FP32) has element {Encoding.UTF8.GetString(token)}, which is outside the FP32 range " +
                                  "(send \"Infinity\" or \"-Infinity\" for infinities).");
                    }
                    floats![count++] = f;
                    return;
                case TensorElementType.Int64:
                    longs![count++] = !isString && long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                        ? l : throw Bad($"Input '{name}' (INT64) has an element that is not a 64-bit integer: {Encoding.UTF8.GetString(token)}.");
                    return;
                default:
                    ints![count++] = !isString && int.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)
                        ? i : throw Bad($"Input '{name}' (INT32) has an element that is not a 32-bit integer: {Encoding.UTF8.GetString(token)}.");
                    return;
            }
        }

        /// <summary>The input with an array of the declared count, to be filled from binary data of
        /// <paramref name="bytes"/> bytes, which must be exactly the count times the element size.</summary>
        public ParsedInput Allocate(long bytes)
        {
            if (bytes != expected * size)
                throw Bad($"Input '{name}' has shape {InferCodec.ShapeText(shape)}, which needs {expected * size} bytes of binary data, " +
                    $"but its binary_data_size is {bytes}.");
            Array data = type switch
            {
                TensorElementType.Float => new float[expected],
                TensorElementType.Int64 => new long[expected],
                _ => new int[expected],
            };
            return new ParsedInput(name, type, shape, data);
        }

        public ParsedInput Finish()
        {
            if (count != expected)
                throw Bad($"Input '{name}' has shape {InferCodec.ShapeText(shape)}, which needs {expected} elements, but its data holds {count}.");
            Array data = type switch
            {
                TensorElementType.Float => floats ?? [],
                TensorElementType.Int64 => longs ?? [],
                _ => ints ?? [],
            };
            return new ParsedInput(name, type, shape, data);
        }
    }
}
