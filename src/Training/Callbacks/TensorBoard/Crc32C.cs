using System.Buffers.Binary;
using System.Numerics;

namespace OnnxKeras.Callbacks;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78; RFC 3720), as TFRecord files use it, and TFRecord's masking
/// of stored CRCs. Built on <see cref="BitOperations.Crc32C(uint, ulong)"/> (the CPU's CRC32C instruction where there is
/// one, a table otherwise), which updates a CRC without the initial and final inversions; not
/// <c>System.IO.Hashing.Crc32</c>, which is the IEEE polynomial.
/// </summary>
internal static class Crc32C
{
    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        // Eight bytes at a time in little-endian order (the order the bytes come in), then the rest one by one.
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>TFRecord's masked CRC: <c>((crc &gt;&gt; 15) | (crc &lt;&lt; 17)) + 0xa282ead8</c>.</summary>
    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}
