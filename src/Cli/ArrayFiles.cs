using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace OnnxKeras.Cli;

/// <summary>A numeric array read from a file: values as double (exact for float32, int32 and int64 up to 2^53) plus shape.</summary>
internal sealed record NumericArray(double[] Values, long[] Shape, bool IsInteger);

/// <summary>
/// Readers for CSV and NumPy .npy files. Hostile files fail with <see cref="InvalidDataException"/> naming the file:
/// an array holds at most <see cref="MaxValues"/> values, a .npy file is read only if it is a regular file of at most
/// <see cref="MaxFileBytes"/> bytes with a header of at most <see cref="MaxNpyHeaderBytes"/> bytes, and CSV is read as
/// a stream (a cell of more than <see cref="MaxCsvCellChars"/> characters is not a number), so memory stays
/// proportional to the values read (16 bytes per value at the peak, 8 in the result).
/// </summary>
internal static class ArrayFiles
{
    /// <summary>The most values one input array may hold: 100,000,000 (800 MB as doubles).</summary>
    public const int MaxValues = 100_000_000;

    /// <summary>The largest .npy file read: 2,000,000,000 bytes (the file is read into one array, which .NET caps near 2 GiB).</summary>
    public const long MaxFileBytes = 2_000_000_000;

    /// <summary>The largest .npy header: 65,536 bytes (NumPy itself refuses headers over 10,000 bytes by default).</summary>
    public const int MaxNpyHeaderBytes = 65_536;

    /// <summary>The longest CSV cell read as a number or header name: 1,024 characters.</summary>
    public const int MaxCsvCellChars = 1_024;

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

    /// <summary>
    /// The whole file, if it is a regular file of at most <paramref name="maxBytes"/> bytes. A device, pipe or
    /// /proc file (whose size says 0 or less than it yields) is refused rather than read without end.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is too large or not a regular file.</exception>
    public static byte[] ReadRegularFile(string path, long maxBytes, string what)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{what} '{path}' does not exist.", path);
        if (info.Length > maxBytes)
            throw new InvalidDataException($"{what} '{path}' is {info.Length:N0} bytes; the limit is {maxBytes:N0} bytes.");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var bytes = new byte[info.Length];
        int read = 0;
        while (read < bytes.Length)
        {
            int n = stream.Read(bytes, read, bytes.Length - read);
            if (n == 0) throw new InvalidDataException($"{what} '{path}' ended after {read:N0} of its {bytes.Length:N0} bytes (it changed while being read).");
            read += n;
        }
        if (stream.ReadByte() >= 0)
            throw new InvalidDataException($"{what} '{path}' is not a regular file (it yields more than the {bytes.Length:N0} bytes " +
                "its size says: a device, a pipe, or a file being written).");
        return bytes;
    }

    /// <summary>
    /// Comma-separated rows of numbers; an optional first row of column names is skipped. Shape [rows, columns].
    /// Read as a stream, one cell at a time: no line is held whole, so a single huge line costs only its values.
    /// </summary>
    public static NumericArray ReadCsv(string path)
    {
        var values = new ChunkedDoubles();
        int columns = -1, rows = 0, lineNumber = 1;
        var cell = new char[MaxCsvCellChars];
        int cellLength = 0, cellsInLine = 0;
        bool cellTooLong = false, lineNumeric = true, lineBlank = true;
        long lineStart = 0;
        string? badCell = null;
        using var reader = new StreamReader(new SizedFileStream(path), Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var buffer = new char[1 << 16];
        while (true)
        {
            int n = reader.Read(buffer, 0, buffer.Length);
            for (int i = 0; i <= n; i++)
            {
                bool end = n == 0;
                if (i == n && !end) break;
                char c = end ? '\n' : buffer[i];
                if (c == ',' || c == '\n')
                {
                    var text = cell.AsSpan(0, cellLength).Trim();
                    bool blankCell = text.IsEmpty && !cellTooLong;
                    if (c == '\n' && cellsInLine == 0 && blankCell)
                    {
                        // an empty line (or the end of the file after a final newline)
                    }
                    else
                    {
                        lineBlank = false;
                        cellsInLine++;
                        if (!cellTooLong && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                        {
                            if (lineNumeric)
                            {
                                if (values.Count >= MaxValues)
                                    throw new InvalidDataException($"{path}:{lineNumber}: more than {MaxValues:N0} values; the limit is {MaxValues:N0}.");
                                values.Add(v);
                            }
                        }
                        else if (lineNumeric)
                        {
                            lineNumeric = false;
                            badCell = cellTooLong ? $"a cell longer than {MaxCsvCellChars:N0} characters" : $"'{text}'";
                        }
                    }
                    cellLength = 0;
                    cellTooLong = false;
                    if (c == '\n')
                    {
                        if (!lineBlank)
                        {
                            if (!lineNumeric)
                            {
                                if (rows == 0 && columns < 0) columns = cellsInLine; // header
                                else throw new InvalidDataException($"{path}:{lineNumber}: {badCell} is not a number, so the line is not a row of numbers.");
                                values.Truncate(lineStart);
                            }
                            else
                            {
                                if (columns >= 0 && cellsInLine != columns)
                                    throw new InvalidDataException($"{path}:{lineNumber}: {cellsInLine} columns, but the first row has {columns}.");
                                columns = cellsInLine;
                                rows++;
                            }
                        }
                        lineNumber++;
                        lineStart = values.Count;
                        cellsInLine = 0;
                        lineNumeric = true;
                        lineBlank = true;
                        badCell = null;
                    }
                }
                else if (cellLength < cell.Length) cell[cellLength++] = c;
                else if (!char.IsWhiteSpace(c)) cellTooLong = true;
            }
            if (n == 0) break;
        }
        if (rows == 0)
            throw new InvalidDataException($"{path}: no rows of numbers.");
        var data = values.ToArray();
        bool isInteger = true;
        foreach (var v in data) isInteger &= v == Math.Floor(v) && !double.IsInfinity(v);
        return new NumericArray(data, [rows, columns], isInteger);
    }

    /// <summary>
    /// A file read no further than the size it had when opened: a device (<c>/dev/zero</c>), a pipe or a file still
    /// growing is refused instead of being read without end.
    /// </summary>
    private sealed class SizedFileStream(string path) : Stream
    {
        private readonly FileStream inner = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        private readonly long size = new FileInfo(path).Length;
        private long read;

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            read += n;
            if (read > size)
                throw new InvalidDataException($"Input file '{path}' is not a regular file (it yields more than the {size:N0} bytes " +
                    "its size says: a device, a pipe, or a file being written).");
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Doubles in chunks of 65,536, so growing never copies (or doubles) what was read.</summary>
    private sealed class ChunkedDoubles
    {
        private const int ChunkSize = 1 << 16;
        private readonly List<double[]> chunks = [];

        public long Count { get; private set; }

        public void Add(double v)
        {
            if (Count == (long)chunks.Count * ChunkSize) chunks.Add(new double[ChunkSize]);
            chunks[(int)(Count / ChunkSize)][Count % ChunkSize] = v;
            Count++;
        }

        public void Truncate(long count)
        {
            Count = count;
            int keep = (int)((count + ChunkSize - 1) / ChunkSize);
            chunks.RemoveRange(keep, chunks.Count - keep);
        }

        public double[] ToArray()
        {
            var all = new double[Count];
            for (int k = 0; k < chunks.Count; k++)
            {
                int len = (int)Math.Min(ChunkSize, Count - (long)k * ChunkSize);
                Array.Copy(chunks[k], 0, all, (long)k * ChunkSize, len);
            }
            return all;
        }
    }

    /// <summary>NumPy format 1.0-3.0, C order, dtypes f4, f8, i4, i8 (either byte order).</summary>
    public static NumericArray ReadNpy(string path)
    {
        var bytes = ReadRegularFile(path, MaxFileBytes, "Input file");
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path}: not a .npy file (missing the \\x93NUMPY magic).");
        int major = bytes[6];
        long headerLength;
        int offset;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); offset = 10; }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12) throw new InvalidDataException($"{path}: truncated .npy header.");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
            offset = 12;
        }
        else throw new InvalidDataException($"{path}: unsupported .npy version {major}.");
        if (headerLength > MaxNpyHeaderBytes)
            throw new InvalidDataException($"{path}: the .npy header says it is {headerLength:N0} bytes; the limit is {MaxNpyHeaderBytes:N0}.");
        if (offset + headerLength > bytes.Length)
            throw new InvalidDataException($"{path}: truncated .npy header ({headerLength:N0} bytes announced, {bytes.Length - offset:N0} in the file).");
        var header = Encoding.ASCII.GetString(bytes, offset, (int)headerLength);
        var (dtype, fortran, shape) = NpyHeader.Parse(header, path);
        if (fortran)
            throw new InvalidDataException($"{path}: Fortran-order arrays are not supported; save with np.ascontiguousarray.");
        bool bigEndian = dtype[0] == '>';
        string kind = dtype.TrimStart('<', '>', '|', '=');
        int size = kind switch
        {
            "f4" or "i4" => 4,
            "f8" or "i8" => 8,
            _ => throw new InvalidDataException($"{path}: dtype '{dtype}' is not supported (use float32, float64, int32 or int64)."),
        };
        int start = offset + (int)headerLength;
        long available = bytes.Length - start;
        string shapeText = $"({string.Join(", ", shape)})";
        long count = 1;
        foreach (var d in shape)
        {
            // A product past MaxValues is refused before it can overflow: every factor is at most long.MaxValue, and
            // count is at most MaxValues here, so count * d cannot overflow when d <= MaxValues.
            if (d > MaxValues || count * d > MaxValues)
                throw new InvalidDataException(
                    $"{path}: shape {shapeText} holds more than {MaxValues:N0} values, the limit (the file has {available:N0} data bytes).");
            count *= d;
        }
        if (available != count * size)
            throw new InvalidDataException($"{path}: shape {shapeText} needs {count * size:N0} data bytes but the file has {available:N0}.");
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
}

/// <summary>
/// The .npy header: a Python dict literal with exactly the keys 'descr' (a string), 'fortran_order' (True or False)
/// and 'shape' (a tuple of non-negative decimal integers), optionally followed by spaces and a newline. Anything else
/// (Python 2's <c>2L</c>, expressions, unknown keys) is refused.
/// </summary>
internal static class NpyHeader
{
    public static (string Descr, bool FortranOrder, long[] Shape) Parse(string header, string path)
    {
        int i = 0;
        string? descr = null;
        bool? fortran = null;
        long[]? shape = null;
        InvalidDataException Bad(string why) => new($"{path}: cannot parse the .npy header ({why}): {Shorten(header.Trim())}");
        void Skip() { while (i < header.Length && header[i] is ' ' or '\t' or '\n' or '\r') i++; }
        bool Take(char c)
        {
            Skip();
            if (i < header.Length && header[i] == c) { i++; return true; }
            return false;
        }
        void Expect(char c)
        {
            if (!Take(c)) throw Bad(i < header.Length ? $"expected '{c}' at character {i}, found '{header[i]}'" : $"expected '{c}' at the end");
        }
        string ReadString()
        {
            Skip();
            if (i >= header.Length || header[i] is not ('\'' or '"')) throw Bad($"expected a quoted string at character {i}");
            char quote = header[i++];
            int begin = i;
            while (i < header.Length && header[i] != quote)
            {
                if (header[i] == '\\') throw Bad("escapes are not supported in header strings");
                i++;
            }
            if (i >= header.Length) throw Bad("an unterminated string");
            return header[begin..i++];
        }

        Expect('{');
        while (!Take('}'))
        {
            string key = ReadString();
            Expect(':');
            Skip();
            switch (key)
            {
                case "descr" when descr is null:
                    descr = ReadString();
                    if (descr.Length == 0) throw Bad("an empty 'descr'");
                    break;
                case "fortran_order" when fortran is null:
                    if (string.CompareOrdinal(header, i, "True", 0, 4) == 0) { fortran = true; i += 4; }
                    else if (string.CompareOrdinal(header, i, "False", 0, 5) == 0) { fortran = false; i += 5; }
                    else throw Bad("'fortran_order' must be True or False");
                    break;
                case "shape" when shape is null:
                    Expect('(');
                    var dims = new List<long>();
                    while (!Take(')'))
                    {
                        Skip();
                        int begin = i;
                        while (i < header.Length && char.IsAsciiDigit(header[i])) i++;
                        if (i == begin || (i < header.Length && header[i] is not (',' or ')' or ' ')))
                            throw Bad($"'shape' must hold non-negative integers; found '{(i < header.Length ? header[i] : ' ')}' at character {i}");
                        if (!long.TryParse(header.AsSpan(begin, i - begin), NumberStyles.None, CultureInfo.InvariantCulture, out long d))
                            throw Bad($"the dimension {header[begin..i]} does not fit in 64 bits");
                        dims.Add(d);
                        if (!Take(',')) { Expect(')'); break; }
                    }
                    shape = [.. dims];
                    break;
                default:
                    throw Bad($"unexpected or repeated key '{key}'");
            }
            if (!Take(',')) { Expect('}'); break; }
        }
        Skip();
        if (i != header.Length) throw Bad($"text after the closing brace at character {i}");
        if (descr is null || fortran is null || shape is null) throw Bad("it needs 'descr', 'fortran_order' and 'shape'");
        return (descr, fortran.Value, shape);
    }

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "...";
}
