using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using PureHDF;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>The small CNN and the HDF5 inspection helpers the legacy whole-model and Keras 2 weights tests share.</summary>
internal static class LegacyH5TestHelpers
{
    /// <summary>Conv2D, BatchNormalization, Flatten and Dense on a 6x6x2 input.</summary>
    public static Sequential Cnn() => new(new InputLayer([6, 6, 2]), new Conv2D(3, 3, activation: "relu"), new BatchNormalization(), new Flatten(), new Dense(2, activation: "softmax"));

    /// <summary><see cref="Cnn"/> trained 2 epochs on 40 random samples (seeded by <paramref name="seed"/>, data by
    /// <paramref name="seed"/> + 1), which moves the BatchNormalization statistics off their initial values.</summary>
    public static Sequential TrainedCnn(int seed, IEnumerable<OnnxKeras.Metrics.Metric>? metrics = null)
    {
        Keras.SetRandomSeed(seed);
        var model = Cnn();
        model.Compile(optimizer: new Adam(0.005), loss: "categorical_crossentropy", metrics: metrics);
        var x = Random(seed + 1, 40, 6, 6, 2);
        var y = new float[40, 2];
        for (int i = 0; i < 40; i++) y[i, i % 2] = 1;
        model.Fit(x, y, batchSize: 8, epochs: 2, verbose: 0);
        return model;
    }

    /// <summary>Attribute names with their kind: string or numeric, and scalar or array.</summary>
    public static List<string> Kinds(IH5Object obj) => obj.Attributes()
        .Select(a => $"{a.Name}: {(a.Type.Class is H5DataTypeClass.String or H5DataTypeClass.VariableLength ? "string" : a.Type.Class.ToString())} {(a.Space.Dimensions.Length == 0 ? "scalar" : "array")}")
        .Order(StringComparer.Ordinal).ToList();

    /// <summary>Every dataset under <paramref name="group"/>: relative path and shape, with its values.</summary>
    public static SortedDictionary<string, string> DatasetValues(IH5Group group)
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(IH5Group g, string prefix)
        {
            foreach (var c in g.Children())
            {
                if (c is IH5Group sub) Walk(sub, $"{prefix}{c.Name}/");
                else if (c is IH5Dataset ds) found[$"{prefix}{c.Name} {string.Join("x", ds.Space.Dimensions)}"] = string.Join(",", ds.Read<float[]>());
            }
        }
        Walk(group, "");
        return found;
    }
}
