using System.Globalization;
using System.Text;

namespace OnnxKeras.Callbacks;

/// <summary>
/// Streams epoch results to a CSV file (Keras 3's <c>CSVLogger</c>): a header <c>epoch,&lt;sorted log names&gt;</c>, then one
/// row per epoch, flushed as it is written so a crash leaves only complete rows. As in Keras, the columns are fixed by
/// the first epoch's logs; when those hold no <c>val_</c> entries the <c>val_</c> columns are added anyway (they may
/// appear later with <c>validationFreq</c> &gt; 1), and a missing value is written as <c>NA</c>. Numbers are written as
/// Python writes them (<c>repr</c>), rows end with <c>\r\n</c> (Python's csv "excel" dialect) and fields holding the
/// separator, a quote or a line break are quoted. The file is closed when training ends, also when Fit throws (then
/// OnTrainEnd is not called, as in Keras, but the file is flushed and closed); <see cref="Dispose"/> closes it too, and a
/// later Fit opens it again.
/// </summary>
/// <example><code>model.Fit(x, y, epochs: 10, callbacks: [new CSVLogger("training.log")]);</code></example>
public sealed class CSVLogger : Callback, IDisposable
{
    private StreamWriter? writer;
    private List<string>? keys;
    private bool appendHeader = true;
    private bool headerWritten;

    /// <summary>Creates the logger; with <paramref name="append"/> an existing file is continued (its header is kept).</summary>
    public CSVLogger(string filename, string separator = ",", bool append = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(filename);
        ArgumentException.ThrowIfNullOrEmpty(separator);
        Filename = filename;
        Separator = separator;
        Append = append;
    }

    /// <summary>The CSV file.</summary>
    public string Filename { get; }
    /// <summary>The field separator.</summary>
    public string Separator { get; }
    /// <summary>Whether an existing file is appended to rather than overwritten.</summary>
    public bool Append { get; }

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        writer?.Dispose();
        appendHeader = true;
        if (Append && File.Exists(Filename))
        {
            // Keras: the header is written only when the file's first line is empty.
            using var reader = new StreamReader(Filename);
            appendHeader = string.IsNullOrEmpty(reader.ReadLine());
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(Filename));
        if (dir is not null) Directory.CreateDirectory(dir);
        writer = new StreamWriter(
            new FileStream(Filename, Append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read),
            new UTF8Encoding(false));
        keys = null;
        headerWritten = false;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (writer is null) throw new InvalidOperationException("CSVLogger: OnEpochEnd before OnTrainBegin.");
        if (keys is null)
        {
            keys = logs.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
            if (!keys.Any(k => k.StartsWith("val_", StringComparison.Ordinal))) keys.AddRange(keys.Select(k => "val_" + k).ToList());
        }
        if (!headerWritten)
        {
            if (appendHeader) WriteRow(["epoch", .. keys]);
            headerWritten = true;
        }
        WriteRow([epoch.ToString(CultureInfo.InvariantCulture), .. keys.Select(k => logs.TryGetValue(k, out var v) ? CallbackSupport.PythonRepr(v) : "NA")]);
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => Close();

    /// <summary>Flushes and closes the file if it is open; safe to call more than once.</summary>
    public void Dispose() => Close();

    internal override void ReleaseAfterFailedFit() => Close();

    private void Close()
    {
        writer?.Dispose();
        writer = null;
    }

    private void WriteRow(IEnumerable<string> fields)
    {
        writer!.Write(string.Join(Separator, fields.Select(Quote)));
        writer.Write("\r\n");
        writer.Flush();
    }

    private string Quote(string field) =>
        field.Contains(Separator, StringComparison.Ordinal) || field.IndexOfAny(['"', '\r', '\n']) >= 0
            ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : field;
}
