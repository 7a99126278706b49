using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

/// <summary>
/// Reading and writing of model weights: safetensors (any path without a Keras extension), Keras 3's
/// <c>.weights.h5</c> layout (<c>layers/dense_1/vars/0..</c>, paths as <see cref="KerasWeightPaths"/> describes) and Keras 2's
/// legacy layout for any other <c>.h5</c>/<c>.hdf5</c> (<c>&lt;layer&gt;/&lt;layer&gt;/kernel:0</c> with <c>layer_names</c>/<c>weight_names</c>
/// attributes, at the root of a weights file or under <c>model_weights</c> in a whole-model file, which loading also reads).
/// Loading reads and checks everything before it assigns any weight.
/// </summary>
internal static class WeightFiles
{
    /// <summary>The layers of <paramref name="model"/> that own weights, in the model's order.</summary>
    public static List<Layer> WeightedLayers(Model model) => KerasLayers(model).Where(l => l is not InputLayer && l.Weights.Count > 0).ToList();

    /// <summary>
    /// The layers as Keras's <c>model.layers</c> lists them: a Sequential model's without its InputLayer, a functional
    /// model's with its InputLayers, in graph order.
    /// </summary>
    public static IReadOnlyList<Layer> KerasLayers(Model model) => model is Sequential ? model.Layers : (model.Graph?.Layers ?? model.Layers);

    public static void Save(Model model, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        RequireBuilt(model, "save its weights");
        if (FileKinds.IsKerasWeights(path))
            AtomicFile.Write(path, s => KerasWeightsH5.Write(model, s));
        else if (FileKinds.IsKerasArchive(path))
            throw new ArgumentException("SaveWeights writes '.weights.h5' (Keras 3 layout), other '.h5'/'.hdf5' (Keras 2 layout) or " +
                $"safetensors (any other extension); '{path}' names a whole-model format. Use Save(path) for a '.keras' file.");
        else if (FileKinds.IsHdf5Extension(path))
            LegacyWeightsH5.Save(model, path);
        else
            AtomicFile.Write(path, s => SafeTensors.Write(WeightedLayers(model), s));
    }

    /// <summary>Weights and, when the model is compiled and trained, the optimizer's state, in Keras 3's layout (for backups).</summary>
    public static void SaveWithOptimizer(Model model, string path)
    {
        RequireBuilt(model, "save its weights");
        AtomicFile.Write(path, s => KerasWeightsH5.Write(model, s, model.IsCompiled ? model.Optimizer : null));
    }

    /// <summary>
    /// Loads what <see cref="SaveWithOptimizer"/> wrote: the weights, then the optimizer state if there is one. The file is
    /// parsed once, and both are read and checked before any weight is assigned.
    /// </summary>
    public static void LoadWithOptimizer(Model model, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        RequireBuilt(model, "load weights");
        var stored = WeightsH5.Read(path, () => File.OpenRead(path), withOptimizer: model.IsCompiled);
        WeightMatching.Assign(model, stored, path, byName: false, skipMismatch: false);
        if (stored.Optimizer is not { } saved) return;
        model.Optimizer.BuildFor(model.TrainableWeights);
        model.Optimizer.RestoreState(saved.Iterations, saved.State, path);
    }

    public static IReadOnlyList<string> Load(Model model, string path, bool byName, bool skipMismatch)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        RequireBuilt(model, "load weights");
        StoredWeights stored;
        if (FileKinds.IsKerasArchive(path))
            stored = KerasArchive.ReadWeights(path);
        else if (IsHdf5(path))
            stored = WeightsH5.Read(path, () => File.OpenRead(path));
        else if (FileKinds.IsHdf5Extension(path))
            throw new InvalidDataException($"'{path}' is not an HDF5 file (it lacks the HDF5 signature): it may be truncated or of another type.");
        else
            stored = new StoredWeights(SafeTensors.Read(path));
        return WeightMatching.Assign(model, stored, path, byName, skipMismatch);
    }

    private static void RequireBuilt(Model model, string what)
    {
        if (!model.Built && model.Layers.Any(l => !l.Built))
            throw new InvalidOperationException($"Model '{model.Name}' is not built, so its weights do not exist yet; give it an input " +
                $"shape (InputLayer / Keras.Input) or call it on data before you {what}.");
    }

    private static bool IsHdf5(string path)
    {
        Span<byte> sig = stackalloc byte[8];
        using var f = File.OpenRead(path);
        int n = f.ReadAtLeast(sig, 8, throwOnEndOfStream: false);
        return n == 8 && sig.SequenceEqual(new byte[] { 0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a });
    }

    /// <summary>A shape as Python writes it in messages: <c>(3,)</c>, <c>(2, 3)</c>.</summary>
    internal static string FormatShape(long[] shape) => shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
}
