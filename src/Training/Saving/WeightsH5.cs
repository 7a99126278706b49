using System.Buffers.Binary;
using PureHDF;

namespace OnnxKeras.Saving;

/// <summary>
/// Reading of HDF5 weights files: the check that tells Keras 3's layout (<see cref="KerasWeightsH5"/>) from Keras 2's
/// legacy one (<see cref="LegacyWeightsH5"/>), and the attribute and dataset reading both share.
/// </summary>
internal static class WeightsH5
{
    /// <summary>
    /// Reads a Keras 3 <c>.weights.h5</c> or a legacy Keras 2 <c>.h5</c>; <paramref name="open"/> gives a seekable stream.
    /// With <paramref name="withOptimizer"/>, a Keras 3 file's optimizer state is read in the same pass
    /// (<see cref="StoredWeights.Optimizer"/>; <paramref name="writtenByOnnxKeras"/> as for
    /// <see cref="KerasWeightsH5.ReadOptimizerState(Stream, string, bool)"/>), so the file is parsed once and a damaged
    /// optimizer section is found before any weight is assigned.
    /// </summary>
    internal static StoredWeights Read(string what, Func<Stream> open, bool withOptimizer = false, bool writtenByOnnxKeras = false) => Guard(what, () =>
    {
        using var stream = open();
        CheckNotTruncated(stream, what);
        using var file = Open(stream, leaveOpen: false);
        // A Keras 2 weights file first: its root lists layer_names, and a layer may be named "layers" or "model_weights".
        if (file.AttributeExists("layer_names") || file.AttributeExists("layer_names0")) return new StoredWeights(LegacyWeightsH5.Read(file, what));
        if (file.LinkExists("model_weights")) return new StoredWeights(LegacyWeightsH5.Read(file.Group("model_weights"), what));
        if (file.LinkExists("layers"))
        {
            var weights = KerasWeightsH5.Read(file.Group("layers"), file, what);
            return withOptimizer ? weights with { Optimizer = KerasWeightsH5.ReadOptimizerState(file, what, writtenByOnnxKeras) } : weights;
        }
        throw new InvalidDataException($"'{what}' is an HDF5 file but holds no Keras weights (no 'layers' group, no 'model_weights' " +
            "group, no 'layer_names' attribute).");
    });

    /// <summary>How many weights files this thread has parsed (opened as HDF5) so far: lets tests check that a load parses once.</summary>
    [ThreadStatic]
    internal static int FilesParsed;

    /// <summary>Opens a weights stream as HDF5 (the one place the weight readers parse a file, counted in <see cref="FilesParsed"/>).</summary>
    internal static PureHDF.VOL.Native.NativeFile Open(Stream stream, bool leaveOpen)
    {
        FilesParsed++;
        return H5File.Open(stream, leaveOpen: leaveOpen);
    }

    /// <summary>
    /// Runs one read of an HDF5 file and turns whatever the HDF5 reader throws on a damaged file (PureHDF throws plain
    /// <see cref="Exception"/>, <see cref="NotSupportedException"/>, index errors, ...) into the documented
    /// <see cref="InvalidDataException"/> naming <paramref name="what"/>, keeping the original as its inner exception.
    /// </summary>
    internal static T Guard<T>(string what, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not InvalidDataException and not FileNotFoundException)
        {
            throw new InvalidDataException($"'{what}' cannot be read as a Keras HDF5 weights file: {e.Message}", e);
        }
    }

    /// <summary>Compares the superblock's end-of-file address with the stream length (HDF5 readers may not notice a cut-off tail).</summary>
    private static void CheckNotTruncated(Stream stream, string what)
    {
        var head = new byte[64];
        stream.Position = 0;
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        if (n < 16 || head[0] != 0x89 || head[1] != (byte)'H' || head[2] != (byte)'D' || head[3] != (byte)'F')
            throw new InvalidDataException($"'{what}' is not an HDF5 file (it lacks the HDF5 signature).");
        int version = head[8];
        int offsetSize = version <= 1 ? head[13] : head[9];
        if (offsetSize != 8) return;
        int eofAt = version switch { 0 => 40, 1 => 44, 2 or 3 => 28, _ => -1 };
        if (eofAt < 0 || eofAt + 8 > n) return;
        ulong eof = BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(eofAt));
        if (eof != ulong.MaxValue && eof > (ulong)stream.Length)
            throw new InvalidDataException($"'{what}' is truncated: its HDF5 superblock says the file ends at byte {eof}, but it has {stream.Length} bytes.");
    }

    /// <summary>A string-list attribute (also split as <c>name0</c>, <c>name1</c>, ...); null when absent; empty for Keras's empty float array.</summary>
    internal static string[]? ReadStrings(IH5Object obj, string name)
    {
        if (obj.AttributeExists(name)) return ReadStringAttribute(obj.Attribute(name));
        if (!obj.AttributeExists(name + "0")) return null;
        var all = new List<string>();
        for (int k = 0; obj.AttributeExists($"{name}{k}"); k++) all.AddRange(ReadStringAttribute(obj.Attribute($"{name}{k}")));
        return all.ToArray();
    }

    private static string[] ReadStringAttribute(IH5Attribute attr)
    {
        if (attr.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength)) return [];
        string?[] values = attr.Space.Dimensions.Length == 0 ? [attr.Read<string>()] : attr.Read<string[]>();
        // A variable-length string whose heap entry is damaged reads as null: the file is corrupt, not nameless.
        if (values.Any(v => v is null)) throw new InvalidDataException($"The HDF5 string attribute '{attr.Name}' holds an unreadable (null) string.");
        return values!;
    }

    internal static StoredArray ReadArray(IH5Dataset ds, string name, string what)
    {
        var shape = ds.Space.Dimensions.Select(d => (long)d).ToArray();
        float[] data;
        if (ds.Type.Class == H5DataTypeClass.FloatingPoint && ds.Type.Size == 4) data = ds.Read<float[]>();
        else if (ds.Type.Class == H5DataTypeClass.FloatingPoint && ds.Type.Size == 8) data = ds.Read<double[]>().Select(x => (float)x).ToArray();
        else throw new InvalidDataException($"'{what}': weight '{name}' has HDF5 type {ds.Type.Class} of {ds.Type.Size} bytes; only " +
            "float32/float64 weights can be loaded.");
        long n = shape.Aggregate(1L, (a, b) => a * b);
        if (data.LongLength != n)
            throw new InvalidDataException($"'{what}': weight '{name}' of shape {WeightFiles.FormatShape(shape)} holds {data.LongLength} values.");
        return new StoredArray(name, shape, data);
    }
}
