namespace OnnxKeras.Examples.TabularPreprocessing;

internal static class Outputs
{
    /// <summary>The repository's artifacts/tabular folder (ignored by git; found by walking up to OnnxKeras.sln), else ./artifacts/tabular.</summary>
    public static string Folder()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OnnxKeras.sln")))
                return Directory.CreateDirectory(Path.Combine(dir.FullName, "artifacts", "tabular")).FullName;
        }
        return Directory.CreateDirectory(Path.Combine("artifacts", "tabular")).FullName;
    }

    public static double MaxAbsDiff(float[,] a, float[,] b)
    {
        if (a.GetLength(0) != b.GetLength(0) || a.GetLength(1) != b.GetLength(1))
            throw new InvalidOperationException($"shapes differ: [{a.GetLength(0)}, {a.GetLength(1)}] and [{b.GetLength(0)}, {b.GetLength(1)}]");
        return a.Cast<float>().Zip(b.Cast<float>()).Max(p => (double)Math.Abs(p.First - p.Second));
    }

    public static int ArgMax(float[,] scores, int row) =>
        Enumerable.Range(0, scores.GetLength(1)).MaxBy(j => scores[row, j]);
}
