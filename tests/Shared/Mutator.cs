namespace OnnxKeras.Tests.Shared;

/// <summary>
/// The byte mutator of the fuzz tests (linked into both test projects): one of six mutations of a valid file, chosen by a
/// seeded generator so that a failing mutant reproduces.
/// </summary>
internal static class Mutator
{
    /// <summary>Flips 1-8 bits, truncates, duplicates a chunk in place, zeroes a range, sets a range to 0xFF (large
    /// lengths, offsets and counts), or inserts random bytes.</summary>
    public static byte[] Mutate(byte[] original, Random rng)
    {
        var bytes = original.ToList();
        int at = rng.Next(bytes.Count);
        switch (rng.Next(6))
        {
            case 0:
                for (int k = rng.Next(1, 9); k > 0; k--)
                {
                    int i = rng.Next(bytes.Count);
                    bytes[i] ^= (byte)(1 << rng.Next(8));
                }
                break;
            case 1:
                bytes.RemoveRange(at, bytes.Count - at);
                break;
            case 2:
                bytes.InsertRange(at, bytes.GetRange(at, rng.Next(1, Math.Min(256, bytes.Count - at) + 1)));
                break;
            case 3:
                for (int i = at, end = Math.Min(bytes.Count, at + rng.Next(1, 64)); i < end; i++) bytes[i] = 0;
                break;
            case 4:
                for (int i = at, end = Math.Min(bytes.Count, at + rng.Next(1, 8)); i < end; i++) bytes[i] = 0xFF;
                break;
            default:
                var junk = new byte[rng.Next(1, 32)];
                rng.NextBytes(junk);
                bytes.InsertRange(rng.Next(bytes.Count + 1), junk);
                break;
        }
        return bytes.ToArray();
    }
}
