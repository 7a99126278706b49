using OnnxKeras.Callbacks;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static OnnxKeras.Tests.Callbacks.CallbackTestModels;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// LearningRateScheduler against Keras 3 (keras/src/callbacks/learning_rate_scheduler.py): at each epoch begin
/// lr = schedule(epoch, lr) is set on the optimizer; at each epoch end logs["learning_rate"] = lr.
/// </summary>
public class LearningRateSchedulerTests
{
    [Fact]
    public void TheScheduledRateIsUsedForTheEpochsUpdates_AndLogged()
    {
        // Loss w^2 (x = 1, y = 0): one SGD step per epoch multiplies w by 1 - 2 lr.
        using var model = Linear(0.1);
        var epochs = new List<int>();
        var h = model.Fit(Column(1), Column(0), epochs: 3, verbose: 0,
            callbacks: [new LearningRateScheduler((epoch, lr) => { epochs.Add(epoch); return epoch == 0 ? lr : lr * 0.5; })]);
        Assert.Equal([0, 1, 2], epochs);
        Assert.Equal([0.1, 0.05, 0.025], h["learning_rate"]);
        Assert.Equal(1 * (1 - 0.2) * (1 - 0.1) * (1 - 0.05), model.Layers[0].Weights[0].ToArray()[0], 5);
        Assert.Equal(0.025, ((ConstantLearningRate)model.Optimizer.LearningRate).Value);
    }

    [Fact]
    public void EpochOnlySchedule_SeesAbsoluteEpochs_WithInitialEpoch()
    {
        using var model = Linear(0.1);
        var output = new StringWriter();
        var h = model.Fit(Column(1), Column(0), epochs: 3, initialEpoch: 1, verbose: 0,
            callbacks: [new LearningRateScheduler(epoch => 0.01 * (epoch + 1), verbose: 1, output: output)]);
        Assert.Equal([0.02, 0.03], h["learning_rate"]);
        Assert.Equal("\nEpoch 2: LearningRateScheduler setting learning rate to 0.02.\n\nEpoch 3: LearningRateScheduler setting learning rate to 0.03.\n",
            output.ToString().Replace("\r\n", "\n"));
    }

    [Fact]
    public void InvalidRatesAndSchedulesAreRejected()
    {
        using var model = Linear(0.1);
        Assert.Throws<ArgumentException>(() => model.Fit(Column(1), Column(0), verbose: 0, callbacks: [new LearningRateScheduler((_, _) => -1)]));
        Assert.Throws<ArgumentException>(() => model.Fit(Column(1), Column(0), verbose: 0, callbacks: [new LearningRateScheduler((_, _) => double.NaN)]));
        using var scheduled = Linear(new CosineDecay(0.1, 100));
        Assert.Throws<InvalidOperationException>(() => scheduled.Fit(Column(1), Column(0), verbose: 0, callbacks: [new LearningRateScheduler((_, lr) => lr)]));
    }
}
