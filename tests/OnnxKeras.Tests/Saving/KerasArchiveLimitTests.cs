using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// Zip bombs: a .keras entry that inflates past its cap is refused while inflating, with the archive and the entry named.
/// The caps are lowered here so that a few MB of zeros (a few KB compressed) exceed them.
/// </summary>
public class KerasArchiveLimitTests
{
    private const string Config = """{"class_name": "Sequential", "config": {"name": "s", "layers": []}}""";

    private static void WriteZip(string path, params (string Name, byte[] Data)[] entries)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, data) in entries)
        {
            using var s = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
            s.Write(data);
        }
    }

    /// <summary>Rewrites the "uncompressed size" fields of entry <paramref name="name"/> (local header and central directory) to <paramref name="size"/>: a lying archive.</summary>
    private static void Lie(string path, string name, uint size)
    {
        var bytes = File.ReadAllBytes(path);
        bool Named(int at, int lengthAt) => Encoding.ASCII.GetString(bytes, at, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(lengthAt))) == name;
        for (int i = 0; i + 46 <= bytes.Length; i++)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            if (sig == 0x04034b50 && Named(i + 30, i + 26)) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), size); // local file header
            else if (sig == 0x02014b50 && Named(i + 46, i + 28)) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), size); // central directory
        }
        File.WriteAllBytes(path, bytes);
    }

    private static T WithCaps<T>(long config, long weights, Func<T> body)
    {
        long oldConfig = KerasArchive.MaxConfigEntryBytes, oldWeights = KerasArchive.MaxWeightsEntryBytes;
        KerasArchive.MaxConfigEntryBytes = config;
        KerasArchive.MaxWeightsEntryBytes = weights;
        try
        {
            return body();
        }
        finally
        {
            KerasArchive.MaxConfigEntryBytes = oldConfig;
            KerasArchive.MaxWeightsEntryBytes = oldWeights;
        }
    }

    [Fact]
    public void TheDefaultCapsAre64MiBAndTheLargestByteArray()
    {
        Assert.Equal(64L * 1024 * 1024, KerasArchive.MaxConfigEntryBytes);
        Assert.Equal(2_147_483_591L, KerasArchive.MaxWeightsEntryBytes);
    }

    [Fact]
    public void AConfigThatInflatesPastItsCapIsRefused()
    {
        using var dir = NewTempDir();
        var path = dir.File("bomb.keras");
        // 3 MB: the config, then spaces (valid JSON whitespace) - about 3 KB compressed.
        var config = Encoding.UTF8.GetBytes(Config + new string(' ', 3_000_000));
        WriteZip(path, ("config.json", config), ("model.weights.h5", [0]));
        var e = WithCaps(1_000_000, 1_000_000, () => Assert.Throws<InvalidDataException>(() => Model.LoadModel(path)));
        Assert.Contains($"'{path}': its entry 'config.json' declares 3,000,", e.Message);
        Assert.Contains("more than the 1,000,000 bytes", e.Message);
    }

    [Fact]
    public void AWeightsEntryPastItsCapIsRefusedAndALyingSizeIsNotInflatedFurther()
    {
        using var dir = NewTempDir();
        var path = dir.File("liar.keras");
        WriteZip(path, ("model.weights.h5", new byte[4_000_000]), ("config.json", Encoding.UTF8.GetBytes(Config)));
        var declared = Assert.Throws<InvalidDataException>(() => WithCaps(1_000_000, 1_000_000, () => Model.LoadModel(path)));
        Assert.Contains("its entry 'model.weights.h5' declares 4,000,000 bytes, more than the 1,000,000 bytes", declared.Message);
        // Now the weights entry claims 100 bytes. .NET stops inflating at the declared size (ReadEntry would also stop
        // at the cap), so the loader sees 100 bytes of zeros: not HDF5, and refused as such, never inflated to 4 MB.
        Lie(path, "model.weights.h5", 100);
        var e = Assert.Throws<InvalidDataException>(() => WithCaps(1_000_000, 1_000_000, () => Model.LoadModel(path)));
        Assert.True(e.Message.Contains($"'{path}!model.weights.h5' is not an HDF5 file", StringComparison.Ordinal), e.Message);
    }
}
