using System.IO.Compression;
using System.Text;
using OnnxKeras.Models;
using PureHDF;

namespace OnnxKeras.Saving;

/// <summary>
/// Keras 3's <c>.keras</c> whole-model file: a zip with <c>metadata.json</c> (<c>keras_version</c>, <c>date_saved</c>),
/// <c>config.json</c> (the model config) and <c>model.weights.h5</c> (Keras 3 weights layout). Also reads and writes legacy
/// Keras 2 whole-model <c>.h5</c> files (<c>model_config</c> attribute plus <c>model_weights</c>).
/// </summary>
internal static class KerasArchive
{
    /// <summary>The Keras version whose file format this writer follows (written to metadata.json).</summary>
    public const string FormatKerasVersion = "3.9.2";

    /// <summary>The backend name written to legacy <c>.h5</c> files (Keras writes tensorflow, jax or torch; ours runs on libtorch).</summary>
    public const string Backend = "torch";

    public static void Save(Model model, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (FileKinds.IsKerasWeights(path))
            throw new ArgumentException($"'{path}' names a weights-only file: use SaveWeights for '.weights.h5', or Save with '.keras' " +
                "(or legacy '.h5') for the whole model.");
        bool legacy = FileKinds.IsHdf5Extension(path);
        if (!legacy && !FileKinds.IsKerasArchive(path))
            throw new ArgumentException($"Save writes Keras 3's '.keras' format (or the legacy Keras 2 '.h5'/'.hdf5'); '{path}' has " +
                "another extension. Use SaveWeights for weights only (.weights.h5 or safetensors).");
        if (!model.Built)
            throw new InvalidOperationException($"Model '{model.Name}' is not built, so its weights do not exist yet; give it an input " +
                "shape or call it on data before saving.");
        if (legacy)
        {
            SaveLegacyH5(model, path);
            return;
        }
        var configTree = KerasAssets.SerializeForArchive(model);
        if (CompileConfig.Serialize(model) is { } compile) configTree["compile_config"] = compile;
        var config = ConfigJson.Write(configTree);
        var metadata = ConfigJson.Write(new Dictionary<string, object?>
        {
            ["keras_version"] = FormatKerasVersion,
            ["date_saved"] = DateTime.Now.ToString("yyyy-MM-dd@HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
            ["producer"] = "onnxkeras",
        });
        var assets = KerasAssets.Entries(model);
        using var weights = new MemoryStream();
        KerasWeightsH5.Write(model, weights, model.IsCompiled ? model.Optimizer : null);
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
            foreach (var (name, bytes) in assets) Add(name, bytes);
        });
    }

    /// <summary>
    /// The legacy whole-model HDF5 file (Keras 2's <c>save_model_to_hdf5</c>, which Keras 3 still writes for <c>.h5</c>):
    /// root attributes <c>model_config</c> (the config JSON), <c>training_config</c> (when compiled: loss, metrics and
    /// <c>optimizer_config</c>), <c>keras_version</c> and <c>backend</c>, and the weights in group <c>model_weights</c>
    /// (<see cref="LegacyWeightsH5.FillGroup"/>). The config is Keras 3's (as Keras 3 writes it here), so
    /// <c>keras_version</c> says 3.x; optimizer state is not stored (Keras 2's <c>optimizer_weights</c> layout differs).
    /// </summary>
    private static void SaveLegacyH5(Model model, string path)
    {
        var config = ConfigJson.Write(ModelConfig.Serialize(model));
        var file = new H5File();
        file.Attributes["model_config"] = new H5Attribute(config);
        if (CompileConfig.Serialize(model) is { } compile)
        {
            // Keras's training_config: the compile arguments, with the optimizer as optimizer_config {class_name, config}.
            var training = new Dictionary<string, object?>(compile, StringComparer.Ordinal);
            if (training.Remove("optimizer", out var opt) && opt is Dictionary<string, object?> o)
                training["optimizer_config"] =
                    new Dictionary<string, object?>(StringComparer.Ordinal) { ["class_name"] = o["class_name"], ["config"] = o["config"] };
            file.Attributes["training_config"] = new H5Attribute(ConfigJson.Write(training));
        }
        file.Attributes["keras_version"] = new H5Attribute(FormatKerasVersion);
        file.Attributes["backend"] = new H5Attribute(Backend);
        var weights = new H5Group();
        IReadOnlyList<Layers.Layer> layers = model is Sequential ? model.Layers : (model.Graph?.Layers ?? model.Layers);
        LegacyWeightsH5.FillGroup(weights, layers, FormatKerasVersion, Backend);
        file["model_weights"] = weights;
        AtomicFile.Write(path, s => file.Write(s));
    }

    public static Model Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        if (FileKinds.IsHdf5Extension(path))
            return LoadLegacyH5(path);
        var (config, weights, ours, assets) = ReadArchive(path);
        Model model;
        IDictionary<string, object?> tree;
        try
        {
            tree = ModelConfig.ParseJson(config) as IDictionary<string, object?> ?? throw new ArgumentException("config.json is not a JSON object.");
            model = ModelConfig.Deserialize(tree);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidDataException)
        {
            throw new InvalidDataException($"'{path}': its config.json cannot be rebuilt into a model: {e.Message}", e);
        }
        var compile = tree.TryGetValue("compile_config", out var cc) && cc is IDictionary<string, object?> { Count: > 0 } c ? c : null;
        StoredWeights stored;
        try
        {
            // One parse of model.weights.h5: the weights and, for a compiled model, the optimizer state, all read and checked
            // before anything is assigned.
            stored = WeightsH5.Read($"{path}!model.weights.h5", () => new MemoryStream(weights), withOptimizer: compile is not null,
                writtenByOnnxKeras: ours);
            WeightMatching.Assign(model, stored, path, byName: false, skipMismatch: false);
            KerasAssets.Load(model, assets, stored.NamedVariables, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        if (compile is not null) CompileConfig.Apply(model, compile, path);
        if (model.IsCompiled && stored.Optimizer is { } saved) RestoreOptimizer(model, saved, path);
        return model;
    }

    /// <summary>Restores the optimizer's iteration count and moments, so training continues where it stopped.</summary>
    private static void RestoreOptimizer(Model model, SavedOptimizerState saved, string path)
    {
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

    /// <summary>
    /// Whether <c>metadata.json</c> names OnnxKeras as the producer (<c>"producer": "onnxkeras"</c>, which Keras never
    /// writes); false when it is missing, too large (over 1 MiB) or unreadable.
    /// </summary>
    private static bool WrittenByOnnxKeras(ZipArchive zip, string path)
    {
        try
        {
            if (zip.GetEntry("metadata.json") is null) return false;
            var bytes = ReadEntry(zip, path, "metadata.json", 1 << 20);
            using var doc = System.Text.Json.JsonDocument.Parse(bytes);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && doc.RootElement.TryGetProperty("producer", out var p) && p.ValueKind == System.Text.Json.JsonValueKind.String
                && p.GetString() == "onnxkeras";
        }
        catch (Exception e) when (e is InvalidDataException or IOException or System.Text.Json.JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8 inside otherwise valid JSON.
            return false;
        }
    }

    public static StoredWeights ReadWeights(string path)
    {
        var (_, weights, _, _) = ReadArchive(path);
        return WeightsH5.Read($"{path}!model.weights.h5", () => new MemoryStream(weights));
    }

    /// <summary>The most bytes <c>config.json</c> may inflate to: 64 MiB (67,108,864). Settable by tests.
    /// (<c>metadata.json</c> is read only for its producer, up to 1 MiB.)</summary>
    internal static long MaxConfigEntryBytes = 64L << 20;

    /// <summary>
    /// The most bytes <c>model.weights.h5</c> may inflate to: 2,147,483,591 (<see cref="Array.MaxLength"/>), because the
    /// entry is held in one byte array (a MemoryStream cannot grow past 2 GiB either). Settable by tests.
    /// </summary>
    internal static long MaxWeightsEntryBytes = Array.MaxLength;

    /// <summary>config.json, model.weights.h5, whether metadata.json names OnnxKeras as the producer, and the files under
    /// <c>assets/</c> (each up to <see cref="MaxConfigEntryBytes"/>), from one opening of the zip.</summary>
    private static (string Config, byte[] Weights, bool WrittenByOnnxKeras, Dictionary<string, byte[]> Assets) ReadArchive(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var assets = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var e in zip.Entries.Where(e => e.FullName.StartsWith(KerasAssets.Directory + "/", StringComparison.Ordinal) && e.Name.Length > 0))
                if (!assets.TryAdd(e.FullName, ReadEntry(zip, path, e.FullName, MaxConfigEntryBytes)))
                    throw new InvalidDataException($"'{path}': the zip has two entries named '{e.FullName}'.");
            return (Encoding.UTF8.GetString(ReadEntry(zip, path, "config.json", MaxConfigEntryBytes)),
                    ReadEntry(zip, path, "model.weights.h5", MaxWeightsEntryBytes), WrittenByOnnxKeras(zip, path), assets);
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

    /// <summary>
    /// One entry, inflated to at most <paramref name="maxBytes"/>: the limit is checked against the declared size and
    /// again while inflating, so memory never exceeds the limit even if the declared size lies (.NET 10 itself stops
    /// inflating at the declared size; the count does not depend on that).
    /// </summary>
    private static byte[] ReadEntry(ZipArchive zip, string path, string name, long maxBytes)
    {
        var e = zip.GetEntry(name) ?? throw new InvalidDataException($"'{path}' is a zip but not a Keras model: it has no '{name}' " +
            $"(entries: {string.Join(", ", zip.Entries.Select(x => x.FullName))}).");
        string TooLarge(string size) => $"'{path}': its entry '{name}' {size}, more than the {maxBytes:N0} bytes this reader accepts for " +
            "it (a corrupt or malicious archive?).";
        if (e.Length > maxBytes) throw new InvalidDataException(TooLarge($"declares {e.Length:N0} bytes"));
        using var s = e.Open();
        var bytes = new byte[e.Length];
        int read = 0;
        using var more = new MemoryStream();
        var buffer = new byte[81920];
        while (true)
        {
            int n = read < bytes.Length
                ? s.Read(bytes, read, bytes.Length - read)
                : s.Read(buffer, 0, (int)Math.Min(buffer.Length, maxBytes - read - more.Length + 1));
            if (n == 0) break;
            if (read < bytes.Length) read += n;
            else
            {
                if (read + more.Length + n > maxBytes)
                    throw new InvalidDataException(TooLarge($"inflates past {maxBytes:N0} bytes (it declares {e.Length:N0})"));
                more.Write(buffer, 0, n);
            }
        }
        if (read < bytes.Length)
            throw new InvalidDataException($"'{path}': its entry '{name}' ends after {read:N0} of the {bytes.Length:N0} bytes it declares.");
        return more.Length == 0 ? bytes : [.. bytes, .. more.ToArray()];
    }

    private static Model LoadLegacyH5(string path)
    {
        string config, version;
        string? trainingConfig;
        try
        {
            using var file = H5File.OpenRead(path);
            if (!file.AttributeExists("model_config"))
                throw new InvalidDataException($"'{path}' has no 'model_config' attribute: it holds weights only. Build the model in " +
                    "code and call LoadWeights.");
            config = file.Attribute("model_config").Read<string>();
            trainingConfig = file.AttributeExists("training_config") ? file.Attribute("training_config").Read<string>() : null;
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
            model = ModelConfig.FromJson(config, null, version);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidDataException)
        {
            throw new InvalidDataException($"'{path}': its model_config cannot be rebuilt into a model: {e.Message}", e);
        }
        var stored = WeightsH5.Read(path, () => File.OpenRead(path));
        WeightMatching.Assign(model, stored, path, byName: false, skipMismatch: false);
        if (trainingConfig is not null) CompileFromTrainingConfig(model, trainingConfig, path);
        return model;
    }

    /// <summary>
    /// Compiles a model loaded from a legacy file as Keras does: loss, metrics and <c>optimizer_config</c> from
    /// <c>training_config</c> (Keras 2's <c>lr</c> read as <c>learning_rate</c>). What cannot be rebuilt leaves the model
    /// uncompiled, with a warning.
    /// </summary>
    private static void CompileFromTrainingConfig(Model model, string json, string path)
    {
        IDictionary<string, object?> training;
        try
        {
            training = ModelConfig.ParseJson(json) as IDictionary<string, object?> ?? throw new ArgumentException("it is not a JSON object");
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            Console.Error.WriteLine($"Warning: '{path}': the model was loaded uncompiled because its training_config could not be read: {e.Message}");
            return;
        }
        var compile = new Dictionary<string, object?>(training, StringComparer.Ordinal);
        if (compile.Remove("optimizer_config", out var oc) && oc is IDictionary<string, object?> optimizer)
        {
            if (optimizer.TryGetValue("config", out var c) && c is IDictionary<string, object?> oconfig && !oconfig.ContainsKey("learning_rate")
                && oconfig.Remove("lr", out var lr))
                oconfig["learning_rate"] = lr;
            compile["optimizer"] = optimizer;
        }
        CompileConfig.Apply(model, compile, path);
    }
}
