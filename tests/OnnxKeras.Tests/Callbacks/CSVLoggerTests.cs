using System.Globalization;
using OnnxKeras.Callbacks;
using Xunit;
using static OnnxKeras.Tests.Callbacks.CallbackTestModels;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// CSVLogger against Keras 3 (keras/src/callbacks/csv_logger.py): header <c>epoch</c> + sorted log keys (with
/// <c>val_</c> copies added when the first epoch has none), one row per epoch with Python's repr of the numbers and
/// <c>NA</c> for missing values, csv "excel" dialect (\r\n), flushed per row; append keeps an existing header.
/// </summary>
public class CSVLoggerTests
{
    private static string[] Lines(string path)
    {
        // Open as a reader would while training still writes the file.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        string text = new StreamReader(stream).ReadToEnd();
        if (text.Length == 0) return [];
        Assert.EndsWith("\r\n", text);
        return text[..^2].Split("\r\n");
    }

    [Fact]
    public void HeaderIsEpochAndSortedKeys_RowsHoldHistoryValues()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "log.csv");
        using var model = TwoLayers();
        var (x, y) = Samples(8, 1);
        var (vx, vy) = Samples(4, 2);
        var h = model.Fit(x, y, batchSize: 4, epochs: 3, verbose: 0, shuffle: false, validationData: (vx, vy), callbacks: [new CSVLogger(path)]);
        var lines = Lines(path);
        Assert.Equal(4, lines.Length);
        Assert.Equal("epoch,loss,mae,val_loss,val_mae", lines[0]);
        string[] keys = ["loss", "mae", "val_loss", "val_mae"];
        for (int e = 0; e < 3; e++)
        {
            var cells = lines[e + 1].Split(',');
            Assert.Equal(e.ToString(CultureInfo.InvariantCulture), cells[0]);
            for (int k = 0; k < keys.Length; k++) Assert.Equal(h[keys[k]][e], double.Parse(cells[k + 1], CultureInfo.InvariantCulture));
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void WithoutValidation_ValColumnsAreAddedAndWrittenAsNA_WithTheSeparator()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "sub", "log.csv");
        using var model = Linear(0.1);
        var h = model.Fit(Column(0, 0), Column(1, 3), batchSize: 2, epochs: 2, verbose: 0, callbacks: [new CSVLogger(path, separator: ";")]);
        var lines = Lines(path);
        Assert.Equal(["epoch;loss;val_loss", "0;5.0;NA", "1;5.0;NA"], lines);
        Assert.Equal(5.0, h["loss"][1]);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void RowsAreOnDiskAtEachEpochEnd()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "log.csv");
        using var model = Linear(0.1);
        var seen = new List<int>();
        var probe = new LambdaCallback(onEpochEnd: (e, _) => seen.Add(Lines(path).Length));
        model.Fit(Column(0, 0), Column(1, 3), batchSize: 2, epochs: 3, verbose: 0, callbacks: [new CSVLogger(path), probe]);
        Assert.Equal([2, 3, 4], seen); // header + one complete row per finished epoch
        Directory.Delete(dir, true);
    }

    /// <summary>A callback that throws at the end of batch <paramref name="batch"/> of epoch <paramref name="epoch"/>.</summary>
    internal static LambdaCallback ThrowsAt(int epoch, int batch)
    {
        int current = -1;
        return new LambdaCallback(onEpochBegin: (e, _) => current = e,
            onTrainBatchEnd: (b, _) => { if (current == epoch && b == batch) throw new InvalidOperationException("boom"); });
    }

    /// <summary>Opening with FileShare.None fails while another handle (in this process too) still has the file open.</summary>
    internal static void AssertClosed(string path)
    {
        using var exclusive = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
    }

    [Fact]
    public void AFitThatThrowsMidEpochLeavesTheFileClosedAndCompleteUpToTheLastFinishedEpoch()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "log.csv");
        using var model = Linear(0.1);
        var logger = new CSVLogger(path);
        // x = 0: every batch's loss is mean(1^2, 3^2) = 5. Two batches per epoch; the failure comes after the first batch of epoch 2.
        var e = Assert.Throws<InvalidOperationException>(() =>
            model.Fit(Column(0, 0, 0, 0), Column(1, 3, 1, 3), batchSize: 2, epochs: 5, verbose: 0, shuffle: false, callbacks: [logger, ThrowsAt(epoch: 2, batch: 0)]));
        Assert.Equal("boom", e.Message);
        AssertClosed(path);
        Assert.Equal(["epoch,loss,val_loss", "0,5.0,NA", "1,5.0,NA"], Lines(path));
        logger.Dispose(); // idempotent: already closed
        logger.Dispose();
        // The logger can be used again: a new Fit starts the file over.
        model.Fit(Column(0, 0), Column(1, 3), batchSize: 2, epochs: 1, verbose: 0, callbacks: [logger]);
        Assert.Equal(["epoch,loss,val_loss", "0,5.0,NA"], Lines(path));
        AssertClosed(path);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Append_KeepsTheHeaderOnce_OverwriteStartsOver()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "log.csv");
        using var model = Linear(0.1);
        model.Fit(Column(0), Column(2), epochs: 2, verbose: 0, callbacks: [new CSVLogger(path, append: true)]);
        model.Fit(Column(0), Column(2), epochs: 1, verbose: 0, callbacks: [new CSVLogger(path, append: true)]);
        Assert.Equal(["epoch,loss,val_loss", "0,4.0,NA", "1,4.0,NA", "0,4.0,NA"], Lines(path));
        model.Fit(Column(0), Column(2), epochs: 1, verbose: 0, callbacks: [new CSVLogger(path)]);
        Assert.Equal(["epoch,loss,val_loss", "0,4.0,NA"], Lines(path));
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(0.1, "0.1")]
    [InlineData(2.0, "2.0")]
    [InlineData(-3.0, "-3.0")]
    [InlineData(123.456, "123.456")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1234567890123456.0, "1234567890123456.0")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(1e22, "1e+22")]
    [InlineData(12345678901234567890.0, "1.2345678901234567e+19")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(0.10000000149011612, "0.10000000149011612")]
    [InlineData(0.6931471824645996, "0.6931471824645996")]
    [InlineData(double.NaN, "nan")]
    [InlineData(double.NegativeInfinity, "-inf")]
    [InlineData(0.0, "0.0")]
    public void NumbersAreWrittenAsPythonRepr(double value, string expected) => Assert.Equal(expected, CallbackSupport.PythonRepr(value));
}
