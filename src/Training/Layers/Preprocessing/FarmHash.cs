using System.Buffers.Binary;
using System.Text;

namespace OnnxKeras.Layers;

/// <summary>
/// FarmHash's <c>Fingerprint64</c> (farmhashna::Hash64, FarmHash 1.1 by Geoff Pike, MIT licence), the fingerprint
/// TensorFlow's <c>tf.strings.to_hash_bucket_fast</c> uses: Keras's Hashing layer and the hashed OOV buckets of
/// StringLookup take <c>Fingerprint64(utf8) mod buckets</c>. Little-endian reads, as the reference on x86 and ARM.
/// </summary>
internal static class FarmHash
{
    private const ulong K0 = 0xc3a5c85c97cb3127UL, K1 = 0xb492b66fbe98f273UL, K2 = 0x9ae16a3b2f90404fUL;

    /// <summary>The fingerprint of the UTF-8 bytes of <paramref name="s"/>.</summary>
    public static ulong Fingerprint64(string s) => Fingerprint64(Encoding.UTF8.GetBytes(s));

    /// <summary>TensorFlow's <c>to_hash_bucket_fast</c>: the fingerprint modulo <paramref name="buckets"/>.</summary>
    public static long Bucket(string s, long buckets) => (long)(Fingerprint64(s) % (ulong)buckets);

    public static ulong Fingerprint64(ReadOnlySpan<byte> s)
    {
        int len = s.Length;
        if (len <= 16) return HashLen0To16(s);
        if (len <= 32) return HashLen17To32(s);
        if (len <= 64) return HashLen33To64(s);
        const ulong seed = 81;
        ulong x = seed, y = unchecked(seed * K1 + 113), z = unchecked(ShiftMix(y * K2 + 113) * K2);
        (ulong First, ulong Second) v = (0, 0), w = (0, 0);
        unchecked
        {
            x = x * K2 + F64(s, 0);
            int end = (len - 1) / 64 * 64, last64 = end + ((len - 1) & 63) - 63, p = 0;
            do
            {
                x = Rot(x + y + v.First + F64(s, p + 8), 37) * K1;
                y = Rot(y + v.Second + F64(s, p + 48), 42) * K1;
                x ^= w.Second;
                y += v.First + F64(s, p + 40);
                z = Rot(z + w.First, 33) * K1;
                v = WeakHashLen32WithSeeds(s, p, v.Second * K1, x + w.First);
                w = WeakHashLen32WithSeeds(s, p + 32, z + w.Second, y + F64(s, p + 16));
                (z, x) = (x, z);
                p += 64;
            }
            while (p != end);
            ulong mul = K1 + ((z & 0xff) << 1);
            p = last64;
            w.First += (ulong)((len - 1) & 63);
            v.First += w.First;
            w.First += v.First;
            x = Rot(x + y + v.First + F64(s, p + 8), 37) * mul;
            y = Rot(y + v.Second + F64(s, p + 48), 42) * mul;
            x ^= w.Second * 9;
            y += v.First * 9 + F64(s, p + 40);
            z = Rot(z + w.First, 33) * mul;
            v = WeakHashLen32WithSeeds(s, p, v.Second * mul, x + w.First);
            w = WeakHashLen32WithSeeds(s, p + 32, z + w.Second, y + F64(s, p + 16));
            (z, x) = (x, z);
            return HashLen16(HashLen16(v.First, w.First, mul) + ShiftMix(y) * K0 + z, HashLen16(v.Second, w.Second, mul) + x, mul);
        }
    }

    private static ulong F64(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);

    private static ulong F32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);

    private static ulong Rot(ulong v, int shift) => (v >> shift) | (v << (64 - shift));

    private static ulong ShiftMix(ulong v) => v ^ (v >> 47);

    private static ulong HashLen16(ulong u, ulong v, ulong mul)
    {
        unchecked
        {
            ulong a = (u ^ v) * mul;
            a ^= a >> 47;
            ulong b = (v ^ a) * mul;
            b ^= b >> 47;
            return b * mul;
        }
    }

    private static ulong HashLen0To16(ReadOnlySpan<byte> s)
    {
        int len = s.Length;
        unchecked
        {
            if (len >= 8)
            {
                ulong mul = K2 + (ulong)len * 2, a = F64(s, 0) + K2, b = F64(s, len - 8);
                ulong c = Rot(b, 37) * mul + a, d = (Rot(a, 25) + b) * mul;
                return HashLen16(c, d, mul);
            }
            if (len >= 4)
            {
                ulong mul = K2 + (ulong)len * 2, a = F32(s, 0);
                return HashLen16((ulong)len + (a << 3), F32(s, len - 4), mul);
            }
            if (len > 0)
            {
                uint y = s[0] + ((uint)s[len >> 1] << 8), z = (uint)len + ((uint)s[len - 1] << 2);
                return ShiftMix(y * K2 ^ z * K0) * K2;
            }
            return K2;
        }
    }

    private static ulong HashLen17To32(ReadOnlySpan<byte> s)
    {
        int len = s.Length;
        unchecked
        {
            ulong mul = K2 + (ulong)len * 2, a = F64(s, 0) * K1, b = F64(s, 8), c = F64(s, len - 8) * mul, d = F64(s, len - 16) * K2;
            return HashLen16(Rot(a + b, 43) + Rot(c, 30) + d, a + Rot(b + K2, 18) + c, mul);
        }
    }

    private static ulong HashLen33To64(ReadOnlySpan<byte> s)
    {
        int len = s.Length;
        unchecked
        {
            ulong mul = K2 + (ulong)len * 2, a = F64(s, 0) * K2, b = F64(s, 8), c = F64(s, len - 8) * mul, d = F64(s, len - 16) * K2;
            ulong y = Rot(a + b, 43) + Rot(c, 30) + d, z = HashLen16(y, a + Rot(b + K2, 18) + c, mul);
            ulong e = F64(s, 16) * mul, f = F64(s, 24), g = (y + F64(s, len - 32)) * mul, h = (z + F64(s, len - 24)) * mul;
            return HashLen16(Rot(e + f, 43) + Rot(g, 30) + h, e + Rot(f + a, 18) + g, mul);
        }
    }

    private static (ulong, ulong) WeakHashLen32WithSeeds(ReadOnlySpan<byte> s, int at, ulong a, ulong b)
    {
        unchecked
        {
            ulong w = F64(s, at), x = F64(s, at + 8), y = F64(s, at + 16), z = F64(s, at + 24);
            a += w;
            b = Rot(b + a + z, 21);
            ulong c = a;
            a += x;
            a += y;
            b += Rot(a, 44);
            return (a + z, b + c);
        }
    }
}

/// <summary>
/// SipHash-2-4 (Aumasson and Bernstein) with a 128-bit key given as two 64-bit halves: the keyed hash of TensorFlow's
/// <c>tf.strings.to_hash_bucket_strong</c> (highwayhash's SipHash), which Keras's Hashing layer uses with a <c>salt</c>.
/// </summary>
internal static class SipHash
{
    public static ulong Hash(ulong k0, ulong k1, ReadOnlySpan<byte> data)
    {
        unchecked
        {
            ulong v0 = k0 ^ 0x736f6d6570736575UL, v1 = k1 ^ 0x646f72616e646f6dUL, v2 = k0 ^ 0x6c7967656e657261UL, v3 = k1 ^ 0x7465646279746573UL;
            int full = data.Length / 8 * 8;
            for (int i = 0; i < full; i += 8)
            {
                ulong m = BinaryPrimitives.ReadUInt64LittleEndian(data[i..]);
                v3 ^= m;
                Round(ref v0, ref v1, ref v2, ref v3);
                Round(ref v0, ref v1, ref v2, ref v3);
                v0 ^= m;
            }
            ulong last = (ulong)data.Length << 56;
            for (int i = full; i < data.Length; i++) last |= (ulong)data[i] << (8 * (i - full));
            v3 ^= last;
            Round(ref v0, ref v1, ref v2, ref v3);
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= last;
            v2 ^= 0xff;
            for (int i = 0; i < 4; i++) Round(ref v0, ref v1, ref v2, ref v3);
            return v0 ^ v1 ^ v2 ^ v3;
        }
    }

    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        unchecked
        {
            v0 += v1; v1 = Rot(v1, 13); v1 ^= v0; v0 = Rot(v0, 32);
            v2 += v3; v3 = Rot(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Rot(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Rot(v1, 17); v1 ^= v2; v2 = Rot(v2, 32);
        }
    }

    private static ulong Rot(ulong v, int b) => (v << b) | (v >> (64 - b));
}
