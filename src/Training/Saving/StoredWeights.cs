namespace OnnxKeras.Saving;

/// <summary>One stored weight array: its name in the file, its shape and its values (row-major, Keras layout).</summary>
internal sealed record StoredArray(string Name, long[] Shape, float[] Data);

/// <summary>The stored weights of one layer, in the layer's weight order.</summary>
internal sealed record StoredLayer(string Name, IReadOnlyList<StoredArray> Arrays);

/// <summary>
/// What a weights file holds: its layers in file order (for matching by name or position) and, for Keras 3 HDF5 files,
/// every <c>vars</c> group by its object path (<c>layers/dense_1</c>; "" for the root), for matching by Keras's paths.
/// <paramref name="ByLayerName"/> marks files written by earlier OnnxKeras versions (groups named by layer name).
/// </summary>
/// <see cref="Optimizer"/>: the optimizer state, when it was asked for and the file has one (read in the same pass).
internal sealed record StoredWeights(List<StoredLayer> Layers, IReadOnlyDictionary<string, List<StoredArray>>? Groups = null, bool ByLayerName = false)
{
    /// <summary>The optimizer variables of a Keras 3 file (<c>optimizer/vars</c>), when they were read; null otherwise.</summary>
    public SavedOptimizerState? Optimizer { get; init; }

    /// <summary>The named variables of a Keras 3 file that are no weights (<c>vars/idf_weights</c>, Keras's
    /// <c>save_own_variables</c> of a TF-IDF lookup), keyed <c>&lt;object path&gt;/&lt;name&gt;</c>; null for other layouts.</summary>
    public IReadOnlyDictionary<string, StoredArray>? NamedVariables { get; init; }
}
