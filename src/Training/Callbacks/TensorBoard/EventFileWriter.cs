using System.Buffers.Binary;
using Google.Protobuf;
using OnnxKeras.Callbacks.TensorBoardProto;

namespace OnnxKeras.Callbacks;

/// <summary>
/// Writes a TensorBoard event file (<c>events.out.tfevents.&lt;unix time&gt;.&lt;host&gt;.&lt;pid&gt;.v2</c>): TFRecord framing
/// (uint64 length, masked CRC-32C of the length, the serialized <c>Event</c>, masked CRC-32C of it; little-endian), the
/// first record an Event with <c>file_version = "brain.Event:2"</c>.
/// </summary>
internal sealed class EventFileWriter : IDisposable
{
    private readonly FileStream stream;

    /// <summary>Creates <paramref name="directory"/> if needed and a new event file in it.</summary>
    public EventFileWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string stem = $"events.out.tfevents.{now}.{Environment.MachineName}.{Environment.ProcessId}";
        for (int n = 0; ; n++)
        {
            string path = Path.Combine(directory, n == 0 ? stem + ".v2" : $"{stem}.{n}.v2");
            if (File.Exists(path)) continue;
            try
            {
                stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                FilePath = path;
                break;
            }
            catch (IOException) when (File.Exists(path))
            {
            }
        }
        Write(new Event { WallTime = WallTime(), FileVersion = "brain.Event:2" });
        Flush();
    }

    /// <summary>The event file.</summary>
    public string FilePath { get; } = "";

    private static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>Writes one scalar summary (TensorBoard's <c>simple_value</c>, a float).</summary>
    public void Scalar(string tag, double value, long step)
    {
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = (float)value });
        Write(new Event { WallTime = WallTime(), Step = step, Summary = summary });
    }

    /// <summary>Writes one histogram summary of <paramref name="values"/>.</summary>
    public void Histogram(string tag, IReadOnlyList<double> values, long step)
    {
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, Histo = TfHistogram.Build(values) });
        Write(new Event { WallTime = WallTime(), Step = step, Summary = summary });
    }

    private void Write(Event e)
    {
        byte[] data = e.ToByteArray();
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Mask(Crc32C.Compute(header[..8])));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Mask(Crc32C.Compute(data)));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
    }

    /// <summary>Pushes what was written to the file.</summary>
    public void Flush() => stream.Flush();

    /// <inheritdoc />
    public void Dispose() => stream.Dispose();
}
