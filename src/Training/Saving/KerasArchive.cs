using System.IO.Compression;
using System.Text;
using OnnxKeras.Models;
using PureHDF;

namespace OnnxKeras.Saving;

/// <summary>
/// Keras 3's <c>.keras</c> whole-model file: a zip with <c>metadata.json</c> (<c>keras_version</c>, <c>date_saved</c>),
/// <c>config.json</c> (the model config) and <c>model.weights.h5</c> (Keras 3 weights layout). Also reads legacy
/// Keras 2 whole-model <c>.h5</c> files (<c>model_config</c> attribute plus <c>model_weights</c>).
/// </summary>
internal static class KerasArchive
{
    /// <summary>The Keras version whose file format this writer follows (written to metadata.json).</summary>
    public const string FormatKerasVersion = "3.9.2";

    public static void Save(Model model, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!FileKinds.IsKerasArchive(path))
            throw new ArgumentException($"Save writes Keras 3's '.keras' format; '{path}' has another extension. Use SaveWeights for weights only (.weights.h5 or safetensors).");
        if (!model.Built) throw new InvalidOperationException($"Model '{model.Name}' is not built, so its weights do not exist yet; give it an input shape or call it on data before saving.");
        var configTree = ModelConfig.Serialize(model);
        if (CompileConfig.Serialize(model) is { } compile) configTree["compile_config"] = compile;
        var config = ConfigJson.Write(configTree);
        var metadata = ConfigJson.Write(new Dictionary<string, object?>
        {
            ["keras_version"] = FormatKerasVersion,
            ["date_saved"] = DateTime.Now.ToString("yyyy-MM-dd@HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
            ["producer"] = "onnxkeras",
        });
        using var weights = new MemoryStream();
        WeightFiles.WriteKerasH5(WeightFiles.WeightedLayers(model), weights, model.IsCompiled ? model.Optimizer : null);
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            void Add(string name, byte[] bytes)
            {
                var e = zip.CreateEntry(name, CompressionLevel.Optimal);
                using var s = e.Open();
                s.Write(bytes);
            }
            Add("metadata.json", Encoding.UTF8.GetBytes(metadata));
            Add("config.json", Encoding.UTF8.GetBytes(config));
            Add("model.weights.h5", weights.ToArray());
        });
    }

    public static Model Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        if (FileKinds.IsHdf5Extension(path))
            return LoadLegacyH5(path);
        var (config, weights) = ReadArchive(path);
        Model model;
        IDictionary<string, object?> tree;
        try
        {
            tree = ModelConfig.ParseJson(config) as IDictionary<string, object?> ?? throw new ArgumentException("config.json is not a JSON object.");
            model = ModelConfig.Deserialize(tree);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new InvalidDataException($"'{path}': its config.json cannot be rebuilt into a model: {e.Message}", e);
        }
        var stored = WeightFiles.ReadH5($"{path}!model.weights.h5", () => new MemoryStream(weights));
        WeightFiles.Assign(model, stored, path, byName: false, skipMismatch: false);
        if (tree.TryGetValue("compile_config", out var cc) && cc is IDictionary<string, object?> compile) CompileConfig.Apply(model, compile, path);
        if (model.IsCompiled) RestoreOptimizer(model, weights, path);
        return model;
    }

    /// <summary>Restores the optimizer's iteration count and moments, so training continues where it stopped.</summary>
    private static void RestoreOptimizer(Model model, byte[] weights, string path)
    {
        using var stream = new MemoryStream(weights);
        if (WeightFiles.ReadOptimizerState(stream, $"{path}!model.weights.h5") is not { } saved) return;
        var optimizer = model.Optimizer;
        optimizer.BuildFor(model.TrainableWeights);
        try
        {
            optimizer.RestoreState(saved.Iterations, saved.State, path);
        }
        catch (InvalidDataException e)
        {
            // As Keras does for an optimizer it cannot match: keep the model, start the optimizer fresh, and say so.
            Console.Error.WriteLine($"The optimizer state in '{path}' was not restored ({e.Message}); training will start with a fresh optimizer.");
        }
    }

    public static List<StoredLayer> ReadWeights(string path)
    {
        var (_, weights) = ReadArchive(path);
        return WeightFiles.ReadH5($"{path}!model.weights.h5", () => new MemoryStream(weights));
    }

    private static (string Config, byte[] Weights) ReadArchive(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            byte[] Entry(string name)
            {
                var e = zip.GetEntry(name) ?? throw new InvalidDataException($"'{path}' is a zip but not a Keras model: it has no '{name}' (entries: {string.Join(", ", zip.Entries.Select(x => x.FullName))}).");
                using var s = e.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                return ms.ToArray();
            }
            return (Encoding.UTF8.GetString(Entry("config.json")), Entry("model.weights.h5"));
        }
        catch (InvalidDataException e) when (e.InnerException is null && e.Message.StartsWith($"'{path}'", StringComparison.Ordinal))
        {
            throw;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new InvalidDataException($"'{path}' is not a readable .keras file (a zip with config.json and model.weights.h5): {e.Message}", e);
        }
    }

    private static Model LoadLegacyH5(string path)
    {
        string config, version;
        try
        {
            using var file = H5File.OpenRead(path);
            if (!file.AttributeExists("model_config"))
                throw new InvalidDataException($"'{path}' has no 'model_config' attribute: it holds weights only. Build the model in code and call LoadWeights.");
            config = file.Attribute("model_config").Read<string>();
            // Keras 2 (and 1) defined hard_sigmoid differently from Keras 3: FromJson keeps the file's meaning (KerasTwo).
            version = file.AttributeExists("keras_version") ? file.Attribute("keras_version").Read<string>() : "";
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"'{path}' cannot be read as a Keras HDF5 model file: {e.Message}", e);
        }
        Model model;
        try
        {
            model = ModelConfig.FromJson(config, version);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new InvalidDataException($"'{path}': its model_config cannot be rebuilt into a model: {e.Message}", e);
        }
        var stored = WeightFiles.ReadH5(path, () => File.OpenRead(path));
        WeightFiles.Assign(model, stored, path, byName: false, skipMismatch: false);
        return model;
    }
}
