using OnnxKeras.Callbacks;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// EarlyStopping against Keras 3's algorithm (keras/src/callbacks/early_stopping.py), applied by hand to scripted
/// sequences of the monitored value. At each epoch end: wait += 1; if the value improves on the best (by more than
/// min_delta, in the direction of the mode; the best starts at +inf for min, -inf for max), it becomes the best, its
/// weights are kept, and wait resets to 0 only if it also improves on the baseline; otherwise, when
/// wait >= patience and epoch > 0, training stops. At the end the best epoch's weights are restored if asked.
/// </summary>
public class EarlyStoppingTests
{
    private static readonly Dictionary<string, double> NoLogs = new();

    private static Sequential TinyModel() => new(new InputLayer([2]), new Dense(1));

    /// <summary>Sets every weight of the model to <paramref name="v"/> (kernel [2, 1] and bias [1]).</summary>
    private static void Fill(Model model, float v) => model.SetWeights([new NDArray([v, v], 2, 1), new NDArray([v], 1)]);

    /// <summary>
    /// Runs the callback over <paramref name="values"/> of <paramref name="key"/> as Fit would: epoch e "trains" the
    /// weights to e + 1, then OnEpochEnd; stops when the model is told to. Returns the number of epochs run.
    /// </summary>
    private static int Drive(EarlyStopping es, Model model, string key, params double[] values)
    {
        es.Model = model;
        model.StopTraining = false;
        es.OnTrainBegin(NoLogs);
        int run = 0;
        for (int e = 0; e < values.Length && !model.StopTraining; e++)
        {
            Fill(model, e + 1);
            es.OnEpochEnd(e, new Dictionary<string, double> { [key] = values[e], ["other"] = 123 });
            run++;
        }
        es.OnTrainEnd(NoLogs);
        return run;
    }

    private static int Drive(EarlyStopping es, string key, params double[] values)
    {
        using var model = TinyModel();
        return Drive(es, model, key, values);
    }

    [Fact]
    public void Patience2_StopsWhenTwoEpochsInARowDoNotImprove()
    {
        // e0 1.0 best (wait 0); e1 0.8 best (wait 0); e2 0.9 wait 1; e3 0.85 wait 2 >= 2: stop at epoch 3.
        var es = new EarlyStopping(patience: 2);
        Assert.Equal(4, Drive(es, "val_loss", 1.0, 0.8, 0.9, 0.85, 0.95, 0.7));
        Assert.Equal(3, es.StoppedEpoch);
        Assert.Equal(1, es.BestEpoch);
        Assert.Equal(0.8, es.Best);
    }

    [Fact]
    public void Patience0_StopsAtTheFirstEpochThatDoesNotImprove()
    {
        var es = new EarlyStopping(monitor: "loss");
        Assert.Equal(3, Drive(es, "loss", 1.0, 0.9, 0.95, 0.5));
        Assert.Equal(2, es.StoppedEpoch);
        var improving = new EarlyStopping(monitor: "loss");
        Assert.Equal(3, Drive(improving, "loss", 3, 2, 1));
        Assert.Equal(0, improving.StoppedEpoch); // 0 means "did not stop"
        Assert.Equal(2, improving.BestEpoch);
    }

    [Fact]
    public void MinDelta_SmallerChangesDoNotCountAsImprovement()
    {
        // min_delta 0.1, patience 2: e0 1.0 best; e1 0.95 (+0.1 = 1.05, not < 1.0) wait 1; e2 0.85 (0.95 < 1.0) best,
        // wait 0; e3 0.84 (0.94 not < 0.85) wait 1; e4 0.83 wait 2: stop at 4 with best 0.85 at epoch 2.
        double[] values = [1.0, 0.95, 0.85, 0.84, 0.83];
        var es = new EarlyStopping(minDelta: 0.1, patience: 2);
        Assert.Equal(5, Drive(es, "val_loss", values));
        Assert.Equal(4, es.StoppedEpoch);
        Assert.Equal(2, es.BestEpoch);
        Assert.Equal(0.85, es.Best);
        var negative = new EarlyStopping(minDelta: -0.1, patience: 2); // Keras takes abs(min_delta)
        Drive(negative, "val_loss", values);
        Assert.Equal(4, negative.StoppedEpoch);
        var plain = new EarlyStopping(patience: 2); // every step improves without min_delta
        Assert.Equal(5, Drive(plain, "val_loss", values));
        Assert.Equal(0, plain.StoppedEpoch);
        Assert.Equal(0.83, plain.Best);
    }

    [Fact]
    public void AccuracyIsMaximizedInAutoMode_AndModeOverridesTheDirection()
    {
        double[] values = [0.5, 0.6, 0.55, 0.58, 0.59, 0.61];
        // max, patience 3: e1 0.6 best; e2, e3, e4 lower: wait 3 at epoch 4.
        var auto = new EarlyStopping(monitor: "val_accuracy", patience: 3);
        Assert.Equal(5, Drive(auto, "val_accuracy", values));
        Assert.Equal(4, auto.StoppedEpoch);
        Assert.Equal(1, auto.BestEpoch);
        Assert.Equal(0.6, auto.Best);
        var max = new EarlyStopping(monitor: "score", patience: 3, mode: "max");
        Drive(max, "score", values);
        Assert.Equal(4, max.StoppedEpoch);
        // min: e0 0.5 best; 0.6, 0.55, 0.58 are all higher: wait 3 at epoch 3.
        var min = new EarlyStopping(monitor: "val_accuracy", patience: 3, mode: "min");
        Assert.Equal(4, Drive(min, "val_accuracy", values));
        Assert.Equal(3, min.StoppedEpoch);
        Assert.Equal(0, min.BestEpoch);
    }

    [Fact]
    public void AutoMode_UnknownDirection_Throws()
    {
        var es = new EarlyStopping(monitor: "score");
        using var model = TinyModel();
        es.Model = model;
        var e = Assert.Throws<ArgumentException>(() => es.OnTrainBegin(NoLogs));
        Assert.Contains("mode", e.Message);
    }

    [Fact]
    public void Baseline_NotBeatingItKeepsCountingPatience()
    {
        // min, baseline 0.5, patience 2: e0 0.9 is the best but not < 0.5, so wait stays 1; e1 0.95 wait 2: stop at 1.
        var es = new EarlyStopping(patience: 2, baseline: 0.5);
        Assert.Equal(2, Drive(es, "val_loss", 0.9, 0.95, 0.97));
        Assert.Equal(1, es.StoppedEpoch);
        // Without the baseline: e0 wait 0, e1 wait 1, e2 wait 2: stop at 2.
        var plain = new EarlyStopping(patience: 2);
        Assert.Equal(3, Drive(plain, "val_loss", 0.9, 0.95, 0.97));
        Assert.Equal(2, plain.StoppedEpoch);
        // Beating the baseline from the start behaves as without it.
        var beaten = new EarlyStopping(patience: 2, baseline: 0.5);
        Drive(beaten, "val_loss", 0.4, 0.45, 0.46, 0.47);
        Assert.Equal(2, beaten.StoppedEpoch);
    }

    [Fact]
    public void Baseline_InMaxMode_RestoresTheBestEpochEvenBelowTheBaseline()
    {
        // max, baseline 0.9, patience 2: e0 0.5 best (wait 1, baseline not beaten); e1 0.6 best (wait 2, but an
        // improvement returns before the stop check); e2 0.55 wait 3: stop at 2. Best epoch 1 -> weights 2.
        var es = new EarlyStopping(monitor: "val_accuracy", patience: 2, baseline: 0.9, restoreBestWeights: true);
        using var model = TinyModel();
        Assert.Equal(3, Drive(es, model, "val_accuracy", 0.5, 0.6, 0.55, 0.7));
        Assert.Equal(2, es.StoppedEpoch);
        Assert.Equal(1, es.BestEpoch);
        Assert.Equal(new float[] { 2, 2 }, model.GetWeights()[0].Data);
    }

    [Fact]
    public void RestoreBestWeights_PutsBackTheWeightsOfTheBestEpoch()
    {
        using var model = TinyModel();
        var es = new EarlyStopping(patience: 2, restoreBestWeights: true);
        Drive(es, model, "val_loss", 1.0, 0.8, 0.9, 0.85); // stops at 3, best epoch 1 (weights 2)
        Assert.Equal(new float[] { 2, 2 }, model.GetWeights()[0].Data);
        Assert.Equal(new float[] { 2 }, model.GetWeights()[1].Data);

        var keep = new EarlyStopping(patience: 2);
        Drive(keep, model, "val_loss", 1.0, 0.8, 0.9, 0.85);
        Assert.Equal(new float[] { 4, 4 }, model.GetWeights()[0].Data); // last epoch's weights

        // Also when training ends without stopping: e1 (weights 2) is the best of the three.
        var full = new EarlyStopping(patience: 5, restoreBestWeights: true);
        Assert.Equal(3, Drive(full, model, "val_loss", 1.0, 0.5, 0.7));
        Assert.Equal(0, full.StoppedEpoch);
        Assert.Equal(new float[] { 2, 2 }, model.GetWeights()[0].Data);
    }

    [Fact]
    public void NaNFirstValue_IsNotAnImprovement_TheNextFiniteValueIs()
    {
        // Keras starts from best = +inf, and NaN < inf is false: e0 NaN wait 1 (epoch 0 never stops);
        // e1 1.0 best; e2 0.9 best; e3 0.8 best. No stop.
        using var model = TinyModel();
        var es = new EarlyStopping(patience: 1, restoreBestWeights: true);
        Assert.Equal(4, Drive(es, model, "val_loss", double.NaN, 1.0, 0.9, 0.8));
        Assert.Equal(0, es.StoppedEpoch);
        Assert.Equal(0.8, es.Best);
        Assert.Equal(3, es.BestEpoch);
        Assert.Equal(new float[] { 4, 4 }, model.GetWeights()[0].Data);
        // A NaN later is no improvement either.
        var later = new EarlyStopping(patience: 1);
        Assert.Equal(2, Drive(later, "val_loss", 1.0, double.NaN, 0.9));
        Assert.Equal(1, later.StoppedEpoch);
    }

    [Fact]
    public void StartFromEpoch_IgnoresTheWarmUpEpochs()
    {
        // start 2, patience 0: e0, e1 ignored; e2 1.0 best; e3 1.1: stop at 3.
        var es = new EarlyStopping(patience: 0, startFromEpoch: 2);
        Assert.Equal(4, Drive(es, "val_loss", 0.1, 0.2, 1.0, 1.1));
        Assert.Equal(3, es.StoppedEpoch);
        Assert.Equal(2, es.BestEpoch);
        var plain = new EarlyStopping(patience: 0);
        Assert.Equal(2, Drive(plain, "val_loss", 0.1, 0.2, 1.0, 1.1));
        Assert.Equal(1, plain.StoppedEpoch);
    }

    [Fact]
    public void MissingMonitor_WarnsWithTheAvailableKeys_AndNeverStops()
    {
        var output = new StringWriter();
        var es = new EarlyStopping(monitor: "val_loss", output: output);
        Assert.Equal(3, Drive(es, "loss", 1.0, 2.0, 3.0));
        Assert.Equal(0, es.StoppedEpoch);
        var text = output.ToString();
        Assert.Contains("val_loss", text);
        Assert.Contains("not available", text);
        Assert.Contains("loss,other", text);
    }

    [Fact]
    public void Verbose_PrintsKerasMessages()
    {
        var output = new StringWriter();
        var es = new EarlyStopping(patience: 2, verbose: 1, restoreBestWeights: true, output: output);
        Drive(es, "val_loss", 1.0, 0.8, 0.9, 0.85);
        var text = output.ToString();
        Assert.Contains("Epoch 4: early stopping", text); // 1-based epoch numbers, as Keras prints them
        Assert.Contains("Restoring model weights from the end of the best epoch: 2.", text);
    }

    [Fact]
    public void Reuse_StartsAfreshAtEachTrainBegin()
    {
        var es = new EarlyStopping(patience: 1);
        Drive(es, "val_loss", 0.1, 0.2, 0.3);
        Assert.Equal(1, es.StoppedEpoch);
        // A second run with larger values: best restarts from scratch, so 1.0 is the best at epoch 0.
        Assert.Equal(3, Drive(es, "val_loss", 1.0, 0.9, 0.95));
        Assert.Equal(2, es.StoppedEpoch);
        Assert.Equal(0.9, es.Best);
    }

    // ------------------------------------------------------------------ in a real Fit

    /// <summary>
    /// Dense(1), no bias, kernel 1, on one sample x = 1, y = 0 with SGD(2): the loss is w^2 with gradient 2w, so each
    /// step maps w to w - 4w = -3w. Epoch losses (before each update) are 1, 9, 81, ...; the kernel after epoch 0 is
    /// -3, after epoch 1 it is 9. Evaluated after the update, val_loss on the same sample is 9, 81, ...
    /// </summary>
    private static Sequential Diverging()
    {
        var m = new Sequential(new InputLayer([1]), new Dense(1, useBias: false, kernelInitializer: new Ones()));
        m.Compile(new SGD(2.0), "mse");
        return m;
    }

    private static readonly float[,] One = { { 1 } };
    private static readonly float[,] Zero = { { 0 } };

    private sealed class WeightRecorder : Callback
    {
        public List<float> Kernels { get; } = [];
        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => Kernels.Add(Model!.GetWeights()[0].Data[0]);
    }

    [Fact]
    public void InFit_StopsEarly_AndRestoresTheBestEpochsWeights()
    {
        using var model = Diverging();
        var recorder = new WeightRecorder();
        var es = new EarlyStopping(monitor: "loss", patience: 1, restoreBestWeights: true);
        var h = model.Fit(One, Zero, batchSize: 1, epochs: 10, verbose: 0, callbacks: [recorder, es]);
        // Losses 1 then 9: epoch 1 does not improve, wait 1 >= patience 1: stop at epoch 1.
        Assert.Equal(new[] { 1.0, 9.0 }, h["loss"]);
        Assert.Equal(1, es.StoppedEpoch);
        Assert.Equal(0, es.BestEpoch);
        Assert.Equal(new[] { -3f, 9f }, recorder.Kernels); // the weights did change between epochs
        Assert.Equal(recorder.Kernels[es.BestEpoch], model.GetWeights()[0].Data[0]);
        Assert.Equal(-3f, model.GetWeights()[0].Data[0]);
    }

    [Fact]
    public void InFit_WithoutRestore_KeepsTheLastWeights()
    {
        using var model = Diverging();
        var h = model.Fit(One, Zero, batchSize: 1, epochs: 10, verbose: 0, callbacks: [new EarlyStopping(monitor: "loss", patience: 1)]);
        Assert.Equal(2, h["loss"].Count);
        Assert.Equal(9f, model.GetWeights()[0].Data[0]);
    }

    [Fact]
    public void InFit_MonitorsValLossByDefault()
    {
        using var model = Diverging();
        var es = new EarlyStopping(restoreBestWeights: true); // monitor val_loss, patience 0
        var h = model.Fit(One, Zero, batchSize: 1, epochs: 10, verbose: 0, validationData: (One, Zero), callbacks: [es]);
        Assert.Equal(new[] { 9.0, 81.0 }, h["val_loss"]);
        Assert.Equal(2, h.Epoch.Count);
        Assert.Equal(1, es.StoppedEpoch);
        Assert.Equal(-3f, model.GetWeights()[0].Data[0]);
    }
}
