using OnnxKeras.Callbacks;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// The callback protocol of Keras's fit (keras/src/backend/torch/trainer.py): on_train_begin; per epoch
/// on_epoch_begin, per batch on_train_batch_begin/end (batch numbers from 0 in each epoch, logs the running means of
/// the epoch), validation through on_test_* on the same callbacks, then on_epoch_end; on_train_end. Setting
/// model.stop_training ends the batch loop, still runs the epoch's end, and ends training.
/// </summary>
public class CallbackHookTests
{
    /// <summary>Dense(1) without bias: with x = 0 the prediction is 0 and the gradient is 0, so losses are mean(y^2).</summary>
    private static Sequential ZeroModel()
    {
        var m = new Sequential(new InputLayer([1]), new Dense(1, useBias: false, kernelInitializer: new Ones()));
        m.Compile(new SGD(0.1), "mse");
        return m;
    }

    private static float[,] Column(params float[] v)
    {
        var a = new float[v.Length, 1];
        for (int i = 0; i < v.Length; i++) a[i, 0] = v[i];
        return a;
    }

    private sealed class Recorder : Callback
    {
        public List<string> Events { get; } = [];
        public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => Events.Add("train_begin");
        public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => Events.Add("train_end");
        public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs) => Events.Add($"epoch_begin {epoch}");
        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => Events.Add($"epoch_end {epoch}");
        public override void OnTrainBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => Events.Add($"batch_begin {batch}");
        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Events.Add($"batch_end {batch}");
        public override void OnTestBegin(IReadOnlyDictionary<string, double> logs) => Events.Add("test_begin");
        public override void OnTestEnd(IReadOnlyDictionary<string, double> logs) => Events.Add("test_end");
        public override void OnTestBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => Events.Add($"test_batch_begin {batch}");
        public override void OnTestBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Events.Add($"test_batch_end {batch}");
    }

    [Fact]
    public void Hooks_AreCalledInKerasOrder_WithEpochAndBatchNumbers()
    {
        using var model = ZeroModel();
        var recorder = new Recorder();
        var x = Column(new float[10]);
        var y = Column(new float[10]);
        // 10 samples in batches of 4: 3 batches per epoch; 3 validation samples in one batch of 4.
        model.Fit(x, y, batchSize: 4, epochs: 2, verbose: 0, shuffle: false, validationData: (Column(0, 0, 0), Column(1, 2, 3)), callbacks: [recorder]);

        var expected = new List<string> { "train_begin" };
        for (int e = 0; e < 2; e++)
        {
            expected.Add($"epoch_begin {e}");
            for (int b = 0; b < 3; b++) expected.AddRange([$"batch_begin {b}", $"batch_end {b}"]);
            expected.AddRange(["test_begin", "test_batch_begin 0", "test_batch_end 0", "test_end", $"epoch_end {e}"]);
        }
        expected.Add("train_end");
        Assert.Equal(expected, recorder.Events);
    }

    [Fact]
    public void LambdaCallback_ReceivesEpochAndBatchNumbers_AndRunningLogs()
    {
        using var model = ZeroModel();
        var events = new List<string>();
        var batchLoss = new List<double>();
        var epochLoss = new List<double>();
        var cb = new LambdaCallback(
            onTrainBegin: _ => events.Add("train_begin"),
            onEpochBegin: (e, _) => events.Add($"epoch_begin {e}"),
            onTrainBatchBegin: (b, _) => events.Add($"batch_begin {b}"),
            onTrainBatchEnd: (b, logs) => { events.Add($"batch_end {b}"); batchLoss.Add(logs["loss"]); },
            onEpochEnd: (e, logs) => { events.Add($"epoch_end {e}"); epochLoss.Add(logs["loss"]); },
            onTrainEnd: _ => events.Add("train_end"));
        // x = 0: batch losses mean(y^2) = 1, 4, 9 for y = 1 (x4), 2 (x4), 3 (x2). Running means weighted by batch size:
        // 1; (4*1 + 4*4) / 8 = 2.5; (4 + 16 + 2*9) / 10 = 3.8.
        var y = Column(1, 1, 1, 1, 2, 2, 2, 2, 3, 3);
        model.Fit(Column(new float[10]), y, batchSize: 4, epochs: 3, initialEpoch: 1, shuffle: false, verbose: 0, callbacks: [cb]);

        var expected = new List<string> { "train_begin" };
        for (int e = 1; e < 3; e++)
        {
            expected.Add($"epoch_begin {e}");
            for (int b = 0; b < 3; b++) expected.AddRange([$"batch_begin {b}", $"batch_end {b}"]);
            expected.Add($"epoch_end {e}");
        }
        expected.Add("train_end");
        Assert.Equal(expected, events);
        Assert.Equal(new[] { 1.0, 2.5, 3.8, 1.0, 2.5, 3.8 }, batchLoss.Select(v => Math.Round(v, 5)));
        Assert.Equal(new[] { 3.8, 3.8 }, epochLoss.Select(v => Math.Round(v, 5)));
    }

    [Fact]
    public void TerminateOnNaN_StopsAtTheBatchWhoseLossIsNaN_AndSaysSo()
    {
        using var model = ZeroModel();
        var output = new StringWriter();
        var terminate = new TerminateOnNaN(output);
        int batches = 0;
        var counter = new LambdaCallback(onTrainBatchEnd: (_, _) => batches++);
        // Batches of 2 without shuffling: sample 3 (NaN) is in batch 1.
        var x = Column(1, 1, 1, float.NaN, 1, 1);
        var h = model.Fit(x, Column(1, 1, 1, 1, 1, 1), batchSize: 2, epochs: 5, shuffle: false, verbose: 0, callbacks: [terminate, counter]);
        Assert.Equal(1, terminate.StoppedAtBatch);
        Assert.Equal(2, batches);
        Assert.Single(h["loss"]); // the epoch still ends (and is recorded), then training stops
        Assert.True(double.IsNaN(h["loss"][0]));
        Assert.Equal("Batch 1: Invalid loss, terminating training", output.ToString().Trim());
    }

    [Fact]
    public void TerminateOnNaN_FiniteLosses_DoNotStop()
    {
        using var model = ZeroModel();
        var output = new StringWriter();
        var terminate = new TerminateOnNaN(output);
        var h = model.Fit(Column(0, 0, 0, 0), Column(1, 2, 3, 4), batchSize: 2, epochs: 3, verbose: 0, callbacks: [terminate]);
        Assert.Equal(3, h["loss"].Count);
        Assert.Null(terminate.StoppedAtBatch);
        Assert.Equal("", output.ToString());
    }

    private sealed class StopAt(int? epoch = null, int? batch = null) : Callback
    {
        public override void OnEpochEnd(int e, IReadOnlyDictionary<string, double> logs)
        {
            if (e == epoch) Model!.StopTraining = true;
        }

        public override void OnTrainBatchEnd(int b, IReadOnlyDictionary<string, double> logs)
        {
            if (b == batch) Model!.StopTraining = true;
        }
    }

    [Fact]
    public void StopTraining_AtAnEpochEnd_EndsTrainingAfterThatEpoch()
    {
        using var model = ZeroModel();
        var h = model.Fit(Column(0, 0, 0, 0), Column(1, 2, 3, 4), batchSize: 2, epochs: 10, verbose: 0, callbacks: [new StopAt(epoch: 1)]);
        Assert.Equal(new[] { 0, 1 }, h.Epoch);
        Assert.True(model.StopTraining);
        // The next Fit starts with StopTraining cleared.
        var again = model.Fit(Column(0, 0, 0, 0), Column(1, 2, 3, 4), batchSize: 2, epochs: 3, verbose: 0);
        Assert.Equal(3, again.Epoch.Count);
    }

    [Fact]
    public void StopTraining_AtABatch_EndsTheEpochThere()
    {
        using var model = ZeroModel();
        int batches = 0;
        var counter = new LambdaCallback(onTrainBatchEnd: (_, _) => batches++);
        // 6 samples in batches of 2 (3 per epoch); stopping after batch 1 leaves batch 2 unread.
        var h = model.Fit(Column(0, 0, 0, 0, 0, 0), Column(1, 1, 2, 2, 3, 3), batchSize: 2, epochs: 10, shuffle: false, verbose: 0,
            callbacks: [new StopAt(batch: 1), counter]);
        Assert.Equal(2, batches);
        Assert.Equal(new[] { 0 }, h.Epoch);
        Assert.Equal((2 * 1 + 2 * 4) / 4.0, h["loss"][0], 5); // mean over the two batches read
    }
}
