using OnnxKeras.Data;
using OnnxKeras.Data.Images;
using SkiaSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Data;

/// <summary>ImageDatasetFromDirectory against files written here with SkiaSharp, and Keras's documented behaviour.</summary>
public class ImageDatasetTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("onnxkeras-images-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>Writes an image with SkiaSharp: <paramref name="pixel"/>(y, x) gives the unpremultiplied RGBA bytes.</summary>
    private static void Write(string path, int h, int w, Func<int, int, (byte R, byte G, byte B, byte A)> pixel, int quality = 100)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                var (r, g, b, a) = pixel(y, x);
                bitmap.SetPixel(x, y, new SKColor(r, g, b, a));
            }
        }
        var format = path.EndsWith(".jpg") ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png;
        using var data = bitmap.Encode(format, quality);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>The value written at (file f, y, x, channel k): distinct per file and position.</summary>
    private static byte V(int f, int y, int x, int k) => (byte)(10 * f + 3 * y + x + 60 * k);

    /// <summary>Class folders 10, 9, a_cats, b_dogs (ordinal order: "10" &lt; "9" &lt; "a_cats" &lt; "b_dogs"), two 3x4 PNGs each.</summary>
    private string FourClasses()
    {
        string dir = Path.Combine(root, "four");
        string[] classes = ["b_dogs", "a_cats", "9", "10"];
        for (int c = 0; c < classes.Length; c++)
        {
            foreach (int i in new[] { 1, 0 })
            {
                int f = 2 * Array.IndexOf(new[] { "10", "9", "a_cats", "b_dogs" }, classes[c]) + i;
                Write(Path.Combine(dir, classes[c], $"img{i}.png"), 3, 4, (y, x) => (V(f, y, x, 0), V(f, y, x, 1), V(f, y, x, 2), 255));
            }
        }
        File.WriteAllText(Path.Combine(dir, "a_cats", "notes.txt"), "not an image");
        return dir;
    }

    [Fact]
    public void ClassesInOrdinalOrder_PixelsAsWritten_LabelsInEveryMode()
    {
        string dir = FourClasses();
        var ds = ImageUtils.ImageDatasetFromDirectory(dir, imageSize: (3, 4), batchSize: 3, shuffle: false, verbose: false);
        Assert.Equal(["10", "9", "a_cats", "b_dogs"], ds.ClassNames);
        Assert.Equal([0, 0, 1, 1, 2, 2, 3, 3], ds.FileLabels);
        Assert.Equal("img0.png", Path.GetFileName(ds.FilePaths[0]));
        Assert.Equal(3, ds.Cardinality);
        var batches = ds.Elements().ToList();
        Assert.Equal(new long[] { 3, 3, 4, 3 }, batches[0][0].shape);
        Assert.Equal(new long[] { 2, 3, 4, 3 }, batches[2][0].shape);
        var images = cat(batches.Select(b => b[0]).ToArray(), 0).data<float>().ToArray();
        for (int f = 0; f < 8; f++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                    for (int k = 0; k < 3; k++)
                        Assert.Equal(V(f, y, x, k), images[((f * 3 + y) * 4 + x) * 3 + k]);
        Assert.Equal(new long[] { 0, 0, 1, 1, 2, 2, 3, 3 }, cat(batches.Select(b => b[1]).ToArray(), 0).data<long>().ToArray());
        Assert.Equal(ScalarType.Int64, batches[0][1].dtype);

        var categorical = ImageUtils.ImageDatasetFromDirectory(dir, labelMode: "categorical", imageSize: (3, 4), batchSize: 8, shuffle: false,
            verbose: false);
        var onehot = categorical.Elements().Single()[1];
        Assert.Equal(new long[] { 8, 4 }, onehot.shape);
        Assert.Equal(new float[] { 0, 0, 1, 0 }, onehot[4].data<float>().ToArray());
        var noLabels = ImageUtils.ImageDatasetFromDirectory(dir, labels: null, imageSize: (3, 4), batchSize: 8, shuffle: false, verbose: false);
        Assert.Single(noLabels.Elements().Single());
        var single = ImageUtils.ImageDatasetFromDirectory(dir, imageSize: (3, 4), batchSize: null, shuffle: false, verbose: false);
        Assert.False(single.IsBatched);
        Assert.Equal(new long[] { 3, 4, 3 }, single.Elements().First()[0].shape);
        var ordered = ImageUtils.ImageDatasetFromDirectory(dir, classNames: ["b_dogs", "a_cats", "9", "10"], imageSize: (3, 4), shuffle: false,
            verbose: false);
        // Keras 3 keeps the given order: b_dogs' files first, labelled 0; a subset reads only its folders.
        Assert.Equal([0, 0, 1, 1, 2, 2, 3, 3], ordered.FileLabels);
        Assert.Contains("b_dogs", ordered.FilePaths[0]);
        var two = ImageUtils.ImageDatasetFromDirectory(dir, classNames: ["a_cats", "9"], imageSize: (3, 4), shuffle: false, verbose: false);
        Assert.Equal(4, two.FilePaths.Count);
        Assert.Throws<ArgumentException>(() => ImageUtils.ImageDatasetFromDirectory(dir, classNames: ["cats"], verbose: false));
        var binaryEx = Assert.Throws<ArgumentException>(() => ImageUtils.ImageDatasetFromDirectory(dir, labelMode: "binary", verbose: false));
        Assert.Contains("exactly 2 class names", binaryEx.Message);
    }

    [Fact]
    public void BilinearAndNearestResize_FollowTensorFlowsHalfPixelFormulas()
    {
        // A 1x2 image (values a, b) resized to 1x4: sample points (x + 0.5) * 0.5 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped
        // at the edges: [a, a + 0.25 (b - a), a + 0.75 (b - a), b] (tf.image.resize([[0, 1]] -> 4) = [0, 0.25, 0.75, 1]).
        string path = Path.Combine(root, "ramp.png");
        Write(path, 1, 2, (y, x) => x == 0 ? ((byte)40, (byte)0, (byte)200, (byte)255) : ((byte)120, (byte)100, (byte)0, (byte)255));
        var up = ImageUtils.LoadImage(path, targetSize: (1, 4));
        float[] red = [40, 40 + 0.25f * 80, 40 + 0.75f * 80, 120];
        float[] blue = [200, 200 - 0.25f * 200, 200 - 0.75f * 200, 0];
        for (int x = 0; x < 4; x++)
        {
            Assert.Equal(red[x], up[0, x, 0], 1e-4f);
            Assert.Equal(blue[x], up[0, x, 2], 1e-4f);
        }
        // Nearest: source column floor((x + 0.5) * 0.5) = 0, 0, 1, 1.
        var nearest = ImageUtils.LoadImage(path, targetSize: (1, 4), interpolation: "nearest");
        Assert.Equal(new float[] { 40, 40, 120, 120 }, Enumerable.Range(0, 4).Select(x => nearest[0, x, 0]));
        // Down by 2 in both axes: sample points (y + 0.5) * 2 - 0.5 = 0.5 and 2.5 -> the mean of each 2x2 block.
        string big = Path.Combine(root, "big.png");
        Write(big, 4, 4, (y, x) => ((byte)(16 * y + 4 * x), 0, 0, 255));
        var down = ImageUtils.LoadImage(big, colorMode: "rgb", targetSize: (2, 2));
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++)
            {
                float mean = (16 * (2 * y) + 4 * (2 * x) + 16 * (2 * y) + 4 * (2 * x + 1) + 16 * (2 * y + 1) + 4 * (2 * x) + 16 * (2 * y + 1) + 4 * (2 * x + 1)) / 4f;
                Assert.Equal(mean, down[y, x, 0], 1e-4f);
            }
    }

    [Fact]
    public void ColorModes_GrayscaleLuma_RgbaKeepsAlpha_JpegCloseToWritten()
    {
        string png = Path.Combine(root, "c", "k", "px.png");
        Write(png, 2, 2, (y, x) => (200, 100, 50, 128));
        var gray = ImageUtils.LoadImage(png, colorMode: "grayscale");
        Assert.Equal(MathF.Round(0.299f * 200 + 0.587f * 100 + 0.114f * 50), gray[1, 1, 0]);
        var rgba = ImageUtils.LoadImage(png, colorMode: "rgba");
        Assert.Equal(new float[] { 200, 100, 50, 128 }, Enumerable.Range(0, 4).Select(k => rgba[0, 1, k]));
        var rgb = ImageUtils.LoadImage(png);   // alpha dropped, colors not premultiplied
        Assert.Equal(new float[] { 200, 100, 50 }, Enumerable.Range(0, 3).Select(k => rgb[1, 0, k]));
        var ds = ImageUtils.ImageDatasetFromDirectory(Path.Combine(root, "c"), colorMode: "grayscale", imageSize: (2, 2), verbose: false, shuffle: false);
        Assert.Equal(new long[] { 1, 2, 2, 1 }, ds.Elements().Single()[0].shape);

        // JPEG is lossy: a flat 16x16 color at quality 100 decodes within a few levels of what was written.
        string jpg = Path.Combine(root, "flat.jpg");
        Write(jpg, 16, 16, (y, x) => (30, 140, 220, 255));
        var decoded = ImageUtils.LoadImage(jpg);
        Assert.InRange(decoded[8, 8, 0], 27, 33);
        Assert.InRange(decoded[8, 8, 1], 137, 143);
        Assert.InRange(decoded[8, 8, 2], 217, 223);
        // A file with an image extension that is not an image: named when read.
        string badDir = Path.Combine(root, "bad");
        Directory.CreateDirectory(Path.Combine(badDir, "x"));
        File.WriteAllText(Path.Combine(badDir, "x", "broken.png"), "not a png");
        var bad = ImageUtils.ImageDatasetFromDirectory(badDir, verbose: false);
        Assert.Contains("broken.png", Assert.Throws<InvalidDataException>(() => bad.Elements().ToList()).Message);
    }

    [Fact]
    public void ValidationSplit_IsDeterministicForASeed_Disjoint_AndCoversEveryFile()
    {
        string dir = Path.Combine(root, "split");
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 10; i++)
                Write(Path.Combine(dir, $"class{c}", $"{i:D2}.png"), 2, 2, (y, x) => ((byte)(i * 20), (byte)(c * 100), 0, 255));
        DirectoryDataset Subset(string s, long seed) =>
            ImageUtils.ImageDatasetFromDirectory(dir, imageSize: (2, 2), batchSize: 4, validationSplit: 0.25, subset: s, seed: seed, verbose: false);
        var train = Subset("training", 42);
        var val = Subset("validation", 42);
        Assert.Equal(15, train.FilePaths.Count);   // 20 - (int)(0.25 * 20)
        Assert.Equal(5, val.FilePaths.Count);
        Assert.Empty(train.FilePaths.Intersect(val.FilePaths));
        Assert.Equal(20, train.FilePaths.Union(val.FilePaths).Count());
        Assert.Equal(train.FilePaths, Subset("training", 42).FilePaths);
        Assert.NotEqual(train.FilePaths, Subset("training", 7).FilePaths);
        var (bothTrain, bothVal) = ImageUtils.ImageDatasetFromDirectoryBoth(dir, 0.25, imageSize: (2, 2), batchSize: 4, seed: 42, verbose: false);
        Assert.Equal(train.FilePaths, bothTrain.FilePaths);
        Assert.Equal(val.FilePaths, bothVal.FilePaths);
        // Labels follow their files through the shuffle.
        for (int i = 0; i < train.FilePaths.Count; i++)
            Assert.Equal(train.FilePaths[i].Contains("class1") ? 1 : 0, train.FileLabels[i]);
        // Each pass reshuffles, but every file is read once per pass.
        var labelsPass1 = train.Elements().SelectMany(b => b[1].data<long>().ToArray()).ToList();
        Assert.Equal(15, labelsPass1.Count);
        Assert.Equal(train.FileLabels.Count(l => l == 1), labelsPass1.Count(l => l == 1));

        Assert.Contains("must provide a seed", Assert.Throws<ArgumentException>(() =>
            ImageUtils.ImageDatasetFromDirectory(dir, validationSplit: 0.2, subset: "training", verbose: false)).Message);
        Assert.Contains("validationSplit must be set", Assert.Throws<ArgumentException>(() =>
            ImageUtils.ImageDatasetFromDirectory(dir, subset: "training", seed: 1, verbose: false)).Message);
        Assert.Contains("Both", Assert.Throws<ArgumentException>(() =>
            ImageUtils.ImageDatasetFromDirectory(dir, validationSplit: 0.2, subset: "both", seed: 1, verbose: false)).Message);
        Assert.Throws<ArgumentException>(() => ImageUtils.ImageDatasetFromDirectory(dir, colorMode: "cmyk", verbose: false));
        Assert.Throws<ArgumentException>(() => ImageUtils.ImageDatasetFromDirectory(dir, interpolation: "bicubic", verbose: false));
        Assert.Throws<ArgumentException>(() => ImageUtils.ImageDatasetFromDirectory(dir, cropToAspectRatio: true, verbose: false));
        Assert.Throws<DirectoryNotFoundException>(() => ImageUtils.ImageDatasetFromDirectory(Path.Combine(root, "nope"), verbose: false));
    }

    [Fact]
    public void SaveImage_WritesWhatLoadImageReads()
    {
        string path = Path.Combine(root, "saved.png");
        var pixels = new float[2, 3, 3];
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++)
                for (int k = 0; k < 3; k++)
                    pixels[y, x, k] = 40 * y + 10 * x + k;
        ImageUtils.SaveImage(path, pixels);
        var back = ImageUtils.LoadImage(path);
        Assert.Equal(pixels.Cast<float>(), back.Cast<float>());
    }
}
