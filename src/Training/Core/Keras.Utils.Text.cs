using OnnxKeras.Data;

namespace OnnxKeras;

public static partial class Keras
{
    public static partial class Utils
    {
        /// <summary>
        /// Texts from class folders (Keras's <c>keras.utils.text_dataset_from_directory</c>): <paramref name="directory"/>
        /// holds one subfolder per class (classes in ordinal, alphanumeric order unless <paramref name="classNames"/> sets
        /// it), each with <c>.txt</c> files (subfolders included). With <paramref name="shuffle"/> the files are shuffled
        /// with <paramref name="seed"/> before the split, and each pass reshuffles its batches' order within a buffer of
        /// 8 batches. <paramref name="validationSplit"/> with <paramref name="subset"/> "training" or "validation" keeps
        /// the first or the last <c>(int)(validationSplit * n)</c> files; the same seed gives disjoint subsets (use
        /// <see cref="TextDatasetFromDirectoryBoth"/> for both at once). The split differs from Python's for the same
        /// seed (its shuffle is NumPy's). See <see cref="TextDataset"/> for how strings become tensors.
        /// </summary>
        /// <param name="directory">The folder of class folders.</param>
        /// <param name="labels">"inferred" (from the folders) or null (no labels: all .txt files under the folder).</param>
        /// <param name="labelMode">"int" (int64 class index), "categorical" (float32 one-hot), "binary" (float32 [n, 1];
        /// exactly two classes) or null (no labels).</param>
        /// <param name="classNames">The class folders to read, in label order (all subfolders by default; a subset reads only those).</param>
        /// <param name="batchSize">Texts per batch; null for single texts.</param>
        /// <param name="maxLength">Cut each text to this many characters.</param>
        /// <param name="shuffle">Shuffle the files (and each pass's order).</param>
        /// <param name="seed">The shuffle's seed; required with a validation split and shuffling.</param>
        /// <param name="validationSplit">Fraction of files for validation, in (0, 1).</param>
        /// <param name="subset">"training" or "validation" with <paramref name="validationSplit"/>.</param>
        /// <param name="followLinks">Visit folders that are symbolic links.</param>
        /// <param name="verbose">Print how many files and classes were found.</param>
        /// <exception cref="ArgumentException">An argument Keras refuses, no text file, or "binary" without exactly two classes.</exception>
        /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
        /// <example><code>
        /// var train = Keras.Utils.TextDatasetFromDirectory("reviews", batchSize: 8, validationSplit: 0.25, subset: "training", seed: 1);
        /// Console.WriteLine(string.Join(", ", train.ClassNames));
        /// </code></example>
        public static TextDataset TextDatasetFromDirectory(string directory, string? labels = "inferred", string? labelMode = "int",
            IReadOnlyList<string>? classNames = null, int? batchSize = 32, int? maxLength = null, bool shuffle = true, long? seed = null,
            double? validationSplit = null, string? subset = null, bool followLinks = false, bool verbose = true)
        {
            var (index, mode, s) = IndexText(directory, labels, labelMode, classNames, batchSize, maxLength, shuffle, seed, validationSplit, subset,
                followLinks, verbose, allowBoth: false);
            return Report(new TextDataset(index.Subset(TextUtility, validationSplit, subset), mode, batchSize, shuffle, s, maxLength), subset, verbose);
        }

        /// <summary>Both subsets of <see cref="TextDatasetFromDirectory"/> (Keras's <c>subset="both"</c>): the training
        /// and the validation texts, from one listing and one seed.</summary>
        /// <exception cref="ArgumentException">As <see cref="TextDatasetFromDirectory"/>; <paramref name="validationSplit"/> is required.</exception>
        /// <example><code>
        /// var (train, val) = Keras.Utils.TextDatasetFromDirectoryBoth("reviews", validationSplit: 0.25, seed: 1, batchSize: 8);
        /// </code></example>
        public static (TextDataset Training, TextDataset Validation) TextDatasetFromDirectoryBoth(string directory, double validationSplit,
            string? labels = "inferred", string? labelMode = "int", IReadOnlyList<string>? classNames = null, int? batchSize = 32,
            int? maxLength = null, bool shuffle = true, long? seed = null, bool followLinks = false, bool verbose = true)
        {
            var (index, mode, s) = IndexText(directory, labels, labelMode, classNames, batchSize, maxLength, shuffle, seed, validationSplit, "both",
                followLinks, verbose, allowBoth: true);
            TextDataset Part(string part) =>
                Report(new TextDataset(index.Subset(TextUtility, validationSplit, part), mode, batchSize, shuffle, s, maxLength), part, verbose);
            return (Part("training"), Part("validation"));
        }

        private const string TextUtility = "TextDatasetFromDirectory";

        private static (DirectoryIndex Index, string? LabelMode, long Seed) IndexText(string directory, string? labels, string? labelMode,
            IReadOnlyList<string>? classNames, int? batchSize, int? maxLength, bool shuffle, long? seed, double? validationSplit, string? subset,
            bool followLinks, bool verbose, bool allowBoth)
        {
            var mode = DirectoryIndex.CheckArguments(TextUtility, directory, labels, labelMode, classNames, validationSplit, subset, shuffle, seed, allowBoth);
            if (batchSize is <= 0) throw new ArgumentException($"{TextUtility}: batchSize must be positive or null; got {batchSize}.", nameof(batchSize));
            if (maxLength is <= 0) throw new ArgumentException($"{TextUtility}: maxLength must be positive or null; got {maxLength}.", nameof(maxLength));
            long s = seed ?? NextSeed();
            var index = DirectoryIndex.Build(TextUtility, directory, labels == "inferred", classNames, [".txt"], shuffle, s, followLinks);
            if (index.Paths.Length == 0)
                throw new ArgumentException($"{TextUtility}: no text files found in directory '{directory}'. Allowed format: .txt", nameof(directory));
            if (mode == "binary" && index.ClassNames.Length != 2)
                throw new ArgumentException($"{TextUtility}: when passing labelMode \"binary\", there must be exactly 2 class names; got " +
                    $"[{string.Join(", ", index.ClassNames)}].", nameof(labelMode));
            if (verbose)
            {
                Console.WriteLine(labels == "inferred"
                    ? $"Found {index.Paths.Length} files belonging to {index.ClassNames.Length} classes."
                    : $"Found {index.Paths.Length} files.");
            }
            return (index, mode, s);
        }

        private static TextDataset Report(TextDataset ds, string? subset, bool verbose)
        {
            if (verbose && subset is not null) Console.WriteLine($"Using {ds.FilePaths.Count} files for {subset}.");
            return ds;
        }
    }
}
