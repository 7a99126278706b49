namespace OnnxKeras.Saving;

/// <summary>
/// Which format a path names, by its extension, ignoring case (<c>model.KERAS</c> is a <c>.keras</c> file): the one rule
/// for <c>Save</c>, <c>SaveWeights</c>, <c>LoadModel</c>, <c>LoadWeights</c> and <c>ModelCheckpoint</c>.
/// </summary>
internal static class FileKinds
{
    /// <summary>Whether <paramref name="path"/> ends in <paramref name="extension"/> (with its dot), ignoring case.</summary>
    public static bool HasExtension(string path, string extension) => path.EndsWith(extension, StringComparison.OrdinalIgnoreCase);

    /// <summary>Keras 3's whole-model zip, <c>.keras</c>.</summary>
    public static bool IsKerasArchive(string path) => HasExtension(path, ".keras");

    /// <summary>Keras 3's weights file, <c>.weights.h5</c>.</summary>
    public static bool IsKerasWeights(string path) => HasExtension(path, ".weights.h5");

    /// <summary>An HDF5 file by extension, <c>.h5</c> or <c>.hdf5</c> (including <c>.weights.h5</c>).</summary>
    public static bool IsHdf5Extension(string path) => HasExtension(path, ".h5") || HasExtension(path, ".hdf5");
}
