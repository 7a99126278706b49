using System.Text;
using System.Text.RegularExpressions;
using OnnxKeras.Callbacks;
using Xunit;
using static OnnxKeras.Tests.Callbacks.CallbackTestModels;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// TensorBoard against Keras 3 (keras/src/callbacks/tensorboard.py) and TensorFlow's event format, read back with the
/// independent <see cref="TfEventReader"/>: logDir/train and logDir/validation each hold one
/// events.out.tfevents.&lt;time&gt;.&lt;host&gt;.&lt;pid&gt;.v2 file whose first event is file_version "brain.Event:2"; epoch_* scalars
/// at step = epoch (val_ logs in validation without the prefix, learning rate in train), evaluation_*_vs_iterations at
/// step = optimizer iterations, batch_* every updateFreq global batches, weight histograms every histogramFreq epochs.
/// </summary>
public class TensorBoardTests
{
    private static string OnlyFile(string dir)
    {
        var files = Directory.GetFiles(dir);
        Assert.Single(files);
        var m = Regex.Match(Path.GetFileName(files[0]), @"^events\.out\.tfevents\.(\d+)\.(.+)\.(\d+)\.v2$");
        Assert.True(m.Success, Path.GetFileName(files[0]));
        Assert.Equal(Environment.MachineName, m.Groups[2].Value);
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), m.Groups[3].Value);
        Assert.InRange(long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        return files[0];
    }

    private static List<TfEventReader.Event> ReadRun(string dir)
    {
        var events = TfEventReader.Read(OnlyFile(dir));
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Empty(events[0].Values);
        double now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Assert.All(events, e => Assert.InRange(e.WallTime, now - 600, now + 1));
        return events;
    }

    private static List<(long, float)> PerEpoch(IReadOnlyList<double> values) => values.Select((v, e) => ((long)e, (float)v)).ToList();

    [Fact]
    public void EpochScalars_MatchHistory_InTrainAndValidationRuns()
    {
        string dir = TempDir();
        using var model = TwoLayers(0.05);
        var (x, y) = Samples(8, 3);
        var (vx, vy) = Samples(4, 4);
        var tb = new TensorBoard(dir);
        var h = model.Fit(x, y, batchSize: 4, epochs: 3, verbose: 0, shuffle: false, validationData: (vx, vy), callbacks: [tb]);

        var train = TfEventReader.Scalars(ReadRun(Path.Combine(dir, "train")));
        Assert.Equal(["epoch_learning_rate", "epoch_loss", "epoch_mae"], train.Keys.Order());
        Assert.Equal(PerEpoch(h["loss"]), train["epoch_loss"]);
        Assert.Equal(PerEpoch(h["mae"]), train["epoch_mae"]);
        Assert.Equal(PerEpoch([0.05, 0.05, 0.05]), train["epoch_learning_rate"]);

        var val = TfEventReader.Scalars(ReadRun(Path.Combine(dir, "validation")));
        Assert.Equal(["epoch_loss", "epoch_mae", "evaluation_loss_vs_iterations", "evaluation_mae_vs_iterations"], val.Keys.Order());
        Assert.Equal(PerEpoch(h["val_loss"]), val["epoch_loss"]);
        Assert.Equal(PerEpoch(h["val_mae"]), val["epoch_mae"]);
        // Two batches per epoch: validation runs after 2, 4 and 6 optimizer steps.
        Assert.Equal(h["val_loss"].Select((v, e) => (2L * (e + 1), (float)v)), val["evaluation_loss_vs_iterations"]);
        Assert.Null(tb.TrainFile); // closed when training ends
        Directory.Delete(dir, true);
    }

    [Fact]
    public void AFitThatThrowsMidEpochLeavesTheEventFilesClosedWithTheFinishedEpochs()
    {
        string dir = TempDir();
        using var model = Linear(0.1);
        var tb = new TensorBoard(dir);
        // x = 0: the loss is mean(1^2, 3^2) = 5 in every batch. Validation on the same data: 5 too. The failure comes in epoch 1.
        Assert.Throws<InvalidOperationException>(() => model.Fit(Column(0, 0, 0, 0), Column(1, 3, 1, 3), batchSize: 2, epochs: 4, verbose: 0,
            shuffle: false, validationData: (Column(0, 0), Column(1, 3)), callbacks: [tb, CSVLoggerTests.ThrowsAt(epoch: 1, batch: 1)]));
        Assert.Null(tb.TrainFile);
        Assert.Null(tb.ValidationFile);
        string trainDir = Path.Combine(dir, "train"), valDir = Path.Combine(dir, "validation");
        CSVLoggerTests.AssertClosed(OnlyFile(trainDir));
        CSVLoggerTests.AssertClosed(OnlyFile(valDir));
        Assert.Equal([(0L, 5f)], TfEventReader.Scalars(ReadRun(trainDir))["epoch_loss"]);
        Assert.Equal([(0L, 5f)], TfEventReader.Scalars(ReadRun(valDir))["epoch_loss"]);
        tb.Dispose(); // idempotent
        Directory.Delete(dir, true);
    }

    [Fact]
    public void DisposeClosesTheValidationFileThatEvaluateOpened()
    {
        string dir = TempDir();
        using var model = Linear(0.1);
        using (var tb = new TensorBoard(dir))
        {
            model.Evaluate(Column(0, 0), Column(1, 3), verbose: 0, callbacks: [tb]);
            Assert.NotNull(tb.ValidationFile);
        }
        var valDir = Path.Combine(dir, "validation");
        CSVLoggerTests.AssertClosed(OnlyFile(valDir));
        Assert.Equal([(0L, 5f)], TfEventReader.Scalars(ReadRun(valDir))["evaluation_loss_vs_iterations"]);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void LearningRateChangesAreLogged()
    {
        string dir = TempDir();
        using var model = Linear(0.1);
        model.Fit(Column(0, 0), Column(1, 1), epochs: 3, verbose: 0,
            callbacks: [new LearningRateScheduler(e => 0.1 / (e + 1)), new TensorBoard(dir)]);
        var train = TfEventReader.Scalars(ReadRun(Path.Combine(dir, "train")));
        Assert.Equal(PerEpoch([0.1, 0.05, 0.1 / 3]), train["epoch_learning_rate"]);
        Assert.False(Directory.Exists(Path.Combine(dir, "validation"))); // no validation, no validation writer
        Directory.Delete(dir, true);
    }

    [Fact]
    public void BatchScalars_EveryUpdateFreqGlobalBatches()
    {
        string dir = TempDir();
        using var model = TwoLayers();
        var (x, y) = Samples(6, 5);
        var batchLoss = new List<double>(); // by global batch, from 1
        var recorder = new LambdaCallback(onTrainBatchEnd: (_, logs) => batchLoss.Add(logs["loss"]));
        model.Fit(x, y, batchSize: 2, epochs: 2, verbose: 0, shuffle: false, callbacks: [new TensorBoard(dir, updateFreq: 2), recorder]);
        Assert.Equal(6, batchLoss.Count);
        var train = TfEventReader.Scalars(ReadRun(Path.Combine(dir, "train")));
        Assert.Equal([2L, 4, 6], train["batch_loss"].Select(p => p.Step));
        Assert.Equal([(float)batchLoss[1], (float)batchLoss[3], (float)batchLoss[5]], train["batch_loss"].Select(p => p.Value));
        Assert.Equal([2L, 4, 6], train["batch_mae"].Select(p => p.Step));
        Assert.Equal(2, train["epoch_loss"].Count);

        string dir2 = TempDir();
        model.Fit(x, y, batchSize: 2, epochs: 1, verbose: 0, callbacks: [new TensorBoard(dir2)]);
        Assert.DoesNotContain(TfEventReader.Scalars(ReadRun(Path.Combine(dir2, "train"))).Keys, k => k.StartsWith("batch_", StringComparison.Ordinal));
        string dir3 = TempDir();
        model.Fit(x, y, batchSize: 2, epochs: 1, verbose: 0, callbacks: [new TensorBoard(dir3, updateFreq: "batch")]);
        Assert.Equal([1L, 2, 3], TfEventReader.Scalars(ReadRun(Path.Combine(dir3, "train")))["batch_loss"].Select(p => p.Step));
        Assert.Throws<ArgumentException>(() => new TensorBoard(dir3, updateFreq: 0));
        Assert.Throws<ArgumentException>(() => new TensorBoard(dir3, updateFreq: "sometimes"));
        foreach (var d in new[] { dir, dir2, dir3 }) Directory.Delete(d, true);
    }

    [Fact]
    public void WeightHistograms_EveryHistogramFreqEpochs_DescribeTheWeights()
    {
        string dir = TempDir();
        using var model = TwoLayers();
        var (x, y) = Samples(8, 6);
        model.Fit(x, y, batchSize: 4, epochs: 3, verbose: 0, callbacks: [new TensorBoard(dir, histogramFreq: 2)]);
        var events = ReadRun(Path.Combine(dir, "train"));
        var histos = events.SelectMany(e => e.Values.Where(v => v.Histo is not null).Select(v => (e.Step, v.Tag, Histo: v.Histo!))).ToList();
        var weights = model.Layers.SelectMany(l => l.Weights).ToList();
        Assert.Equal(4, weights.Count);
        Assert.Equal(weights.Select(w => w.Path + "/histogram").Concat(weights.Select(w => w.Path + "/histogram")), histos.Select(h => h.Tag));
        Assert.Equal(Enumerable.Repeat(0L, 4).Concat(Enumerable.Repeat(2L, 4)), histos.Select(h => h.Step));
        Assert.Equal(4, histos.Select(h => h.Tag).Distinct().Count());
        // The last epoch's histograms describe the final weights.
        for (int i = 0; i < 4; i++)
        {
            var values = weights[i].ToArray().Select(v => (double)v).ToList();
            var hist = histos[4 + i].Histo;
            Assert.Equal(values.Count, hist.Num);
            Assert.Equal(values.Min(), hist.Min);
            Assert.Equal(values.Max(), hist.Max);
            Assert.Equal(values.Sum(), hist.Sum, 12);
            Assert.Equal(values.Sum(v => v * v), hist.SumSquares, 12);
            Assert.Equal(hist.Limits.Count, hist.Buckets.Count);
            Assert.True(hist.Limits.Zip(hist.Limits.Skip(1)).All(p => p.First < p.Second));
            Assert.Equal(double.MaxValue, hist.Limits[^1]);
            // Each value counts in the entry whose range [previous limit, limit) holds it.
            var expected = new double[hist.Limits.Count];
            foreach (var v in values) expected[hist.Limits.FindIndex(l => v < l)]++;
            Assert.Equal(expected, hist.Buckets);
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Histogram_UsesTensorFlowsDefaultBuckets_AndMergesEmptyRuns()
    {
        var h = TfHistogram.Build([0.0, 1.0, -1.0, 1.0, 3.0]);
        Assert.Equal((-1.0, 3.0, 5.0, 4.0, 12.0), (h.Min, h.Max, h.Num, h.Sum, h.SumSquares));
        Assert.Equal([0, 1, 0, 1, 0, 2, 0, 1, 0], h.Bucket);
        // Limits grow by 10% from 1e-12: the bucket of 1.0 ends at the first such limit above 1.
        double above1 = 1e-12;
        while (above1 <= 1.0) above1 *= 1.1;
        double above3 = 1e-12;
        while (above3 <= 3.0) above3 *= 1.1;
        double aboveMinus1 = 1e-12;
        while (aboveMinus1 * 1.1 < 1.0) aboveMinus1 *= 1.1; // -aboveMinus1 is the first limit above -1
        Assert.Equal(-aboveMinus1, h.BucketLimit[1]);
        Assert.Equal(0.0, h.BucketLimit[2]);
        Assert.Equal(1e-12, h.BucketLimit[3]);
        Assert.Equal(above1, h.BucketLimit[5]);
        Assert.Equal(above3, h.BucketLimit[7]);
        Assert.Equal(double.MaxValue, h.BucketLimit[8]);
    }

    [Fact]
    public void Crc32C_AgreesWithTheIndependentBitwiseCrc_ForEveryLengthUpTo40()
    {
        // Covers the 8-byte steps and every tail length (0 to 7 bytes) with several leading blocks.
        var rng = new Random(7);
        var bytes = new byte[40];
        rng.NextBytes(bytes);
        for (int n = 0; n <= bytes.Length; n++) Assert.Equal(TfEventReader.Crc32C(bytes.AsSpan(0, n)), Crc32C.Compute(bytes.AsSpan(0, n)));
        Assert.Equal(0u, Crc32C.Compute([])); // RFC 3720: the CRC of nothing is ~0xFFFFFFFF
    }

    [Theory]
    [InlineData("zeros", 0x8A9136AAu)]
    [InlineData("ones", 0x62A8AB43u)]
    [InlineData("incrementing", 0x46DD794Eu)]
    [InlineData("decrementing", 0x113FDB5Cu)]
    [InlineData("123456789", 0xE3069283u)]
    public void Crc32C_MatchesRfc3720Vectors(string name, uint expected)
    {
        byte[] data = name switch
        {
            "zeros" => new byte[32],
            "ones" => Enumerable.Repeat((byte)0xFF, 32).ToArray(),
            "incrementing" => Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            "decrementing" => Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(),
            _ => Encoding.ASCII.GetBytes(name),
        };
        Assert.Equal(expected, Crc32C.Compute(data));
        Assert.Equal(expected, TfEventReader.Crc32C(data));
        Assert.Equal(TfEventReader.Masked(expected), Crc32C.Mask(expected));
    }
}
