using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace OnnxKeras.Cli;

/// <summary>A numeric array read from a file: values as double (exact for float32, int32 and int64 up to 2^53) plus shape.</summary>
internal sealed record NumericArray(double[] Values, long[] Shape, bool IsInteger);

/// <summary>Readers for CSV and NumPy .npy files.</summary>
internal static partial class ArrayFiles
{
    public static NumericArray Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Input file '{Path.GetFullPath(path)}' does not exist.", path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".npy" => ReadNpy(path),
            ".csv" or ".txt" => ReadCsv(path),
            var ext => throw new ArgumentException($"Input file '{path}': unknown extension '{ext}'; use .csv or .npy."),
        };
    }

    /// <summary>Comma-separated rows of numbers; an optional first row of column names is skipped. Shape [rows, columns].</summary>
    public static NumericArray ReadCsv(string path)
    {
        var values = new List<double>();
        int columns = -1, rows = 0, lineNumber = 0;
        bool isInteger = true;
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            var parsed = new double[cells.Length];
            bool numeric = true;
            for (int i = 0; i < cells.Length && numeric; i++)
                numeric = double.TryParse(cells[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out parsed[i]);
            if (!numeric)
            {
                if (rows == 0 && columns < 0) { columns = cells.Length; continue; } // header
                throw new InvalidDataException($"{path}:{lineNumber}: '{line}' is not a row of numbers.");
            }
            if (columns >= 0 && cells.Length != columns)
                throw new InvalidDataException($"{path}:{lineNumber}: {cells.Length} columns, but the first row has {columns}.");
            columns = cells.Length;
            foreach (var v in parsed) isInteger &= v == Math.Floor(v) && !double.IsInfinity(v);
            values.AddRange(parsed);
            rows++;
        }
        if (rows == 0)
            throw new InvalidDataException($"{path}: no rows of numbers.");
        return new NumericArray(values.ToArray(), [rows, columns], isInteger);
    }

    /// <summary>NumPy format 1.0-3.0, C order, dtypes f4, f8, i4, i8 (either byte order).</summary>
    public static NumericArray ReadNpy(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path}: not a .npy file (missing the \\x93NUMPY magic).");
        int major = bytes[6];
        int headerLength, offset;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); offset = 10; }
        else if (major is 2 or 3) { headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))); offset = 12; }
        else throw new InvalidDataException($"{path}: unsupported .npy version {major}.");
        if (offset + headerLength > bytes.Length)
            throw new InvalidDataException($"{path}: truncated .npy header.");
        var header = Encoding.UTF8.GetString(bytes, offset, headerLength);
        var descr = DescrRegex().Match(header);
        var fortran = FortranRegex().Match(header);
        var shapeMatch = ShapeRegex().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success)
            throw new InvalidDataException($"{path}: cannot parse the .npy header {header.Trim()}.");
        if (fortran.Groups[1].Value == "True")
            throw new InvalidDataException($"{path}: Fortran-order arrays are not supported; save with np.ascontiguousarray.");
        var shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        string dtype = descr.Groups[1].Value;
        bool bigEndian = dtype[0] == '>';
        string kind = dtype.TrimStart('<', '>', '|', '=');
        int size = kind switch
        {
            "f4" or "i4" => 4,
            "f8" or "i8" => 8,
            _ => throw new InvalidDataException($"{path}: dtype '{dtype}' is not supported (use float32, float64, int32 or int64)."),
        };
        long count = shape.Aggregate(1L, (a, b) => checked(a * b));
        int start = offset + headerLength;
        if (bytes.Length - start != count * size)
            throw new InvalidDataException($"{path}: shape ({string.Join(", ", shape)}) needs {count * size} data bytes but the file has {bytes.Length - start}.");
        var values = new double[count];
        var data = bytes.AsSpan(start);
        for (int i = 0; i < count; i++)
        {
            var e = data.Slice(i * size, size);
            values[i] = (kind, bigEndian) switch
            {
                ("f4", false) => BinaryPrimitives.ReadSingleLittleEndian(e),
                ("f4", true) => BinaryPrimitives.ReadSingleBigEndian(e),
                ("f8", false) => BinaryPrimitives.ReadDoubleLittleEndian(e),
                ("f8", true) => BinaryPrimitives.ReadDoubleBigEndian(e),
                ("i4", false) => BinaryPrimitives.ReadInt32LittleEndian(e),
                ("i4", true) => BinaryPrimitives.ReadInt32BigEndian(e),
                ("i8", false) => BinaryPrimitives.ReadInt64LittleEndian(e),
                _ => BinaryPrimitives.ReadInt64BigEndian(e),
            };
        }
        return new NumericArray(values, shape, kind[0] == 'i');
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
