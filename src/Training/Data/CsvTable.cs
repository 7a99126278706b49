using System.Globalization;
using System.Text;

namespace OnnxKeras.Data;

/// <summary>The fields of a CSV file with the line number of each row, for <see cref="Dataset.FromCsv"/>.</summary>
internal sealed class CsvTable
{
    private readonly string path;
    private readonly List<(int Line, string[] Fields)> rows = [];

    private CsvTable(string path, string[] names)
    {
        this.path = path;
        Names = names;
    }

    public string[] Names { get; }

    public static CsvTable Read(string path, IReadOnlyList<string>? columnNames, bool header, char delim, bool quotes, bool ignoreErrors)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"FromCsv: the file '{path}' does not exist.", path);
        using var reader = new StreamReader(path, Encoding.UTF8);
        int lineNo = 0;
        string[]? names = columnNames?.ToArray();
        if (header)
        {
            string? first;
            do
            {
                first = reader.ReadLine();
                lineNo++;
            } while (first is not null && first.Length == 0);
            if (first is null) throw new InvalidDataException($"FromCsv: '{path}' is empty (no header line).");
            var headerNames = Split(first, delim, quotes) ?? throw Bad(path, lineNo, "the header has an unterminated quote");
            if (names is not null && !names.SequenceEqual(headerNames))
                throw new ArgumentException($"FromCsv: columnNames [{string.Join(", ", names)}] do not match the header of '{path}' " +
                    $"[{string.Join(", ", headerNames)}].", nameof(columnNames));
            names = headerNames;
        }
        if (names is null) throw new ArgumentException("FromCsv: without a header line, pass columnNames.", nameof(columnNames));
        var dup = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"FromCsv: the column name '{dup.Key}' appears twice in '{path}'.");
        var table = new CsvTable(path, names);
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0 || (line.Length == 1 && line[0] == '\r')) continue;
            var fields = Split(line, delim, quotes);
            string? why = fields is null ? "unterminated quote (quoted fields cannot span lines)"
                : fields.Length != names.Length ? $"{fields.Length} field(s), expected {names.Length} ({string.Join(", ", names)})" : null;
            if (why is not null)
            {
                if (ignoreErrors) continue;
                throw Bad(path, lineNo, why);
            }
            table.rows.Add((lineNo, fields!));
        }
        return table;
    }

    /// <summary>The fields of one line; null for an unterminated quote.</summary>
    private static string[]? Split(string line, char delim, bool quotes)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool inQuotes = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (inQuotes)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else inQuotes = false;
            }
            else if (quotes && c == '"' && field.Length == 0) inQuotes = true;
            else if (c == delim)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c != '\r' || i != line.Length - 1) field.Append(c);
        }
        if (inQuotes) return null;
        fields.Add(field.ToString());
        return [.. fields];
    }

    /// <summary>Indices (in file order) of the selected columns.</summary>
    public int[] Select(IReadOnlyList<string>? selectColumns, string? labelName)
    {
        int[] cols;
        if (selectColumns is null) cols = Enumerable.Range(0, Names.Length).ToArray();
        else
        {
            var unknown = selectColumns.Where(c => !Names.Contains(c)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"FromCsv: selectColumns names unknown column(s) {string.Join(", ", unknown)}; the columns of '{path}' are " +
                    $"{string.Join(", ", Names)}.", nameof(selectColumns));
            cols = Enumerable.Range(0, Names.Length).Where(i => selectColumns.Contains(Names[i])).ToArray();
        }
        if (labelName is not null && !cols.Any(i => Names[i] == labelName))
            throw new ArgumentException($"FromCsv: the label column '{labelName}' is not among the selected columns " +
                $"({string.Join(", ", cols.Select(i => Names[i]))}).", nameof(labelName));
        return cols;
    }

    private static bool Missing(string field, string naValue) => field.Length == 0 || (naValue.Length > 0 && field == naValue);

    /// <summary>float or long per selected column, from the defaults or inferred from the fields.</summary>
    public Type[] Types(int[] cols, IReadOnlyList<object?>? defaults, string naValue)
    {
        if (defaults is not null && defaults.Count != cols.Length)
            throw new ArgumentException($"FromCsv: columnDefaults has {defaults.Count} entries; it needs one per selected column ({cols.Length}).",
                "columnDefaults");
        var types = new Type[cols.Length];
        for (int k = 0; k < cols.Length; k++)
        {
            types[k] = defaults?[k] switch
            {
                null => Infer(cols[k], naValue),
                float or double => typeof(float),
                int or long => typeof(long),
                Type t when t == typeof(float) || t == typeof(double) => typeof(float),
                Type t when t == typeof(int) || t == typeof(long) => typeof(long),
                var other => throw new ArgumentException($"FromCsv: the default of column '{Names[cols[k]]}' is {other} ({other.GetType().Name}); " +
                    "use a float, double, int or long value, typeof(float) or typeof(long) (text columns are not supported: libtorch has no strings).",
                    "columnDefaults"),
            };
        }
        return types;
    }

    private Type Infer(int col, string naValue)
    {
        bool allInt = true;
        foreach (var (line, fields) in rows)
        {
            string f = fields[col];
            if (Missing(f, naValue)) continue;
            if (long.TryParse(f, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)) continue;
            allInt = false;
            if (!double.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                throw new ArgumentException($"FromCsv: column '{Names[col]}' of '{path}' holds text ('{f}' on line {line}); libtorch has no string " +
                    "tensors: leave the column out with selectColumns, or give it a numeric default to have such fields reported as errors.");
        }
        return allInt ? typeof(long) : typeof(float);
    }

    /// <summary>The values of each selected column, row by row (skipping bad rows when <paramref name="ignoreErrors"/>).</summary>
    public double[][] Values(int[] cols, Type[] types, IReadOnlyList<object?>? defaults, string naValue, bool ignoreErrors, out int count)
    {
        var values = cols.Select(_ => new List<double>(rows.Count)).ToArray();
        var row = new double[cols.Length];
        foreach (var (line, fields) in rows)
        {
            string? error = null;
            for (int k = 0; k < cols.Length && error is null; k++)
            {
                string f = fields[cols[k]];
                string name = Names[cols[k]];
                if (Missing(f, naValue))
                {
                    if (defaults?[k] is null or Type) error = $"column '{name}' is empty and has no default";
                    else row[k] = Convert.ToDouble(defaults[k], CultureInfo.InvariantCulture);
                }
                else if (types[k] == typeof(long))
                {
                    if (long.TryParse(f, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v)) row[k] = v;
                    else error = $"column '{name}': '{f}' is not an integer";
                }
                else if (double.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) row[k] = d;
                else error = $"column '{name}': '{f}' is not a number";
            }
            if (error is not null)
            {
                if (ignoreErrors) continue;
                throw Bad(path, line, error);
            }
            for (int k = 0; k < cols.Length; k++) values[k].Add(row[k]);
        }
        count = values.Length == 0 ? 0 : values[0].Count;
        return values.Select(v => v.ToArray()).ToArray();
    }

    private static InvalidDataException Bad(string path, int line, string why) => new($"FromCsv: {path} line {line}: {why}.");
}
