using System.Globalization;
using static TorchSharp.torch;

namespace OnnxKeras.Data;

// CSV files (tf.data.experimental.make_csv_dataset / CsvDataset), parsed eagerly into memory.
public abstract partial class Dataset
{
    /// <summary>
    /// Rows of CSV files as <c>(features, label)</c> elements (tf.data's <c>make_csv_dataset</c>, with the features packed
    /// into one float32 vector since a model input is one tensor): <c>features</c> holds the selected columns other than
    /// <paramref name="labelName"/> in column order, the label is an int64 or float32 scalar (batched: <c>[batch]</c>).
    /// Without <paramref name="labelName"/> elements are <c>(features)</c>. The files are read and checked once, here;
    /// the dataset then holds the values in memory. Column types come from <paramref name="columnDefaults"/> or else are
    /// inferred: int64 when every field of the column is an integer, else float32; text columns are refused (libtorch
    /// has no strings: leave them out with <paramref name="selectColumns"/>). Fields are parsed with the invariant culture;
    /// quoted fields (<c>"a, b"</c>, <c>""</c> for a quote) are read when <paramref name="useQuoteDelim"/>. Blank lines are
    /// skipped. Unlike make_csv_dataset, the dataset is read once per pass (call <see cref="Repeat"/> for more).
    /// </summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="batchSize">Rows per batch; null for single rows.</param>
    /// <param name="labelName">The label column, or null.</param>
    /// <param name="selectColumns">The columns to keep, by name (default: all).</param>
    /// <param name="columnDefaults">One per selected column: null (required; type inferred), a number (the value of
    /// empty fields: <c>float</c>/<c>double</c> gives a float32 column, <c>int</c>/<c>long</c> an int64 one), or
    /// <c>typeof(float)</c>/<c>typeof(long)</c> (required, of that type).</param>
    /// <param name="columnNames">The column names; required without a header, else checked against it.</param>
    /// <param name="header">Whether the first line of the file names the columns.</param>
    /// <param name="fieldDelim">The field separator.</param>
    /// <param name="useQuoteDelim">Whether double quotes delimit fields.</param>
    /// <param name="naValue">A field text that counts as missing (besides the empty field).</param>
    /// <param name="shuffle">Shuffle the rows each pass.</param>
    /// <param name="shuffleSeed">The shuffle's seed.</param>
    /// <param name="ignoreErrors">Skip malformed rows instead of throwing.</param>
    /// <exception cref="InvalidDataException">A malformed row (wrong field count, unparsable or missing value, open
    /// quote), naming the file, the line and the column.</exception>
    /// <exception cref="ArgumentException">Unknown column names, a label not among the selected columns, mismatched
    /// defaults, a text column, or no header and no column names.</exception>
    /// <example><code>var ds = Dataset.FromCsv("iris.csv", batchSize: 16, labelName: "species", shuffleSeed: 1);</code></example>
    public static Dataset FromCsv(string path, int? batchSize = 32, string? labelName = null, IReadOnlyList<string>? selectColumns = null,
        IReadOnlyList<object?>? columnDefaults = null, IReadOnlyList<string>? columnNames = null, bool header = true, char fieldDelim = ',',
        bool useQuoteDelim = true, string naValue = "", bool shuffle = true, long? shuffleSeed = null, bool ignoreErrors = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (batchSize is <= 0) throw new ArgumentException($"FromCsv: batchSize must be positive or null; got {batchSize}.", nameof(batchSize));
        var table = CsvTable.Read(path, columnNames, header, fieldDelim, useQuoteDelim, ignoreErrors);
        var columns = table.Select(selectColumns, labelName);
        var types = table.Types(columns, columnDefaults, naValue);
        var values = table.Values(columns, types, columnDefaults, naValue, ignoreErrors, out int rows);
        int labelAt = labelName is null ? -1 : Array.IndexOf(columns, Array.IndexOf(table.Names, labelName));
        var featureCols = Enumerable.Range(0, columns.Length).Where(k => k != labelAt).ToArray();
        var features = new float[rows, featureCols.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int k = 0; k < featureCols.Length; k++) features[r, k] = (float)values[featureCols[k]][r];
        }
        var parts = new List<Tensor> { tensor(features.Cast<float>().ToArray(), [rows, featureCols.Length]) };
        if (labelAt >= 0)
        {
            parts.Add(types[labelAt] == typeof(long)
                ? tensor(values[labelAt].Select(v => (long)v).ToArray(), ScalarType.Int64)
                : tensor(values[labelAt].Select(v => (float)v).ToArray(), ScalarType.Float32));
        }
        if (rows == 0) throw new InvalidDataException($"FromCsv: '{path}' has no data rows.");
        Dataset ds = FromTensorSlices([.. parts]);
        if (shuffle) ds = ds.Shuffle(rows, shuffleSeed);
        return batchSize is int b ? ds.Batch(b) : ds;
    }
}
