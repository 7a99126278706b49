using System.Collections;
using System.Globalization;
using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Tests.Export;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// The layer test in the style of Keras's <c>run_layer_test</c> (keras/src/testing/test_case.py): construct the layer from
/// its config, check the config round-trips, build it symbolically and eagerly, check the output shape and the number of
/// trainable / non-trainable weights, export it to ONNX at every opset (<see cref="OnnxTestHelpers.Opsets"/>) with random
/// weights and compare ONNX Runtime with the TorchSharp forward, and run one training step in which the trainable weights change.
/// A layer without an ONNX form says why (<c>noOnnxForm</c>); docs/layers.md lists those layers and their reasons.
/// </summary>
public static class LayerTestHarness
{
    /// <param name="layer">A layer constructed with the arguments under test.</param>
    /// <param name="inputShape">Per-sample input shape (no batch).</param>
    /// <param name="expectedOutputShape">Per-sample output shape (no batch).</param>
    /// <param name="expectedTrainable">Number of trainable weights after build.</param>
    /// <param name="expectedNonTrainable">Number of non-trainable weights after build.</param>
    /// <param name="supportsTraining">Whether to run a training step (false for layers without a gradient path).</param>
    /// <param name="inputRange">Inputs are uniform in [0, inputRange) (integer-valued for Embedding-like layers when integerInputs);
    /// the ONNX parity inputs of float layers are uniform in [-inputRange, inputRange).</param>
    /// <param name="integerInputs">Inputs are integers in [0, inputRange) (indices for Embedding-like layers).</param>
    /// <param name="noOnnxForm">Null to check ONNX export; otherwise the reason the layer has no ONNX form (training-only),
    /// which docs/layers.md must list.</param>
    public static void Run(Layer layer, Shape inputShape, Shape expectedOutputShape, int expectedTrainable, int expectedNonTrainable,
        bool supportsTraining = true, double inputRange = 1.0, bool integerInputs = false, string? noOnnxForm = null)
    {
        // Fixed seed: weights and inputs are the same on every run (a random all-dead ReLU layer cannot make the test flaky).
        Keras.SetRandomSeed(1234);

        // 1. Config round trip: a layer rebuilt from the config has the same config.
        var config = layer.GetConfig();
        var rebuilt = LayerRegistry.FromConfig(layer.GetType(), config);
        Assert.Equal(Canon(config), Canon(rebuilt.GetConfig()));

        // 2. Symbolic build: output shape and weight counts.
        var input = Keras.Input(inputShape);
        var output = rebuilt.Apply(input);
        Assert.Equal(expectedOutputShape.WithBatch(), output.Shape);
        Assert.Equal(expectedTrainable, rebuilt.TrainableWeights.Count);
        Assert.Equal(expectedNonTrainable, rebuilt.NonTrainableWeights.Count);
        Assert.Equal(expectedOutputShape.WithBatch(), rebuilt.ComputeOutputShape(inputShape.WithBatch()));

        // 3. Eager call with batch 3: concrete output shape agrees.
        using (var scope = NewDisposeScope())
        {
            var x = MakeInput(3, inputShape, inputRange, integerInputs);
            var y = rebuilt.Apply(x, training: false);
            Assert.Equal(expectedOutputShape.WithBatch(3).Select(d => d!.Value).ToArray(), y.Value.shape);
            Assert.False(y.Value.isnan().any().item<bool>(), $"{layer.GetType().Name} produced NaN");
        }

        // 4. ONNX export of a fresh layer from the config with random weights, at every opset.
        if (noOnnxForm is null) CheckOnnxExport(layer.GetType(), config, inputShape, inputRange, integerInputs);
        else Assert.False(string.IsNullOrWhiteSpace(noOnnxForm), "a layer without an ONNX form must say why");

        // 5. One training step inside a functional model: loss is finite and every trainable weight moves.
        if (!supportsTraining) return;
        using var model = new Model(input, output);
        model.Compile(optimizer: new SGD(0.1), loss: "mse");
        var before = model.TrainableWeights.Select(v => v.ToArray()).ToList();
        using (var scope = NewDisposeScope())
        {
            var x = MakeInput(4, inputShape, inputRange, integerInputs);
            var target = rand(expectedOutputShape.WithBatch(4).Select(d => d!.Value).ToArray());
            var logs = model.TrainOnBatch(ToArray(x), ToArray(target));
            Assert.True(double.IsFinite(logs["loss"]), $"loss {logs["loss"]}");
        }
        var after = model.TrainableWeights.Select(v => v.ToArray()).ToList();
        for (int i = 0; i < before.Count; i++)
            Assert.False(before[i].SequenceEqual(after[i]), $"trainable weight {model.TrainableWeights[i].Path} did not change in a training step");
    }

    /// <summary>Exports the layer (in a functional model, weights random so none is trivial) at every opset with the
    /// exporter's own verification, then compares ONNX Runtime with the TorchSharp forward at batch 1 and batch 3.</summary>
    private static void CheckOnnxExport(Type type, LayerConfig config, Shape inputShape, double range, bool integer)
    {
        var fresh = LayerRegistry.FromConfig(type, config);
        var input = Keras.Input(inputShape);
        using var model = new Model(input, fresh.Apply(input));
        OnnxTestHelpers.RandomizeWeights(model, 5);
        foreach (int opset in OnnxTestHelpers.Opsets)
        {
            var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
            Assert.Equal(opset, report.Opset);
            using var scope = NewDisposeScope();
            var generator = new Generator((ulong)opset);
            foreach (long batch in new long[] { 1, 3 })
            {
                var shape = inputShape.WithBatch(batch).Select(d => d!.Value).ToArray();
                var x = integer ? randint(0, (long)range, shape, ScalarType.Float32, generator: generator)
                                : (rand(shape, ScalarType.Float32, generator: generator) * 2 - 1) * range;
                OnnxTestHelpers.AssertParityOn(model, bytes, x);
            }
        }
    }

    private static Tensor MakeInput(long batch, Shape inputShape, double range, bool integer)
    {
        var shape = inputShape.WithBatch(batch).Select(d => d!.Value).ToArray();
        return integer ? randint(0, (long)range, shape).to_type(ScalarType.Float32) : rand(shape) * range;
    }

    private static Array ToArray(Tensor t)
    {
        var flat = t.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        var dims = t.shape.Select(d => (int)d).ToArray();
        var arr = Array.CreateInstance(typeof(float), dims);
        Buffer.BlockCopy(flat, 0, arr, 0, flat.Length * sizeof(float));
        return arr;
    }

    /// <summary>A canonical text of a config: initializers/regularizers/activations by name and config, sequences element-wise.</summary>
    public static string Canon(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => ((double)f).ToString("R", CultureInfo.InvariantCulture),
        IConvertible c when value.GetType().IsPrimitive => System.Convert.ToString(c, CultureInfo.InvariantCulture)!,
        Enum e => e.ToString(),
        Initializer i => $"{i.Name}{Canon(i.GetConfig())}",
        Regularizer r => $"{r.Name}{Canon(r.GetConfig())}",
        ActivationFunction a => a.Name,
        Shape sh => sh.ToString(),
        IDictionary dict => "{" + string.Join(",", dict.Keys.Cast<object>().Select(k => k.ToString()!).Order(StringComparer.Ordinal).Select(k => $"{k}:{Canon(dict[k])}")) + "}",
        IReadOnlyDictionary<string, object?> rd => "{" + string.Join(",", rd.Keys.Order(StringComparer.Ordinal).Select(k => $"{k}:{Canon(rd[k])}")) + "}",
        IEnumerable seq => "[" + string.Join(",", seq.Cast<object?>().Select(Canon)) + "]",
        _ => value.ToString() ?? "",
    };
}
