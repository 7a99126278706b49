using System.Buffers.Binary;
using Google.Protobuf;
using Xunit;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// An independent reader of TensorBoard event files for the tests: TFRecord framing with both masked CRC-32C checked
/// (a bitwise CRC written here, not the library's table), and Event/Summary/HistogramProto decoded field by field with
/// <see cref="CodedInputStream"/> using TensorFlow's field numbers (not the generated classes).
/// </summary>
internal static class TfEventReader
{
    public sealed record Histogram(double Min, double Max, double Num, double Sum, double SumSquares, List<double> Limits, List<double> Buckets);

    public sealed record Value(string Tag, float? Simple, Histogram? Histo);

    public sealed record Event(double WallTime, long Step, string? FileVersion, List<Value> Values);

    /// <summary>Bitwise CRC-32C (reflected 0x82F63B78).</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) == 1 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return crc ^ 0xFFFFFFFF;
    }

    public static uint Masked(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8);

    public static List<Event> Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        int pos = 0;
        while (pos < bytes.Length)
        {
            Assert.True(pos + 12 <= bytes.Length, "truncated record header");
            var lengthBytes = bytes.AsSpan(pos, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            Assert.Equal(Masked(Crc32C(lengthBytes)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8, 4)));
            pos += 12;
            Assert.True(pos + (long)length + 4 <= bytes.Length, "truncated record");
            var data = bytes.AsSpan(pos, (int)length);
            pos += (int)length;
            Assert.Equal(Masked(Crc32C(data)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos, 4)));
            pos += 4;
            events.Add(ParseEvent(data.ToArray()));
        }
        return events;
    }

    private static Event ParseEvent(byte[] data)
    {
        var input = new CodedInputStream(data);
        double wall = 0;
        long step = 0;
        string? version = null;
        var values = new List<Value>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Assert.Equal(WireFormat.WireType.Fixed64, WireFormat.GetTagWireType(tag));
                    wall = input.ReadDouble();
                    break;
                case 2:
                    Assert.Equal(WireFormat.WireType.Varint, WireFormat.GetTagWireType(tag));
                    step = input.ReadInt64();
                    break;
                case 3:
                    version = input.ReadString();
                    break;
                case 5:
                    var summary = new CodedInputStream(input.ReadBytes().ToByteArray());
                    uint t;
                    while ((t = summary.ReadTag()) != 0)
                    {
                        if (WireFormat.GetTagFieldNumber(t) == 1) values.Add(ParseValue(summary.ReadBytes().ToByteArray()));
                        else summary.SkipLastField();
                    }
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return new Event(wall, step, version, values);
    }

    private static Value ParseValue(byte[] data)
    {
        var input = new CodedInputStream(data);
        string name = "";
        float? simple = null;
        Histogram? histo = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = input.ReadString(); break;
                case 2:
                    Assert.Equal(WireFormat.WireType.Fixed32, WireFormat.GetTagWireType(tag));
                    simple = input.ReadFloat();
                    break;
                case 5: histo = ParseHistogram(input.ReadBytes().ToByteArray()); break;
                default: input.SkipLastField(); break;
            }
        }
        return new Value(name, simple, histo);
    }

    private static Histogram ParseHistogram(byte[] data)
    {
        var input = new CodedInputStream(data);
        var d = new double[6];
        var limits = new List<double>();
        var buckets = new List<double>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            if (field is >= 1 and <= 5) d[field] = input.ReadDouble();
            else if (field is 6 or 7)
            {
                var list = field == 6 ? limits : buckets;
                if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    byte[] packed = input.ReadBytes().ToByteArray();
                    Assert.Equal(0, packed.Length % 8);
                    for (int i = 0; i < packed.Length; i += 8) list.Add(BinaryPrimitives.ReadDoubleLittleEndian(packed.AsSpan(i, 8)));
                }
                else list.Add(input.ReadDouble());
            }
            else input.SkipLastField();
        }
        return new Histogram(d[1], d[2], d[3], d[4], d[5], limits, buckets);
    }

    /// <summary>Scalars by tag: (step, value) in file order.</summary>
    public static Dictionary<string, List<(long Step, float Value)>> Scalars(IEnumerable<Event> events)
    {
        var result = new Dictionary<string, List<(long, float)>>();
        foreach (var e in events)
        {
            foreach (var v in e.Values.Where(v => v.Simple is not null))
            {
                if (!result.TryGetValue(v.Tag, out var list)) result[v.Tag] = list = [];
                list.Add((e.Step, v.Simple!.Value));
            }
        }
        return result;
    }
}
