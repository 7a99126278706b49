namespace OnnxKeras.Tests;

/// <summary>Small synthetic data sets shared by tests.</summary>
internal static class TestData
{
    /// <summary>Uniform features in [0, 1) and random one-hot labels, like the Keras quick-start's np.random data.</summary>
    public static (float[,] X, float[,] Y) RandomClassification(int n, int features, int classes, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n, features];
        var y = new float[n, classes];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < features; j++) x[i, j] = (float)rng.NextDouble();
            y[i, rng.Next(classes)] = 1;
        }
        return (x, y);
    }
}
