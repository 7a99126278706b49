using System.Globalization;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Serving;

/// <summary>
/// The models of a Triton-style model repository, loaded: <c>&lt;repository&gt;/&lt;name&gt;/&lt;version&gt;/model.onnx</c>,
/// where each version folder's name is a positive integer (the layout <c>onnxkeras export-triton</c> writes; a
/// <c>config.pbtxt</c> beside the versions is allowed and not read). Other folders and files are skipped, as Triton skips
/// them. Disposing the repository disposes the models.
/// </summary>
public sealed class ModelRepository : IDisposable
{
    private ModelRepository(IReadOnlyList<ServedModel> models) => Models = models;

    /// <summary>The loaded models with their names and versions, sorted by name and version.</summary>
    public IReadOnlyList<ServedModel> Models { get; }

    /// <summary>Loads every model version of the repository in <paramref name="directory"/>.</summary>
    /// <param name="directory">The repository folder.</param>
    /// <param name="options">Session options for every model (null: defaults).</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no model version, or a version folder has no
    /// <c>model.onnx</c>, or a model cannot be loaded (the message names the file). Models loaded before the failure
    /// are disposed.</exception>
    public static ModelRepository Load(string directory, InferenceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var root = new DirectoryInfo(directory);
        if (!root.Exists) throw new DirectoryNotFoundException($"The model repository '{root.FullName}' does not exist.");
        var found = new List<(string Name, string Version, string Path)>();
        foreach (var modelDir in root.EnumerateDirectories().OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            foreach (var versionDir in modelDir.EnumerateDirectories())
            {
                if (!long.TryParse(versionDir.Name, NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v < 1) continue;
                string file = Path.Combine(versionDir.FullName, "model.onnx");
                if (!File.Exists(file))
                    throw new InvalidDataException($"The model repository's version folder '{versionDir.FullName}' has no model.onnx.");
                found.Add((modelDir.Name, versionDir.Name, file));
            }
        }
        if (found.Count == 0)
            throw new InvalidDataException(
                $"The model repository '{root.FullName}' holds no model: expected <name>/<version>/model.onnx with numeric versions.");
        var models = new List<ServedModel>();
        try
        {
            foreach (var (name, version, path) in found.OrderBy(f => f.Name, StringComparer.Ordinal).ThenBy(f => f.Version, VersionComparer.Instance))
                models.Add(new ServedModel(name, version, OnnxModel.Load(path, options)));
        }
        catch
        {
            foreach (var m in models) m.Model.Dispose();
            throw;
        }
        return new ModelRepository(models);
    }

    /// <summary>Disposes every model (stop the server first).</summary>
    public void Dispose()
    {
        foreach (var m in Models) m.Model.Dispose();
    }
}
