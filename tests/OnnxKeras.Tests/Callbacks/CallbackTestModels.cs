using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>Small models and data shared by the callback tests.</summary>
internal static class CallbackTestModels
{
    /// <summary>Dense(1) without bias, kernel 1, SGD: with x = 0 the loss is mean(y^2) and never changes.</summary>
    public static Sequential Linear(LearningRate lr)
    {
        var m = new Sequential(new InputLayer([1]), new Dense(1, useBias: false, kernelInitializer: new Ones()));
        m.Compile(new SGD(lr), "mse");
        return m;
    }

    /// <summary>A two-layer model that learns (losses change every epoch).</summary>
    public static Sequential TwoLayers(double lr = 0.05)
    {
        var m = new Sequential(new InputLayer([2]), new Dense(3, activation: "tanh"), new Dense(1));
        m.Compile(new SGD(lr), "mse", metrics: ["mae"]);
        return m;
    }

    public static float[,] Column(params float[] v)
    {
        var a = new float[v.Length, 1];
        for (int i = 0; i < v.Length; i++) a[i, 0] = v[i];
        return a;
    }

    /// <summary>n samples of 2 features with a deterministic target.</summary>
    public static (float[,] X, float[,] Y) Samples(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n, 2];
        var y = new float[n, 1];
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = (float)rng.NextDouble() * 2 - 1;
            x[i, 1] = (float)rng.NextDouble() * 2 - 1;
            y[i, 0] = 0.5f * x[i, 0] - x[i, 1] + 0.25f;
        }
        return (x, y);
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "onnxkeras-cb-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
