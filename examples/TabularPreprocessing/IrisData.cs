using System.Globalization;

namespace OnnxKeras.Examples.TabularPreprocessing;

/// <summary>The 150 rows of data/iris.csv (see data/README.md): four measurements in cm and the species index.</summary>
internal sealed record IrisData(float[,] X, int[] Y)
{
    public static readonly string[] Features = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    public static readonly string[] Species = ["setosa", "versicolor", "virginica"];

    /// <summary>Reads data/iris.csv next to the program (copied there by the project file).</summary>
    /// <exception cref="InvalidDataException">A header, row or species that is not what convert.js writes.</exception>
    public static IrisData Load(string? path = null)
    {
        path ??= Path.Combine(AppContext.BaseDirectory, "data", "iris.csv");
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (lines.Length != 151 || lines[0] != string.Join(",", Features) + ",species")
            throw new InvalidDataException($"{path}: expected the header and 150 rows that data/convert.js writes; got {lines.Length} lines.");
        var x = new float[150, 4];
        var y = new int[150];
        for (int i = 0; i < 150; i++)
        {
            var cells = lines[i + 1].Split(',');
            if (cells.Length != 5) throw new InvalidDataException($"{path}, line {i + 2}: expected 5 values; got {cells.Length}.");
            for (int j = 0; j < 4; j++) x[i, j] = float.Parse(cells[j], CultureInfo.InvariantCulture);
            y[i] = Array.IndexOf(Species, cells[4]);
            if (y[i] < 0) throw new InvalidDataException($"{path}, line {i + 2}: unknown species '{cells[4]}'.");
        }
        return new IrisData(x, y);
    }

    /// <summary>A seeded shuffle, then the last <paramref name="testCount"/> rows for testing.</summary>
    public (float[,] TrainX, int[] TrainY, float[,] TestX, int[] TestY) Split(int testCount, int seed)
    {
        int n = Y.Length;
        var order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        (float[,], int[]) Take(int[] rows)
        {
            var xs = new float[rows.Length, 4];
            for (int i = 0; i < rows.Length; i++)
                for (int j = 0; j < 4; j++) xs[i, j] = X[rows[i], j];
            return (xs, rows.Select(r => Y[r]).ToArray());
        }
        var (trainX, trainY) = Take(order[..(n - testCount)]);
        var (testX, testY) = Take(order[(n - testCount)..]);
        return (trainX, trainY, testX, testY);
    }
}
