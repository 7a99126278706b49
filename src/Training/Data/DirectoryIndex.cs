using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>
/// The file listing, labels and split of Keras's <c>*_dataset_from_directory</c> utilities (keras/src/utils/dataset_utils.py):
/// class folders in ordinal (alphanumeric) order, files in ordinal order within each, shuffled with the seed, the last
/// <c>int(validation_split * n)</c> files for validation.
/// </summary>
internal sealed class DirectoryIndex
{
    public required string[] Paths { get; init; }
    public required int[] Labels { get; init; }
    public required string[] ClassNames { get; init; }

    /// <summary>Checks the arguments shared by the directory loaders (Keras's messages); returns the label mode in use.</summary>
    public static string? CheckArguments(string utility, string directory, string? labels, string? labelMode, IReadOnlyList<string>? classNames,
        double? validationSplit, string? subset, bool shuffle, long? seed, bool allowBoth)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{utility}: the directory '{directory}' does not exist.");
        if (labels is not null and not "inferred")
            throw new ArgumentException($"{utility}: labels must be \"inferred\" (from the class folders) or null (no labels); got \"{labels}\". " +
                "Explicit label lists are not supported.", nameof(labels));
        if (labelMode is not null and not ("int" or "categorical" or "binary"))
            throw new ArgumentException($"{utility}: labelMode must be \"int\", \"categorical\", \"binary\" or null; got \"{labelMode}\".",
                nameof(labelMode));
        if (classNames is not null && labels != "inferred")
            throw new ArgumentException($"{utility}: classNames is only valid when labels is \"inferred\".", nameof(classNames));
        if (validationSplit is double v && !(v > 0 && v < 1))
            throw new ArgumentException($"{utility}: validationSplit must be between 0 and 1; got {v}.", nameof(validationSplit));
        if ((validationSplit is not null) != (subset is not null))
            throw new ArgumentException($"{utility}: if subset is set, validationSplit must be set, and inversely.", nameof(subset));
        if (subset is not null and not ("training" or "validation" or "both"))
            throw new ArgumentException($"{utility}: subset must be \"training\", \"validation\" or \"both\"; got \"{subset}\".", nameof(subset));
        if (subset == "both" && !allowBoth)
            throw new ArgumentException($"{utility}: subset \"both\" gives two datasets: call the ...Both method of the same utility.", nameof(subset));
        if (validationSplit is not null && shuffle && seed is null)
            throw new ArgumentException($"{utility}: when using validationSplit and shuffling the data, you must provide a seed, to make sure " +
                "that there is no overlap between the training and validation subsets.", nameof(seed));
        return labels is null ? null : labelMode;
    }

    /// <summary>Lists the files (Keras's index_directory), shuffled with <paramref name="seed"/> when <paramref name="shuffle"/>;
    /// given class names (a subset of the folders, in their order) choose the folders read and their labels.</summary>
    public static DirectoryIndex Build(string utility, string directory, bool inferred, IReadOnlyList<string>? classNames,
        IReadOnlyCollection<string> extensions, bool shuffle, long seed, bool followLinks)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System };
        var subdirs = Directory.GetDirectories(directory, "*", options)
            .Where(d => followLinks || new DirectoryInfo(d).LinkTarget is null)
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        string[] names;
        if (!inferred) names = [];
        else if (classNames is not null)
        {
            if (classNames.Count == 0 || classNames.Distinct().Count() != classNames.Count || !classNames.ToHashSet().IsSubsetOf(subdirs))
                throw new ArgumentException($"{utility}: the classNames passed do not match the names of the subdirectories of '{directory}'. " +
                    $"Expected: [{string.Join(", ", subdirs)}] (or a subset of it), but received: [{string.Join(", ", classNames)}].",
                    nameof(classNames));
            names = [.. classNames];
        }
        else names = subdirs;
        var paths = new List<string>();
        var labels = new List<int>();
        if (inferred)
        {
            for (int c = 0; c < names.Length; c++)
            {
                foreach (var f in Files(Path.Combine(directory, names[c]), extensions, followLinks))
                {
                    paths.Add(f);
                    labels.Add(c);
                }
            }
        }
        else paths.AddRange(Files(directory, extensions, followLinks));
        if (labels.Count == 0) labels.AddRange(new int[paths.Count]);
        string[] p = [.. paths];
        int[] l = [.. labels];
        if (shuffle)
        {
            // Fisher-Yates with the seed: deterministic for a seed, but not NumPy's RandomState order.
            var rng = new Random(unchecked((int)(seed ^ (seed >> 32))));
            for (int i = p.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (p[i], p[j]) = (p[j], p[i]);
                (l[i], l[j]) = (l[j], l[i]);
            }
        }
        return new DirectoryIndex { Paths = p, Labels = l, ClassNames = names };
    }

    /// <summary>Files with an allowed extension under <paramref name="folder"/>, recursively, ordered by folder then file name
    /// (ordinal), as Keras's iter_valid_files sorts its walk.</summary>
    private static IEnumerable<string> Files(string folder, IReadOnlyCollection<string> extensions, bool followLinks)
    {
        var found = new List<string>();
        void Walk(string dir)
        {
            foreach (var f in Directory.GetFiles(dir))
            {
                if (extensions.Contains(Path.GetExtension(f).ToLowerInvariant())) found.Add(f);
            }
            foreach (var d in Directory.GetDirectories(dir))
            {
                if (followLinks || new DirectoryInfo(d).LinkTarget is null) Walk(d);
            }
        }
        Walk(folder);
        return found.OrderBy(f => Path.GetDirectoryName(f), StringComparer.Ordinal).ThenBy(Path.GetFileName, StringComparer.Ordinal);
    }

    /// <summary>The training or validation part (Keras's get_training_or_validation_split); the whole index without a split.</summary>
    public DirectoryIndex Subset(string utility, double? validationSplit, string? subset)
    {
        if (validationSplit is not double v || subset is null) return this;
        int numVal = (int)(v * Paths.Length);
        if (numVal == 0 || numVal == Paths.Length)
            throw new ArgumentException($"{utility}: validationSplit {v} of {Paths.Length} files leaves an empty training or validation subset.",
                nameof(validationSplit));
        int trainCount = Paths.Length - numVal;
        return subset == "training"
            ? new DirectoryIndex { Paths = Paths[..trainCount], Labels = Labels[..trainCount], ClassNames = ClassNames }
            : new DirectoryIndex { Paths = Paths[trainCount..], Labels = Labels[trainCount..], ClassNames = ClassNames };
    }

    /// <summary>The labels of the files at <paramref name="indices"/> in <paramref name="labelMode"/>'s form.</summary>
    public Tensor LabelBatch(ReadOnlySpan<int> indices, string labelMode)
    {
        var ids = new long[indices.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = Labels[indices[i]];
        var t = tensor(ids, ScalarType.Int64);
        switch (labelMode)
        {
            case "int": return t;
            case "binary":
                using (t) return t.to_type(ScalarType.Float32).unsqueeze(1);
            default:
                using (t) return nn.functional.one_hot(t, ClassNames.Length).to_type(ScalarType.Float32);
        }
    }
}

/// <summary>
/// A dataset of files listed by a directory utility (<c>Keras.Utils.TextDatasetFromDirectory</c>, the image loader of
/// OnnxKeras.Data.Images): its <see cref="ClassNames"/> (Keras's <c>dataset.class_names</c>) and the files in the
/// dataset's order before each pass's shuffle.
/// </summary>
public sealed class DirectoryDataset : Dataset
{
    private readonly Dataset inner;

    internal DirectoryDataset(Dataset inner, DirectoryIndex index)
    {
        this.inner = inner;
        ClassNames = index.ClassNames;
        FilePaths = index.Paths;
        FileLabels = index.Labels;
    }

    /// <summary>The class names, in label order (the subfolder names in ordinal order unless given).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The files of this dataset (after the seeded shuffle and the split, before each pass's shuffle).</summary>
    public IReadOnlyList<string> FilePaths { get; }

    /// <summary>The class index of each of <see cref="FilePaths"/>.</summary>
    public IReadOnlyList<int> FileLabels { get; }

    /// <inheritdoc/>
    public override long Cardinality => inner.Cardinality;

    /// <inheritdoc/>
    public override bool IsBatched => inner.IsBatched;

    /// <inheritdoc/>
    public override IEnumerable<Tensor[]> Elements() => inner.Elements();
}

/// <summary>
/// Elements made from file indices: batches of <c>batchSize</c> indices (or single ones), in a buffered shuffle of
/// <c>8 * batchSize</c> reshuffled each pass (Keras's per-iteration shuffle), each turned into tensors by <c>load</c>.
/// </summary>
internal sealed class FileBatchDataset(int count, int? batchSize, bool shuffle, long seed, Func<int[], Tensor[]> load, int? shuffleBuffer = null)
    : Dataset
{
    private readonly BufferShuffler shuffler = new(shuffleBuffer ?? (batchSize is int b ? 8 * b : 1024), seed);

    public override long Cardinality => batchSize is int b ? (count + b - 1) / b : count;
    public override bool IsBatched => batchSize is not null;

    public override IEnumerable<Tensor[]> Elements()
    {
        var order = shuffle ? shuffler.Shuffle(Enumerable.Range(0, count)) : Enumerable.Range(0, count);
        if (batchSize is not int size)
        {
            foreach (int i in order)
            {
                var batch = load([i]);
                yield return batch.Select(t => t.squeeze(0)).ToArray();
            }
            yield break;
        }
        foreach (var chunk in order.Chunk(size)) yield return load(chunk);
    }
}
