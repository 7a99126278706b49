using OnnxKeras.Callbacks;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static OnnxKeras.Tests.Callbacks.CallbackTestModels;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// ReduceLROnPlateau against Keras 3 (keras/src/callbacks/reduce_lr_on_plateau.py), applied by hand to scripted
/// sequences. At each epoch end: logs["learning_rate"] = lr; if in cooldown (counter &gt; 0): counter -= 1, wait = 0; if
/// the value improves (min: current &lt; best - min_delta; max: current &gt; best + min_delta; best starts at ±inf), best =
/// current and wait = 0; else if not in cooldown: wait += 1 and when wait &gt;= patience and lr &gt; float32(min_lr):
/// lr = max(lr * factor, min_lr), counter = cooldown, wait = 0. Mode auto maximizes iff the monitor contains "acc".
/// </summary>
public class ReduceLROnPlateauTests
{
    private static double Lr(Model m) => ((ConstantLearningRate)m.Optimizer.LearningRate).Value;

    /// <summary>Runs the callback over the values; returns (logged learning_rate, wait) per epoch.</summary>
    private static List<(double Lr, int Wait)> Drive(ReduceLROnPlateau cb, Model model, string key, params double[] values)
    {
        cb.Model = model;
        cb.OnTrainBegin(new Dictionary<string, double>());
        var result = new List<(double, int)>();
        for (int e = 0; e < values.Length; e++)
        {
            var logs = new Dictionary<string, double> { [key] = values[e], ["other"] = 7 };
            cb.OnEpochEnd(e, logs);
            result.Add((logs["learning_rate"], cb.Wait));
        }
        return result;
    }

    [Fact]
    public void PatienceCooldownMinDeltaAndMinLr_FollowKeras()
    {
        using var model = Linear(1.0);
        var cb = new ReduceLROnPlateau(factor: 0.5, patience: 2, cooldown: 1, minLr: 0.1);
        // e0 best 1.0; e1 1.0 and e2 0.99995 are not below 1.0 - 1e-4: wait 1, 2 -> lr 0.5, cooldown 1.
        // e3 cooldown ends (counter 0, wait 0), no improvement and no longer in cooldown: wait 1; e4 wait 2 -> 0.25.
        // e5 cooldown ends, 0.5 improves (wait 0); e6 wait 1; e7 wait 2 -> 0.125; e8 cooldown ends, wait 1;
        // e9 wait 2 -> max(0.0625, 0.1) = 0.1; e10 wait 1; e11 wait 2 but lr 0.1 is not above float32(0.1): kept, and
        // wait is not reset; e12 wait 3.
        var run = Drive(cb, model, "val_loss", 1.0, 1.0, 0.99995, 1.2, 1.2, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6);
        Assert.Equal([1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.1, 0.1, 0.1], run.Select(r => r.Lr));
        Assert.Equal([0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 2, 3], run.Select(r => r.Wait));
        Assert.Equal(0.1, Lr(model));
        Assert.Equal(0.5, cb.Best);
    }

    [Fact]
    public void WithoutCooldown_EveryPatienceEpochsWithoutImprovementReduces()
    {
        using var model = Linear(1.0);
        var cb = new ReduceLROnPlateau(monitor: "loss", factor: 0.1, patience: 1);
        var run = Drive(cb, model, "loss", 3, 3, 3, 2, 2);
        Assert.Equal([1, 1, 0.1, 0.1 * 0.1, 0.1 * 0.1], run.Select(r => r.Lr));
        Assert.Equal(0.1 * 0.1 * 0.1, Lr(model));
    }

    [Fact]
    public void AutoMode_MaximizesWhenTheNameContainsAcc_MinModeOverrides()
    {
        using var model = Linear(1.0);
        var max = new ReduceLROnPlateau(monitor: "val_accuracy", factor: 0.5, patience: 1);
        Drive(max, model, "val_accuracy", 0.5, 0.6, 0.7);
        Assert.Equal(1.0, Lr(model)); // rising accuracy is improvement
        Assert.Equal(0.7, max.Best);
        Drive(max, model, "val_accuracy", 0.5, 0.4);
        Assert.Equal(0.5, Lr(model));

        using var model2 = Linear(1.0);
        var min = new ReduceLROnPlateau(monitor: "val_accuracy", factor: 0.5, patience: 1, mode: "min");
        Drive(min, model2, "val_accuracy", 0.5, 0.6);
        Assert.Equal(0.5, Lr(model2));

        // Unlike EarlyStopping, auto mode only looks for "acc": "auc" minimizes.
        using var model3 = Linear(1.0);
        var auc = new ReduceLROnPlateau(monitor: "auc", factor: 0.5, patience: 1);
        Drive(auc, model3, "auc", 0.5, 0.6);
        Assert.Equal(0.5, Lr(model3));
    }

    [Fact]
    public void MissingMonitor_WarnsAndOnlyLogsTheRate()
    {
        using var model = Linear(0.3);
        var output = new StringWriter();
        var cb = new ReduceLROnPlateau(patience: 0, output: output);
        var run = Drive(cb, model, "loss", 1, 1, 1);
        Assert.Equal([0.3, 0.3, 0.3], run.Select(r => r.Lr));
        Assert.Equal(0.3, Lr(model));
        Assert.Contains("Learning rate reduction is conditioned on metric `val_loss` which is not available. Available metrics are: loss,other,learning_rate", output.ToString());
    }

    [Fact]
    public void VerboseMessage_AndBadArguments()
    {
        using var model = Linear(1.0);
        var output = new StringWriter();
        Drive(new ReduceLROnPlateau(factor: 0.5, patience: 1, verbose: 1, output: output), model, "val_loss", 1, 1);
        Assert.Equal("\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.5.\n", output.ToString().Replace("\r\n", "\n"));
        Assert.Throws<ArgumentException>(() => new ReduceLROnPlateau(factor: 1.0));
        var warn = new StringWriter();
        Assert.Equal("auto", new ReduceLROnPlateau(mode: "sideways", output: warn).Mode);
        Assert.Contains("mode sideways is unknown", warn.ToString());
    }

    [Fact]
    public void AScheduledRateCannotBeReduced()
    {
        using var model = Linear(new ExponentialDecay(0.1, 10, 0.5));
        var cb = new ReduceLROnPlateau(patience: 1);
        var ex = Assert.Throws<InvalidOperationException>(() => Drive(cb, model, "val_loss", 1, 1));
        Assert.Contains("ExponentialDecay", ex.Message);
    }

    [Fact]
    public void EndToEnd_FitReducesTheRateOnAPlateau_AndHistoryRecordsIt()
    {
        // x = 0: the loss never changes, so every epoch after the first is a plateau.
        using var model = Linear(0.1);
        var h = model.Fit(Column(0, 0, 0), Column(1, 2, 3), epochs: 4, verbose: 0, validationData: (Column(0), Column(2)),
            callbacks: [new ReduceLROnPlateau(factor: 0.5, patience: 1)]);
        Assert.Equal([0.1, 0.1, 0.05, 0.025], h["learning_rate"]);
        Assert.Equal(0.0125, Lr(model));
        Assert.Equal([4.0, 4.0, 4.0, 4.0], h["val_loss"]);
    }
}
