using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>
/// <see cref="Dataset.Cache(string)"/>: the first complete pass streams the elements into a temporary file, renamed to
/// the cache file when the pass ends; later passes read the file. Layout (little-endian): the magic line, then per element
/// a 1 and the tensor count, per tensor its dtype, rank, dimensions, byte count and bytes; then a 0 and the element count.
/// </summary>
internal sealed class FileCacheDataset(Dataset inner, string path) : Dataset
{
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("ONNXKERAS-DATASET-CACHE 1\n");

    public override long Cardinality => inner.Cardinality;
    public override bool IsBatched => inner.IsBatched;

    public override IEnumerable<Tensor[]> Elements() => File.Exists(path) ? Read(path) : Write();

    private IEnumerable<Tensor[]> Write()
    {
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string temp = $"{path}.{Guid.NewGuid():N}.partial";
        bool complete = false;
        try
        {
            using (var writer = new BinaryWriter(new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16)))
            {
                writer.Write(Magic);
                long count = 0;
                foreach (var e in inner.Elements())
                {
                    writer.Write(1);
                    writer.Write(e.Length);
                    foreach (var t in e) WriteTensor(writer, t);
                    count++;
                    yield return e;
                }
                writer.Write(0);
                writer.Write(count);
            }
            // Atomic: a reader sees no file or the whole one. A concurrent pass that finished first is replaced by an equal copy.
            File.Move(temp, path, overwrite: true);
            complete = true;
        }
        finally
        {
            if (!complete) TryDelete(temp);
        }
    }

    private static void WriteTensor(BinaryWriter writer, Tensor t)
    {
        using var cpu = t.detach().cpu().contiguous();
        writer.Write((int)cpu.dtype);
        writer.Write((int)cpu.dim());
        foreach (long d in cpu.shape) writer.Write(d);
        var bytes = cpu.bytes;
        writer.Write((long)bytes.Length);
        writer.Write(bytes);
    }

    private static IEnumerable<Tensor[]> Read(string path)
    {
        using var reader = new BinaryReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16));
        long count = 0;
        Tensor[]? element = null;
        try
        {
            var magic = reader.ReadBytes(Magic.Length); // short files fail the comparison
            if (!magic.AsSpan().SequenceEqual(Magic)) throw Bad(path, "it is not a dataset cache file (wrong header)");
            while (true)
            {
                int marker = Checked(path, count, reader.ReadInt32);
                if (marker == 0)
                {
                    long written = Checked(path, count, reader.ReadInt64);
                    if (written != count) throw Bad(path, $"it says {written} elements but holds {count}");
                    yield break;
                }
                if (marker != 1) throw Bad(path, $"element {count} has a bad marker {marker}");
                int n = Checked(path, count, reader.ReadInt32);
                if (n is < 1 or > 1024) throw Bad(path, $"element {count} claims {n} tensors");
                element = new Tensor[n];
                for (int k = 0; k < n; k++) element[k] = ReadTensor(reader, path, count);
                count++;
                var result = element;
                element = null;
                yield return result;
            }
        }
        finally
        {
            if (element is not null) foreach (var t in element) t?.Dispose();
        }
    }

    private static T Checked<T>(string path, long index, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (EndOfStreamException)
        {
            throw Bad(path, $"it ends before element {index} is complete (truncated)");
        }
    }

    private static Tensor ReadTensor(BinaryReader reader, string path, long index)
    {
        try
        {
            var dtype = (ScalarType)reader.ReadInt32();
            if (!Enum.IsDefined(dtype)) throw Bad(path, $"element {index} has an unknown dtype {(int)dtype}");
            int rank = reader.ReadInt32();
            if (rank is < 0 or > 64) throw Bad(path, $"element {index} has a tensor of rank {rank}");
            var shape = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                shape[i] = reader.ReadInt64();
                if (shape[i] < 0) throw Bad(path, $"element {index} has a negative dimension");
            }
            long length = reader.ReadInt64();
            var bytes = reader.ReadBytes(checked((int)length));
            if (bytes.Length != length) throw new EndOfStreamException();
            var t = empty(shape, dtype);
            if (t.NumberOfElements * t.ElementSize != length)
            {
                t.Dispose();
                throw Bad(path, $"element {index} has {length} bytes for shape [{string.Join(", ", shape)}]");
            }
            t.bytes = bytes;
            return t;
        }
        catch (EndOfStreamException)
        {
            throw Bad(path, $"it ends inside element {index} (truncated)");
        }
    }

    private static InvalidDataException Bad(string path, string why) =>
        new($"Dataset.Cache: cannot read the cache file '{path}': {why}. Delete it to rebuild the cache.");

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
