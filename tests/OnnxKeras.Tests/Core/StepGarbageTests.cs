using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Core;

/// <summary>
/// The collections Fit, Evaluate, Predict and TrainOnBatch force between steps (docs/training.md, "Memory between collections"): the
/// schedule's rule with hand-picked durations, and that each loop asks for them unless <see cref="Keras.CollectStepGarbage"/>
/// is off. Counts, not timings: <see cref="StepGarbage.Restart"/> makes the first step due whatever the clock says.
/// </summary>
public class StepGarbageTests
{
    [Theory]
    [InlineData(0, 0, true)]               // nothing measured yet: the first step collects
    [InlineData(149_999, 500, false)]      // a 500-tick collection waits for 300 x 500 = 150,000 ticks
    [InlineData(150_000, 500, true)]
    [InlineData(1_000_000, 500, true)]
    [InlineData(299, 1, false)]
    [InlineData(300, 1, true)]
    public void Due_AfterThreeHundredTimesTheLastCollection(long sinceLast, long lastCost, bool expected) =>
        Assert.Equal(expected, StepGarbage.Due(sinceLast, lastCost));

    [Fact]
    public void AfterStep_LeavesTheApplicationsNoGcRegionAlone()
    {
        Assert.True(GC.TryStartNoGCRegion(1_000_000), "could not start a no-GC region");
        try
        {
            StepGarbage.Restart(); // due
            long before = StepGarbage.Collections;
            StepGarbage.AfterStep();
            Assert.Equal(before, StepGarbage.Collections);
            Assert.Equal(System.Runtime.GCLatencyMode.NoGCRegion, System.Runtime.GCSettings.LatencyMode);
        }
        finally
        {
            if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
    }

    private static (Sequential Model, float[,] X, float[,] Y) Tiny()
    {
        var model = new Sequential(new InputLayer([3]), new Dense(2));
        model.Compile(optimizer: new OnnxKeras.Optimizers.SGD(0.01), loss: "mse");
        var x = new float[8, 3];
        var y = new float[8, 2];
        for (int i = 0; i < 8; i++)
        {
            for (int j = 0; j < 3; j++) x[i, j] = i + j;
            y[i, i % 2] = 1;
        }
        return (model, x, y);
    }

    public static TheoryData<string> Loops => ["fit", "evaluate", "predict", "train_on_batch"];

    private static void RunLoop(string loop)
    {
        var (model, x, y) = Tiny();
        using (model)
        {
            switch (loop)
            {
                case "fit": model.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0); break;
                case "evaluate": model.Evaluate(x, y, batchSize: 4); break;
                case "train_on_batch": model.TrainOnBatch(x, y); break;
                default: model.Predict(x, batchSize: 4); break;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void Loop_CollectsWhenDue(string loop)
    {
        RunLoop(loop); // build and warm up outside the count
        StepGarbage.Restart();
        long before = StepGarbage.Collections;
        RunLoop(loop);
        Assert.True(StepGarbage.Collections > before, $"{loop} forced no collection although the first step was due");
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void Loop_LeavesCollectionsToTheRuntime_WhenSwitchedOff(string loop)
    {
        RunLoop(loop);
        Keras.CollectStepGarbage = false;
        try
        {
            StepGarbage.Restart();
            long before = StepGarbage.Collections;
            RunLoop(loop);
            Assert.Equal(before, StepGarbage.Collections);
        }
        finally
        {
            Keras.CollectStepGarbage = true;
        }
    }
}
