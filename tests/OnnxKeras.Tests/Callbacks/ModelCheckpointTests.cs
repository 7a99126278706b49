using OnnxKeras.Callbacks;
using OnnxKeras.Models;
using Xunit;
using static OnnxKeras.Tests.Callbacks.CallbackTestModels;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// ModelCheckpoint (weights through a delegate) against Keras 3 (keras/src/callbacks/model_checkpoint.py and
/// monitor_callback.py): path = filepath.format(epoch=epoch + 1, **logs) (batch = batch + 1 for batch-level saves);
/// save_best_only saves when monitor_op(current, best) holds strictly (best starts at ±inf or the threshold); a
/// missing monitor warns and saves; with an integer save_freq it saves every that many batches across epochs.
/// </summary>
public class ModelCheckpointTests
{
    private sealed class FakeSaver
    {
        public List<(string Path, float Kernel)> Saves { get; } = [];
        public void Save(Model m, string path) => Saves.Add((path, m.Layers[0].Weights[0].ToArray()[0]));
    }

    private static List<string> Drive(ModelCheckpoint cb, Model model, string key, params double[] values)
    {
        cb.Model = model;
        cb.OnTrainBegin(new Dictionary<string, double>());
        for (int e = 0; e < values.Length; e++)
        {
            cb.OnEpochBegin(e, new Dictionary<string, double>());
            cb.OnEpochEnd(e, new Dictionary<string, double> { [key] = values[e], ["loss"] = 10 + e });
        }
        return cb.Saved;
    }

    [Fact]
    public void EveryEpoch_PathIsFormattedPythonStyle_FromEpochAndLogs()
    {
        using var model = Linear(0.1);
        var saver = new FakeSaver();
        var cb = new ModelCheckpoint("ck/w-{epoch:02d}-{val_loss:.2f}-{loss}.weights.h5", saver.Save);
        Assert.Equal(["ck/w-01-0.50-10.0.weights.h5", "ck/w-02-0.12-11.0.weights.h5", "ck/w-03-1.00-12.0.weights.h5"],
            Drive(cb, model, "val_loss", 0.5, 0.125, 0.999));
        Assert.Equal(cb.Saved, saver.Saves.Select(s => s.Path));
    }

    [Fact]
    public void SaveBestOnly_SavesStrictImprovements_InTheMonitorsDirection()
    {
        using var model = Linear(0.1);
        var output = new StringWriter();
        var cb = new ModelCheckpoint("best.weights.h5", (_, _) => { }, saveBestOnly: true, verbose: 1, output: output);
        Drive(cb, model, "val_loss", 1.0, 1.0, 0.9, 0.95, 0.5);
        Assert.Equal(3, cb.Saved.Count); // epochs 1, 3, 5
        Assert.Equal(0.5, cb.Best);
        Assert.Equal(string.Join("\n", [
            "", "Epoch 1: val_loss improved from inf to 1.00000, saving model to best.weights.h5",
            "", "Epoch 1: finished saving model to best.weights.h5",
            "", "Epoch 2: val_loss did not improve from 1.00000",
            "", "Epoch 3: val_loss improved from 1.00000 to 0.90000, saving model to best.weights.h5",
            "", "Epoch 3: finished saving model to best.weights.h5",
            "", "Epoch 4: val_loss did not improve from 0.90000",
            "", "Epoch 5: val_loss improved from 0.90000 to 0.50000, saving model to best.weights.h5",
            "", "Epoch 5: finished saving model to best.weights.h5", ""]), output.ToString().Replace("\r\n", "\n"));

        var acc = new ModelCheckpoint("a{epoch}.weights.h5", (_, _) => { }, monitor: "val_accuracy", saveBestOnly: true, initialValueThreshold: 0.6);
        Assert.Equal(["a3.weights.h5", "a4.weights.h5"], Drive(acc, model, "val_accuracy", 0.5, 0.6, 0.7, 0.8, 0.75));
    }

    [Fact]
    public void MissingMonitorWarnsAndSaves_UnknownDirectionAndMissingPathKeysThrow()
    {
        using var model = Linear(0.1);
        var warn = new StringWriter();
        var cb = new ModelCheckpoint("m.weights.h5", (_, _) => { }, saveBestOnly: true, output: warn);
        Assert.Single(Drive(cb, model, "other", 1));
        Assert.Contains("Can save best model only with val_loss available.", warn.ToString());
        Assert.Throws<ArgumentException>(() => Drive(new ModelCheckpoint("m.weights.h5", (_, _) => { }, monitor: "val_custom"), model, "val_custom", 1));
        var bad = Assert.Throws<KeyNotFoundException>(() => Drive(new ModelCheckpoint("m-{val_acc:.2f}.weights.h5", (_, _) => { }), model, "val_loss", 1));
        Assert.Contains("Failed to format this callback filepath", bad.Message);
    }

    [Fact]
    public void EndToEnd_FitSavesEachEpochsWeights_AndEveryNBatches()
    {
        // Loss w^2 (x = 1, y = 0), SGD 0.1, one sample per epoch: w = 0.8^epochs.
        string dir = TempDir();
        using var model = Linear(0.1);
        var saver = new FakeSaver();
        model.Fit(Column(1), Column(0), epochs: 3, verbose: 0, callbacks: [new ModelCheckpoint(Path.Combine(dir, "sub", "e{epoch}.weights.h5"), saver.Save)]);
        Assert.Equal([1, 2, 3], saver.Saves.Select(s => int.Parse(Path.GetFileName(s.Path)[1..2], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal([0.8f, 0.64f, 0.512f], saver.Saves.Select(s => MathF.Round(s.Kernel, 5)));
        Assert.True(Directory.Exists(Path.Combine(dir, "sub")));

        // 3 batches per epoch, 2 epochs, save every 2 batches: after global batches 2, 4 and 6.
        using var model2 = Linear(0.1);
        var batches = new ModelCheckpoint("b{epoch}-{batch}.weights.h5", (_, _) => { }, saveFreq: 2);
        model2.Fit(Column(1, 1, 1), Column(0, 0, 0), batchSize: 1, epochs: 2, verbose: 0, shuffle: false, callbacks: [batches]);
        Assert.Equal(["b1-2.weights.h5", "b2-1.weights.h5", "b2-3.weights.h5"], batches.Saved);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void ExtensionsAreCheckedIgnoringCase_AsSaveAndSaveWeightsDo()
    {
        // Save and SaveWeights accept "M.KERAS" and "W.WEIGHTS.H5"; ModelCheckpoint accepts what they accept.
        string dir = TempDir();
        using var model = Linear(0.1);
        var whole = Path.Combine(dir, "M{epoch}.KERAS");
        var weights = Path.Combine(dir, "W{epoch}.Weights.H5");
        model.Fit(Column(1), Column(0), epochs: 1, verbose: 0, callbacks: [new ModelCheckpoint(whole), new ModelCheckpoint(weights, saveWeightsOnly: true)]);
        Assert.True(File.Exists(Path.Combine(dir, "M1.KERAS")));
        Assert.True(File.Exists(Path.Combine(dir, "W1.Weights.H5")));
        // Kernel 0.8 after one step (loss w^2 from w = 1, SGD 0.1), read back from both files.
        using (var loaded = Model.LoadModel(Path.Combine(dir, "M1.KERAS"))) Assert.Equal(0.8f, loaded.Layers[0].Weights[0].ToArray()[0], 5);
        using var fresh = Linear(0.1);
        fresh.LoadWeights(Path.Combine(dir, "W1.Weights.H5"));
        Assert.Equal(0.8f, fresh.Layers[0].Weights[0].ToArray()[0], 5);
        // Still rejected: a whole model to weights-only extensions and the reverse.
        Assert.Throws<ArgumentException>(() => new ModelCheckpoint(Path.Combine(dir, "m.weights.h5")));
        Assert.Throws<ArgumentException>(() => new ModelCheckpoint(Path.Combine(dir, "m.KERAS"), saveWeightsOnly: true));
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("{epoch:02d}", 3, "03")]
    [InlineData("{epoch}", 12, "12")]
    [InlineData("{epoch:>4}", 7, "   7")]
    [InlineData("{epoch:*<4d}", 7, "7***")]
    [InlineData("{epoch:^5}", 7, "  7  ")]
    [InlineData("{epoch:+d}", 7, "+7")]
    [InlineData("{epoch:04x}", 255, "00ff")]
    [InlineData("{epoch:#b}", 5, "0b101")]
    [InlineData("{epoch:,}", 1234567, "1,234,567")]
    [InlineData("{epoch:.2f}", 3, "3.00")]
    [InlineData("{v:.2f}", 0.125, "0.12")]
    [InlineData("{v:.2f}", 0.375, "0.38")]
    [InlineData("{v:.2f}", 2.675, "2.67")]
    [InlineData("{v:.0f}", 2.5, "2")]
    [InlineData("{v:.4f}", 0.69314718, "0.6931")]
    [InlineData("{v:08.3f}", -1.5, "-001.500")]
    [InlineData("{v:.3e}", 123456.0, "1.235e+05")]
    [InlineData("{v:e}", 0.000123, "1.230000e-04")]
    [InlineData("{v:E}", 9.9999999, "1.000000E+01")]
    [InlineData("{v:g}", 0.0001, "0.0001")]
    [InlineData("{v:g}", 0.00001, "1e-05")]
    [InlineData("{v:g}", 1234567.0, "1.23457e+06")]
    [InlineData("{v:.3g}", 2.0, "2")]
    [InlineData("{v:.3}", 2.0, "2.0")]
    [InlineData("{v:.3}", 1234.5, "1.23e+03")]
    [InlineData("{v:.1%}", 0.256, "25.6%")]
    [InlineData("{v}", 0.1, "0.1")]
    [InlineData("{v:8}", 0.5, "     0.5")]
    [InlineData("{v:.2f}", double.NaN, "nan")]
    [InlineData("{v:.5f}", double.PositiveInfinity, "inf")]
    [InlineData("a{{b}}{v:.1f}", 1.25, "a{b}1.2")]
    public void PythonFormat_MatchesStrFormat(string template, object value, string expected)
    {
        var values = new Dictionary<string, object> { [template.Contains("epoch") ? "epoch" : "v"] = value };
        Assert.Equal(expected, PythonFormat.Format(template, values));
    }

    [Fact]
    public void PythonFormat_RejectsIntegerCodesForFloats() =>
        Assert.Throws<FormatException>(() => PythonFormat.Format("{v:02d}", new Dictionary<string, object> { ["v"] = 0.5 }));
}
