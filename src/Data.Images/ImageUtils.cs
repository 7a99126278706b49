using SkiaSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Data.Images;

/// <summary>
/// Keras's image utilities for .NET: <see cref="ImageDatasetFromDirectory"/> (<c>keras.utils.image_dataset_from_directory</c>),
/// <see cref="LoadImage"/> and <see cref="SaveImage"/>. Images are decoded with SkiaSharp (PNG, JPEG, BMP, GIF's first
/// frame) to the stored 8-bit values, then resized with TensorFlow's formulas, so pixels match Keras's up to the JPEG
/// decoder's rounding.
/// </summary>
public static class ImageUtils
{
    private const string Utility = "ImageDatasetFromDirectory";

    /// <summary>
    /// Images from class folders (Keras's <c>image_dataset_from_directory</c>): <paramref name="directory"/> holds one
    /// subfolder per class (classes in ordinal, alphanumeric order unless <paramref name="classNames"/> sets it), each with
    /// .bmp/.gif/.jpeg/.jpg/.png files (subfolders included). Elements are <c>(images, labels)</c>: images float32
    /// <c>[batch, height, width, channels]</c> with values in [0, 255], resized to <paramref name="imageSize"/> with
    /// <paramref name="interpolation"/>. With <paramref name="shuffle"/> the files are shuffled with <paramref name="seed"/>
    /// before the split and each pass reshuffles within a buffer of 8 batches, as Keras does. With
    /// <paramref name="validationSplit"/> and <paramref name="subset"/> "training" or "validation" the first or last
    /// <c>(int)(validationSplit * n)</c> files are kept; the same seed gives disjoint subsets (or call
    /// <see cref="ImageDatasetFromDirectoryBoth"/>). The split differs from Python's for the same seed (its shuffle is
    /// NumPy's). Files are decoded batch by batch on each pass, in parallel; add <c>.Cache()</c> or <c>.Prefetch()</c> as
    /// with tf.data.
    /// </summary>
    /// <param name="directory">The folder of class folders.</param>
    /// <param name="labels">"inferred" (from the folders) or null (no labels: every image under the folder).</param>
    /// <param name="labelMode">"int" (int64 class index), "categorical" (float32 one-hot), "binary" (float32 [batch, 1];
    /// exactly two classes) or null (no labels).</param>
    /// <param name="classNames">The class folders to read, in label order (all subfolders by default; a subset reads only those).</param>
    /// <param name="colorMode">"grayscale" (1 channel: BT.601 luma of color images), "rgb" (3) or "rgba" (4; opaque
    /// images get alpha 255).</param>
    /// <param name="batchSize">Images per batch; null for single images <c>[height, width, channels]</c>.</param>
    /// <param name="imageSize">(height, width) to resize to; (256, 256) by default.</param>
    /// <param name="shuffle">Shuffle the files (and each pass's order).</param>
    /// <param name="seed">The shuffle's seed; required with a validation split and shuffling.</param>
    /// <param name="validationSplit">Fraction of files for validation, in (0, 1).</param>
    /// <param name="subset">"training" or "validation" with <paramref name="validationSplit"/>.</param>
    /// <param name="interpolation">"bilinear" (default) or "nearest".</param>
    /// <param name="followLinks">Visit folders that are symbolic links.</param>
    /// <param name="cropToAspectRatio">Only false (cropping is not implemented).</param>
    /// <param name="padToAspectRatio">Only false (padding is not implemented).</param>
    /// <param name="dataFormat">Only null or "channels_last".</param>
    /// <param name="verbose">Print how many files and classes were found.</param>
    /// <exception cref="ArgumentException">An argument Keras refuses or that is not implemented, no image, or "binary"
    /// without exactly two classes.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidDataException">(When read) a file that cannot be decoded, named.</exception>
    /// <example><code>
    /// var train = ImageUtils.ImageDatasetFromDirectory("photos", imageSize: (64, 64), validationSplit: 0.2, subset: "training", seed: 1);
    /// Console.WriteLine(string.Join(", ", train.ClassNames));
    /// </code></example>
    public static DirectoryDataset ImageDatasetFromDirectory(string directory, string? labels = "inferred", string? labelMode = "int",
        IReadOnlyList<string>? classNames = null, string colorMode = "rgb", int? batchSize = 32, (int Height, int Width)? imageSize = null,
        bool shuffle = true, long? seed = null, double? validationSplit = null, string? subset = null, string interpolation = "bilinear",
        bool followLinks = false, bool cropToAspectRatio = false, bool padToAspectRatio = false, string? dataFormat = null, bool verbose = true)
    {
        var p = Prepare(directory, labels, labelMode, classNames, colorMode, batchSize, imageSize, shuffle, seed, validationSplit, subset,
            interpolation, followLinks, cropToAspectRatio, padToAspectRatio, dataFormat, verbose, allowBoth: false);
        return p.Make(subset);
    }

    /// <summary>Both subsets of <see cref="ImageDatasetFromDirectory"/> (Keras's <c>subset="both"</c>), from one listing and one seed.</summary>
    /// <exception cref="ArgumentException">As <see cref="ImageDatasetFromDirectory"/>.</exception>
    /// <example><code>
    /// var (train, val) = ImageUtils.ImageDatasetFromDirectoryBoth("photos", validationSplit: 0.2, seed: 1, imageSize: (64, 64));
    /// </code></example>
    public static (DirectoryDataset Training, DirectoryDataset Validation) ImageDatasetFromDirectoryBoth(string directory, double validationSplit,
        string? labels = "inferred", string? labelMode = "int", IReadOnlyList<string>? classNames = null, string colorMode = "rgb",
        int? batchSize = 32, (int Height, int Width)? imageSize = null, bool shuffle = true, long? seed = null, string interpolation = "bilinear",
        bool followLinks = false, bool verbose = true)
    {
        var p = Prepare(directory, labels, labelMode, classNames, colorMode, batchSize, imageSize, shuffle, seed, validationSplit, "both",
            interpolation, followLinks, false, false, null, verbose, allowBoth: true);
        return (p.Make("training"), p.Make("validation"));
    }

    /// <summary>
    /// One image as <c>float[height, width, channels]</c> with values in [0, 255], decoded and resized as
    /// <see cref="ImageDatasetFromDirectory"/> does (<paramref name="targetSize"/> null keeps the file's size).
    /// </summary>
    /// <exception cref="InvalidDataException">The file cannot be decoded.</exception>
    /// <example><code>float[,,] pixels = ImageUtils.LoadImage("photo.png", targetSize: (64, 64));</code></example>
    public static float[,,] LoadImage(string path, string colorMode = "rgb", (int Height, int Width)? targetSize = null, string interpolation = "bilinear")
    {
        int c = ImageDecoder.Channels(colorMode, nameof(LoadImage));
        ImageDecoder.CheckInterpolation(interpolation, nameof(LoadImage));
        var (pixels, h, w) = ImageDecoder.Decode(path, c);
        var (oh, ow) = targetSize ?? (h, w);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"LoadImage: targetSize must be positive; got ({oh}, {ow}).", nameof(targetSize));
        var resized = new float[oh * ow * c];
        ImageDecoder.Resize(pixels, h, w, c, resized, 0, oh, ow, interpolation);
        var result = new float[oh, ow, c];
        Buffer.BlockCopy(resized, 0, result, 0, resized.Length * sizeof(float));
        return result;
    }

    /// <summary>
    /// Writes <c>[height, width, channels]</c> pixels (1, 3 or 4 channels, values in [0, 255], rounded and clamped) as a
    /// PNG, or a JPEG when the path ends in .jpg/.jpeg (Keras's <c>save_img</c> without scaling).
    /// </summary>
    /// <exception cref="ArgumentException">Another channel count, or a JPEG quality outside 1..100.</exception>
    /// <example><code>
    /// var red = new float[2, 2, 3];
    /// for (int y = 0; y &lt; 2; y++) for (int x = 0; x &lt; 2; x++) red[y, x, 0] = 255;
    /// ImageUtils.SaveImage("red.png", red);
    /// </code></example>
    public static void SaveImage(string path, float[,,] pixels, int jpegQuality = 95)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        int h = pixels.GetLength(0), w = pixels.GetLength(1), c = pixels.GetLength(2);
        if (c is not (1 or 3 or 4)) throw new ArgumentException($"SaveImage: pixels need 1, 3 or 4 channels; got {c}.", nameof(pixels));
        if (jpegQuality is < 1 or > 100) throw new ArgumentException($"SaveImage: jpegQuality must be in 1..100; got {jpegQuality}.", nameof(jpegQuality));
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        static byte B(float v) => (byte)Math.Clamp(MathF.Round(v), 0, 255);
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                byte r = B(pixels[y, x, 0]);
                var color = c == 1 ? new SKColor(r, r, r) : new SKColor(r, B(pixels[y, x, 1]), B(pixels[y, x, 2]), c == 4 ? B(pixels[y, x, 3]) : (byte)255);
                bitmap.SetPixel(x, y, color);
            }
        }
        bool jpeg = Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg";
        using var data = bitmap.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, jpeg ? jpegQuality : 100)
            ?? throw new InvalidOperationException($"SaveImage: SkiaSharp could not encode '{path}'.");
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    private sealed record Prepared(DirectoryIndex Index, string? LabelMode, int Channels, int? BatchSize, int Height, int Width, bool Shuffle,
        long Seed, double? ValidationSplit, string Interpolation, bool Verbose)
    {
        public DirectoryDataset Make(string? subset)
        {
            var part = Index.Subset(Utility, ValidationSplit, subset);
            if (Verbose && subset is not null) Console.WriteLine($"Using {part.Paths.Length} files for {subset}.");
            var inner = new FileBatchDataset(part.Paths.Length, BatchSize, Shuffle, Seed, ids => Load(part, ids));
            return new DirectoryDataset(inner, part);
        }

        private Tensor[] Load(DirectoryIndex part, int[] ids)
        {
            int size = Height * Width * Channels;
            var batch = new float[ids.Length * size];
            try
            {
                Parallel.For(0, ids.Length, i =>
                {
                    var (pixels, h, w) = ImageDecoder.Decode(part.Paths[ids[i]], Channels);
                    ImageDecoder.Resize(pixels, h, w, Channels, batch, i * size, Height, Width, Interpolation);
                });
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // The first file that failed, with its own type and message (InvalidDataException naming the file).
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
                throw;
            }
            var images = tensor(batch, [ids.Length, Height, Width, Channels]);
            return LabelMode is null ? [images] : [images, part.LabelBatch(ids, LabelMode)];
        }
    }

    private static Prepared Prepare(string directory, string? labels, string? labelMode, IReadOnlyList<string>? classNames, string colorMode,
        int? batchSize, (int Height, int Width)? imageSize, bool shuffle, long? seed, double? validationSplit, string? subset, string interpolation,
        bool followLinks, bool cropToAspectRatio, bool padToAspectRatio, string? dataFormat, bool verbose, bool allowBoth)
    {
        var mode = DirectoryIndex.CheckArguments(Utility, directory, labels, labelMode, classNames, validationSplit, subset, shuffle, seed, allowBoth);
        int channels = ImageDecoder.Channels(colorMode, Utility);
        ImageDecoder.CheckInterpolation(interpolation, Utility);
        if (batchSize is <= 0) throw new ArgumentException($"{Utility}: batchSize must be positive or null; got {batchSize}.", nameof(batchSize));
        var (height, width) = imageSize ?? (256, 256);
        if (height <= 0 || width <= 0) throw new ArgumentException($"{Utility}: imageSize must be positive; got ({height}, {width}).", nameof(imageSize));
        if (cropToAspectRatio) throw new ArgumentException($"{Utility}: cropToAspectRatio is not implemented; only false.", nameof(cropToAspectRatio));
        if (padToAspectRatio) throw new ArgumentException($"{Utility}: padToAspectRatio is not implemented; only false.", nameof(padToAspectRatio));
        if (dataFormat is not (null or "channels_last"))
            throw new ArgumentException($"{Utility}: dataFormat \"{dataFormat}\" is not supported; only \"channels_last\".", nameof(dataFormat));
        long s = seed ?? Keras.NextSeed();
        var index = DirectoryIndex.Build(Utility, directory, labels == "inferred", classNames, ImageDecoder.Extensions, shuffle, s, followLinks);
        if (index.Paths.Length == 0)
            throw new ArgumentException($"{Utility}: no images found in directory '{directory}'. Allowed formats: " +
                $"{string.Join(", ", ImageDecoder.Extensions)}.", nameof(directory));
        if (mode == "binary" && index.ClassNames.Length != 2)
            throw new ArgumentException($"{Utility}: when passing labelMode \"binary\", there must be exactly 2 class names; got " +
                $"[{string.Join(", ", index.ClassNames)}].", nameof(labelMode));
        if (verbose)
        {
            Console.WriteLine(labels == "inferred"
                ? $"Found {index.Paths.Length} files belonging to {index.ClassNames.Length} classes."
                : $"Found {index.Paths.Length} files.");
        }
        return new Prepared(index, mode, channels, batchSize, height, width, shuffle, s, validationSplit, interpolation, verbose);
    }
}
