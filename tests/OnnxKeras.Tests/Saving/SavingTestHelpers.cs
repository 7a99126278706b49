using Xunit;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using OnnxKeras.Models;

namespace OnnxKeras.Tests.Saving;

/// <summary>Helpers for saving tests: a temporary folder, the Keras fixtures and a tiny .npy reader.</summary>
internal static class SavingTestHelpers
{
    /// <summary>A fresh temporary folder (deleted by the caller's Dispose).</summary>
    public static TempDir NewTempDir() => new();

    /// <summary>An archive entry's bytes in a seekable stream at position 0 (entry streams cannot seek; H5File needs to).</summary>
    public static MemoryStream ReadEntry(ZipArchive zip, string name)
    {
        var copy = new MemoryStream();
        using (var entry = zip.GetEntry(name)!.Open()) entry.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }

    /// <summary>The Keras fixtures folder, tests/fixtures/keras in the repository (real files written by Keras; see its README).</summary>
    public static string FixturesDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OnnxKeras.sln"))) dir = dir.Parent;
        if (dir is null) throw new DirectoryNotFoundException($"No OnnxKeras.sln above {AppContext.BaseDirectory}: cannot find tests/fixtures/keras.");
        var fixtures = Path.Combine(dir.FullName, "tests", "fixtures", "keras");
        if (!Directory.Exists(fixtures)) throw new DirectoryNotFoundException($"The Keras fixtures folder {fixtures} is missing.");
        return fixtures;
    }

    /// <summary>The path of the Keras fixture <paramref name="name"/> in tests/fixtures/keras; a missing file fails the test.</summary>
    public static string Fixture(string name)
    {
        var path = Path.Combine(FixturesDir(), name);
        if (!File.Exists(path)) throw new FileNotFoundException($"Keras fixture {name} is missing from tests/fixtures/keras.", path);
        return path;
    }

    /// <summary>Reads a little-endian float32/float64 C-order .npy file as float32 values and its shape.</summary>
    public static (float[] Data, long[] Shape) ReadNpy(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY") throw new InvalidDataException($"{path} is not a .npy file.");
        int major = bytes[6];
        int headerLen = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        int start = major == 1 ? 10 : 12;
        string header = Encoding.ASCII.GetString(bytes, start, headerLen);
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal)) throw new NotSupportedException("Fortran order");
        string descr = header.Split("'descr':")[1].Split('\'')[1];
        string shapeText = header.Split("'shape':")[1].Split('(')[1].Split(')')[0];
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var data = new float[n];
        var body = bytes.AsSpan(start + headerLen);
        for (long i = 0; i < n; i++)
        {
            data[i] = descr switch
            {
                "<f4" => BinaryPrimitives.ReadSingleLittleEndian(body[(int)(i * 4)..]),
                "<f8" => (float)BinaryPrimitives.ReadDoubleLittleEndian(body[(int)(i * 8)..]),
                _ => throw new NotSupportedException(descr),
            };
        }
        return (data, shape);
    }

    /// <summary>A float32 array of <paramref name="shape"/> holding <paramref name="data"/> (row-major).</summary>
    public static Array ToArray(float[] data, long[] shape)
    {
        var arr = Array.CreateInstance(typeof(float), shape);
        Buffer.BlockCopy(data, 0, arr, 0, data.Length * sizeof(float));
        return arr;
    }

    /// <summary>Random float32 data of <paramref name="shape"/> in [-1, 1).</summary>
    public static Array Random(int seed, params long[] shape)
    {
        var rng = new Random(seed);
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var data = new float[n];
        for (long i = 0; i < n; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return ToArray(data, shape);
    }

    /// <summary>Largest absolute difference between two predictions.</summary>
    public static double MaxDiff(NDArray a, NDArray b)
    {
        Assert.Equal(a.Shape, b.Shape);
        return a.Data.Zip(b.Data).Max(p => Math.Abs((double)p.First - p.Second));
    }

    /// <summary>Copies every weight of <paramref name="from"/> into <paramref name="to"/> (same architecture).</summary>
    public static void CopyWeights(Model from, Model to)
    {
        var src = from.Weights;
        var dst = to.Weights;
        Assert.Equal(src.Count, dst.Count);
        for (int i = 0; i < src.Count; i++) dst[i].Assign(src[i].ToArray());
    }
}

/// <summary>A temporary folder, deleted on Dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "onnxkeras-saving-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
