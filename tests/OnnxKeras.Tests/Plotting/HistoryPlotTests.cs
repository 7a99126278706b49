using System.Buffers.Binary;
using OnnxKeras.Callbacks;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Plotting;
using SkiaSharp;
using Xunit;

namespace OnnxKeras.Tests.Plotting;

public class HistoryPlotTests
{
    // The colours Charts gives the first two series (matplotlib's tab:blue and tab:orange).
    private static readonly SKColor Training = new(0x1f, 0x77, 0xb4), Validation = new(0xff, 0x7f, 0x0e);

    private static History MakeHistory(int epochs, bool validation = true)
    {
        var h = new History();
        for (int e = 0; e < epochs; e++)
        {
            var logs = new Dictionary<string, double> { ["loss"] = 1.0 / (e + 1), ["accuracy"] = 1 - 0.5 / (e + 1) };
            if (validation) { logs["val_loss"] = 1.2 / (e + 1); logs["val_accuracy"] = 0.9 - 0.5 / (e + 1); }
            h.OnEpochEnd(e, logs);
        }
        return h;
    }

    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "onnxkeras-plot-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Width and height from the PNG's IHDR chunk, read by hand from the file format (not through Skia).</summary>
    private static (int Width, int Height) PngHeader(byte[] png)
    {
        Assert.True(png.Length > 33, "too short for a PNG");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal(13, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(8)));          // IHDR data length
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    private static int CountNear(SKBitmap bmp, SKColor c, int tolerance = 12)
    {
        int n = 0;
        for (int y = 0; y < bmp.Height; y++)
            for (int x = 0; x < bmp.Width; x++)
            {
                var p = bmp.GetPixel(x, y);
                if (Math.Abs(p.Red - c.Red) <= tolerance && Math.Abs(p.Green - c.Green) <= tolerance && Math.Abs(p.Blue - c.Blue) <= tolerance) n++;
            }
        return n;
    }

    [Fact]
    public void SavePlotWritesAPngOfTheRequestedSizeWithBothCurves()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "history.png");
            MakeHistory(6).SavePlot(path, width: 900, height: 360);
            var png = File.ReadAllBytes(path);
            Assert.Equal((900, 360), PngHeader(png));
            Assert.Equal(["history.png"], Directory.GetFiles(dir).Select(Path.GetFileName));   // no temporary file left

            using var bmp = SKBitmap.Decode(png);
            Assert.Equal(900, bmp.Width);
            Assert.Equal(360, bmp.Height);
            // Two panels of two 2-pixel lines across about 400 pixels each: thousands of pixels of each colour.
            Assert.True(CountNear(bmp, Training) > 1000, $"training curve pixels: {CountNear(bmp, Training)}");
            Assert.True(CountNear(bmp, Validation) > 1000, $"validation curve pixels: {CountNear(bmp, Validation)}");
            var colours = new HashSet<uint>();
            for (int y = 0; y < bmp.Height; y += 2) for (int x = 0; x < bmp.Width; x += 2) colours.Add((uint)bmp.GetPixel(x, y));
            Assert.True(colours.Count > 50, $"only {colours.Count} colours: not a drawn chart");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void DefaultSizeIsOnePanelWidthPerQuantity()
    {
        Assert.Equal((2 * HistoryPlot.DefaultPanelWidth, HistoryPlot.DefaultHeight), PngHeader(MakeHistory(3).PlotPng()));
        Assert.Equal((HistoryPlot.DefaultPanelWidth, HistoryPlot.DefaultHeight), PngHeader(MakeHistory(3).PlotPng(metrics: ["loss"])));
    }

    [Fact]
    public void PanelsFollowKerasNamesTrainingAndValidation()
    {
        var panels = MakeHistory(4).ToChartPanels(title: "mlp");
        Assert.Equal(["mlp loss", "mlp accuracy"], panels.Select(p => p.Title));
        Assert.All(panels, p => Assert.Equal(["training", "validation"], p.Series.Select(s => s.Label)));
        Assert.Equal([1.0, 2, 3, 4], panels[0].Series[0].X);
        Assert.Equal([1.2, 0.6, 0.4, 0.3], panels[0].Series[1].Y.Select(v => Math.Round(v, 12)));
        var noVal = MakeHistory(4, validation: false).ToChartPanels();
        Assert.All(noVal, p => Assert.Equal(["training"], p.Series.Select(s => s.Label)));
    }

    [Fact]
    public void WithoutValidationNoValidationColourIsDrawn()
    {
        using var bmp = SKBitmap.Decode(MakeHistory(5, validation: false).PlotPng(width: 640, height: 320));
        Assert.True(CountNear(bmp, Training) > 500);
        Assert.Equal(0, CountNear(bmp, Validation, tolerance: 20));
    }

    [Fact]
    public void TextIsDrawnWithTheEmbeddedFont()
    {
        // The resolver answers with the embedded DejaVu Sans subset, whatever fonts the machine has.
        EmbeddedFonts.EnsureRegistered();
        using var face = ScottPlot.Fonts.GetTypeface(EmbeddedFonts.Name, bold: false, italic: false);
        Assert.Equal("DejaVu Sans", face.FamilyName);
        Assert.True(face.GlyphCount > 150, $"glyphs: {face.GlyphCount}");
        // And the title is really drawn: a long title changes many pixels of the band above the panel.
        var blank = new ChartPanel(" ").AddLine("a", [1, 2], [1, 2]);
        var titled = new ChartPanel("WWWWWWWWWWWW").AddLine("a", [1, 2], [1, 2]);
        using var a = SKBitmap.Decode(Charts.RenderPng([blank], 400, 300));
        using var b = SKBitmap.Decode(Charts.RenderPng([titled], 400, 300));
        int changed = 0;
        for (int y = 0; y < 40; y++) for (int x = 0; x < 400; x++) if (a.GetPixel(x, y) != b.GetPixel(x, y)) changed++;
        Assert.True(changed > 300, $"only {changed} pixels of the title band changed");
    }

    [Fact]
    public void AFitHistoryPlotsItsLoggedQuantities()
    {
        var (x, y) = TestData.RandomClassification(64, 5, 3, 4);
        Keras.SetRandomSeed(12);
        using var model = new Sequential(new InputLayer([5]), new Dense(8, activation: "relu"), new Dense(3, activation: "softmax"));
        model.Compile(optimizer: "adam", loss: "categorical_crossentropy", metrics: ["accuracy"]);
        var h = model.Fit(x, y, epochs: 3, batchSize: 16, validationSplit: 0.25, verbose: 0);
        Assert.Equal(["loss", "accuracy"], h.ToChartPanels().Select(p => p.Title));
        Assert.Equal((960, 400), PngHeader(h.PlotPng()));
    }

    [Fact]
    public void BadInputsSayWhatIsWrong()
    {
        var empty = Assert.Throws<ArgumentException>(() => new History().SavePlot(Path.Combine(Path.GetTempPath(), "never.png")));
        Assert.Contains("no epochs", empty.Message);
        var unknown = Assert.Throws<ArgumentException>(() => MakeHistory(2).PlotPng(metrics: ["auc"]));
        Assert.Contains("'auc'", unknown.Message);
        Assert.Contains("loss, accuracy", unknown.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => MakeHistory(2).PlotPng(width: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => MakeHistory(2).PlotPng(height: 100_000));
        Assert.Throws<ArgumentException>(() => MakeHistory(2).SavePlot(" "));
        var nan = new History();
        nan.OnEpochEnd(0, new Dictionary<string, double> { ["loss"] = double.NaN });
        Assert.Contains("no finite point", Assert.Throws<ArgumentException>(() => nan.PlotPng()).Message);
    }

    [Fact]
    public void AnUnwritableFolderGivesAnIOExceptionNamingThePathAndLeavesNothing()
    {
        // Tests may run as root, for whom permission bits do not stop writes: a folder path that runs through a file
        // cannot be created by anyone.
        var dir = TempDir();
        try
        {
            var file = Path.Combine(dir, "not-a-folder");
            File.WriteAllText(file, "x");
            var target = Path.Combine(file, "plots", "history.png");
            var e = Assert.Throws<IOException>(() => MakeHistory(2).SavePlot(target));
            Assert.Contains(target, e.Message);
            Assert.Equal(["not-a-folder"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void SavingAgainReplacesTheFileWithTheSameBytes()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "sub", "h.png");       // the folder is created
            MakeHistory(3).SavePlot(path, 500, 300);
            var first = File.ReadAllBytes(path);
            MakeHistory(3).SavePlot(path, 500, 300);
            Assert.Equal(first, File.ReadAllBytes(path));       // rendering is deterministic
            MakeHistory(4).SavePlot(path, 600, 300);
            Assert.Equal((600, 300), PngHeader(File.ReadAllBytes(path)));
        }
        finally { Directory.Delete(dir, true); }
    }
}
