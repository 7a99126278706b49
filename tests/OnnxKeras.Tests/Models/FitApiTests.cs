using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Models;

/// <summary>
/// Fit / Evaluate / Predict with Keras 3's semantics (keras/src/trainers/trainer.py, epoch_iterator.py,
/// data_adapters): tiny linear models with constant weights so every number is computable by hand.
/// </summary>
public class FitApiTests
{
    /// <summary>y = x @ kernel (+ bias), kernel filled with <paramref name="kernel"/>, bias zero.</summary>
    private static Sequential Linear(int inputs, int units, double kernel = 1.0, bool useBias = true) =>
        new(new InputLayer([inputs]), new Dense(units, useBias: useBias, kernelInitializer: new Constant(kernel)));

    private static Tensor Column(params float[] values) => tensor(values, [values.Length, 1]);

    /// <summary>x = 0, 1, ..., n-1 as a column, y = 0: batches are recognizable by their first x.</summary>
    private static (Tensor X, Tensor Y) Counting(int n) => (arange(n, dtype: ScalarType.Float32).reshape(n, 1), zeros([n, 1]));

    // ------------------------------------------------------------------ datasets and steps

    [Fact]
    public void Fit_InfiniteDatasetWithStepsPerEpoch_ReadsOnAcrossEpochs()
    {
        var (x, y) = Counting(10);
        var firsts = new List<float>();
        var ds = Dataset.FromTensorSlices(x, y).Batch(2).Repeat().Map((a, b) => { firsts.Add(a[0, 0].item<float>()); return (a, b); });
        using var model = Linear(1, 1, 0.0);
        model.Compile(new SGD(0.001), "mse");
        var h = model.Fit(ds, epochs: 3, stepsPerEpoch: 3, verbose: 0);
        // Keras keeps one iterator over an infinite dataset when steps_per_epoch is given: the second epoch goes on
        // with the fourth batch (x = 6), not from the start.
        Assert.Equal(new float[] { 0, 2, 4, 6, 8, 0, 2, 4, 6 }, firsts);
        Assert.Equal(3, h["loss"].Count);

        // Callbacks are told the number of steps of an epoch.
        var probe = new ParamsProbe();
        firsts.Clear();
        model.Fit(ds, epochs: 1, stepsPerEpoch: 4, verbose: 0, callbacks: [probe]);
        Assert.Equal(4L, probe.Steps);
        Assert.Equal(4, firsts.Count);
    }

    private sealed class ParamsProbe : Callback
    {
        public object? Steps { get; private set; }
        public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => Steps = Params["steps"];
    }

    [Fact]
    public void Fit_FiniteDatasetWithoutSteps_ReadsEveryBatchEachEpoch()
    {
        var (x, y) = Counting(10);
        var firsts = new List<float>();
        var ds = Dataset.FromTensorSlices(x, y).Batch(2).Map((a, b) => { firsts.Add(a[0, 0].item<float>()); return (a, b); });
        using var model = Linear(1, 1, 0.0);
        model.Compile(new SGD(0.001), "mse");
        var h = model.Fit(ds, epochs: 2, verbose: 0);
        Assert.Equal(new float[] { 0, 2, 4, 6, 8, 0, 2, 4, 6, 8 }, firsts);
        Assert.Equal(2, h["loss"].Count);
    }

    [Fact]
    public void Fit_FiniteDatasetWithStepsPerEpoch_ContinuesAndRestartsWhenExhausted()
    {
        // Keras 3 (epoch_iterator.py): with steps_per_epoch one iterator is kept across epochs; when it has produced
        // all num_batches batches the epoch is cut short with a warning ("Your input ran out of data") and the next
        // epoch starts a fresh iterator. Training goes on for all the epochs.
        var (x, y) = Counting(10); // 5 batches: first x = 0, 2, 4, 6, 8
        var firsts = new List<float>();
        var ds = Dataset.FromTensorSlices(x, y).Batch(2).Map((a, b) => { firsts.Add(a[0, 0].item<float>()); return (a, b); });
        using var model = Linear(1, 1, 0.0);
        model.Compile(new SGD(0.001), "mse");
        var batchesPerEpoch = new List<int>();
        int count = 0;
        var counter = new LambdaCallback(onEpochBegin: (_, _) => count = 0, onTrainBatchEnd: (_, _) => count++, onEpochEnd: (_, _) => batchesPerEpoch.Add(count));
        var stderr = Console.Error;
        var captured = new StringWriter();
        History h;
        try
        {
            Console.SetError(captured);
            h = model.Fit(ds, epochs: 4, stepsPerEpoch: 3, verbose: 0, callbacks: [counter]);
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.Equal(new float[] { 0, 2, 4, 6, 8, 0, 2, 4, 6, 8 }, firsts);
        Assert.Equal(new[] { 3, 2, 3, 2 }, batchesPerEpoch);
        Assert.Equal(new[] { 0, 1, 2, 3 }, h.Epoch);
        Assert.Contains("ran out of data", captured.ToString());
    }

    [Fact]
    public void Fit_FiniteDatasetWithStepsPerEpoch_ExactMultiple_RestartsSilently()
    {
        var (x, y) = Counting(12); // 6 batches
        var firsts = new List<float>();
        var ds = Dataset.FromTensorSlices(x, y).Batch(2).Map((a, b) => { firsts.Add(a[0, 0].item<float>()); return (a, b); });
        using var model = Linear(1, 1, 0.0);
        model.Compile(new SGD(0.001), "mse");
        var stderr = Console.Error;
        var captured = new StringWriter();
        History h;
        try
        {
            Console.SetError(captured);
            h = model.Fit(ds, epochs: 4, stepsPerEpoch: 3, verbose: 0);
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.Equal(new float[] { 0, 2, 4, 6, 8, 10, 0, 2, 4, 6, 8, 10 }, firsts);
        Assert.Equal(4, h["loss"].Count);
        Assert.Equal("", captured.ToString());
    }

    [Fact]
    public async Task Fit_InfiniteDatasetWithoutStepsPerEpoch_ThrowsAtOnce()
    {
        var (x, y) = Counting(10);
        using var model = Linear(1, 1);
        model.Compile(new SGD(0.01), "mse");
        var infinite = Dataset.FromTensorSlices(x, y).Batch(2).Repeat();
        var mapped = Dataset.FromTensorSlices(x, y).Repeat().Map(e => e).Batch(2); // cardinality propagates through Map
        // Guarded: a missing check would train forever instead of throwing.
        var e1 = await Task.Run(() => Assert.Throws<ArgumentException>(() => model.Fit(infinite, epochs: 1, verbose: 0))).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("stepsPerEpoch", e1.Message);
        await Task.Run(() => Assert.Throws<ArgumentException>(() => model.Fit(mapped, epochs: 1, verbose: 0))).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Fit_UnbatchedDataset_Throws()
    {
        var (x, y) = Counting(4);
        using var model = Linear(1, 1);
        model.Compile(new SGD(0.01), "mse");
        var e = Assert.Throws<ArgumentException>(() => model.Fit(Dataset.FromTensorSlices(x, y), verbose: 0));
        Assert.Contains("Batch", e.Message);
    }

    // ------------------------------------------------------------------ validation

    [Fact]
    public void Fit_ValidationDatasetWithValidationSteps_EvaluatesThatManyBatchesFromTheStartEachEpoch()
    {
        // Validation inputs are 0 and the model has no bias, so predictions are 0 whatever training does:
        // val_loss = mean(y^2) over the batches read. Two batches of (1, 2), (3, 4): (1 + 4 + 9 + 16) / 4 = 7.5.
        // Keras resets the cached validation iterator at each evaluate, so every epoch reads the same two batches.
        int valBatches = 0;
        var val = Dataset.FromTensorSlices(zeros([6, 1]), Column(1, 2, 3, 4, 100, 100)).Batch(2).Repeat()
            .Map((a, b) => { valBatches++; return (a, b); });
        using var model = Linear(1, 1, 0.5, useBias: false);
        model.Compile(new SGD(0.01), "mse");
        var h = model.Fit(Column(1, 2, 3, 4), Column(1, 1, 1, 1), batchSize: 2, epochs: 3, verbose: 0,
            validationData: val, validationSteps: 2);
        Assert.Equal(new[] { 7.5, 7.5, 7.5 }, h["val_loss"].Select(v => Math.Round(v, 5)));
        Assert.Equal(6, valBatches);
    }

    [Fact]
    public void Fit_InfiniteValidationWithoutValidationSteps_Throws()
    {
        using var model = Linear(1, 1);
        model.Compile(new SGD(0.01), "mse");
        var val = Dataset.FromTensorSlices(zeros([4, 1]), zeros([4, 1])).Batch(2).Repeat();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(Column(1, 2), Column(1, 2), epochs: 1, verbose: 0, validationData: val));
        Assert.Contains("validationSteps", e.Message);
    }

    [Fact]
    public void Fit_ValidationSplit_HoldsOutTheLastFraction()
    {
        // Rows 0-7: x = 1, y = 1 (kernel 1, no bias: prediction 1, zero loss, zero gradient).
        // Rows 8-9: x = 0, y = 10 (prediction 0 whatever the kernel: loss 100).
        // Keras splits before shuffling and validates on the LAST 20%: loss 0, val_loss 100 and 3 batches of 3/3/2.
        var x = Column(1, 1, 1, 1, 1, 1, 1, 1, 0, 0);
        var y = Column(1, 1, 1, 1, 1, 1, 1, 1, 10, 10);
        using var model = Linear(1, 1, 1.0, useBias: false);
        model.Compile(new SGD(0.1), "mse");
        var batches = new List<long>();
        var probe = new BatchProbe(batches);
        var h = model.Fit(x, y, batchSize: 3, epochs: 2, verbose: 0, validationSplit: 0.2, callbacks: [probe]);
        Assert.Equal(new[] { 0.0, 0.0 }, h["loss"]);
        Assert.Equal(new[] { 100.0, 100.0 }, h["val_loss"]);
        Assert.Equal(6, batches.Count); // 3 training batches per epoch: 8 samples, not 10
        Assert.Equal(1f, model.GetWeights()[0].Data[0]);
    }

    private sealed class BatchProbe(List<long> batches) : Callback
    {
        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => batches.Add(batch);
    }

    [Fact]
    public void Fit_ValidationSplit_FloorsTheTrainingCount()
    {
        // Keras: split_at = floor(n (1 - split)) = floor(10 * 0.75) = 7, so row 7 (loss 9 if trained on) is validation.
        var x = Column(1, 1, 1, 1, 1, 1, 1, 0, 0, 0);
        var y = Column(1, 1, 1, 1, 1, 1, 1, 3, 3, 3);
        using var model = Linear(1, 1, 1.0, useBias: false);
        model.Compile(new SGD(0.1), "mse");
        var h = model.Fit(x, y, batchSize: 10, epochs: 1, verbose: 0, validationSplit: 0.25);
        Assert.Equal(0.0, h["loss"][0]);
        Assert.Equal(9.0, h["val_loss"][0], 6);
    }

    [Fact]
    public void Fit_ValidationSplitAndValidationData_Throws()
    {
        using var model = Linear(1, 1);
        model.Compile(new SGD(0.01), "mse");
        Assert.Throws<ArgumentException>(() => model.Fit(Column(1, 2, 3, 4), Column(1, 2, 3, 4), verbose: 0, validationSplit: 0.5,
            validationData: (new float[,] { { 1 } }, new float[,] { { 1 } })));
        Assert.Throws<ArgumentException>(() => model.Fit(Column(1, 2, 3, 4), Column(1, 2, 3, 4), verbose: 0, validationSplit: 1.0));
        // floor(2 * 0.4) = 0 training samples.
        Assert.Throws<ArgumentException>(() => model.Fit(Column(1, 2), Column(1, 2), verbose: 0, validationSplit: 0.6));
    }

    [Fact]
    public void Fit_ValidationFreq_ValidatesEveryNthEpoch()
    {
        using var model = Linear(1, 1);
        model.Compile(new SGD(0.01), "mse");
        var h = model.Fit(Column(1, 2), Column(1, 2), epochs: 4, verbose: 0, validationData: (new float[,] { { 1 } }, new float[,] { { 3 } }), validationFreq: 2);
        Assert.Equal(4, h["loss"].Count);
        Assert.Equal(2, h["val_loss"].Count); // after epochs 2 and 4 ((epoch + 1) % 2 == 0)
    }

    // ------------------------------------------------------------------ History and epochs

    [Fact]
    public void History_HasLossMetricsAndTheirValidationCounterparts()
    {
        using var model = Linear(2, 1);
        model.Compile(new SGD(0.01), "mse", ["mae"]);
        var x = new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } };
        var y = new float[,] { { 1 }, { 2 }, { 3 } };
        var h = model.Fit(x, y, epochs: 2, verbose: 0, validationData: (x, y));
        Assert.Equal(new[] { "loss", "mae", "val_loss", "val_mae" }, h.HistoryData.Keys.Order(StringComparer.Ordinal));
        Assert.All(h.HistoryData.Values, v => Assert.Equal(2, v.Count));
        Assert.Equal(new[] { 0, 1 }, h.Epoch);

        using var classifier = new Sequential(new InputLayer([2]), new Dense(3, activation: "softmax"));
        classifier.Compile("adam", "sparse_categorical_crossentropy", ["accuracy"]);
        var hc = classifier.Fit(x, new[] { 0, 1, 2 }, epochs: 1, verbose: 0, validationSplit: 1.0 / 3);
        Assert.Equal(new[] { "accuracy", "loss", "val_accuracy", "val_loss" }, hc.HistoryData.Keys.Order(StringComparer.Ordinal));
        var missing = Assert.Throws<KeyNotFoundException>(() => hc["val_mae"]);
        Assert.Contains("val_accuracy", missing.Message);
    }

    [Fact]
    public void Fit_InitialEpoch_RunsTheRemainingEpochsWithTheirNumbers()
    {
        using var model = Linear(1, 1);
        model.Compile(new SGD(0.01), "mse");
        var begun = new List<int>();
        var h = model.Fit(Column(1, 2), Column(1, 2), epochs: 5, initialEpoch: 3, verbose: 0,
            callbacks: [new LambdaCallback(onEpochBegin: (e, _) => begun.Add(e))]);
        Assert.Equal(new[] { 3, 4 }, begun);
        Assert.Equal(new[] { 3, 4 }, h.Epoch);
        Assert.Equal(2, h["loss"].Count);
        var none = model.Fit(Column(1, 2), Column(1, 2), epochs: 2, initialEpoch: 2, verbose: 0);
        Assert.Empty(none.Epoch);
    }

    [Fact]
    public void Fit_LossOfAnEpoch_IsTheSampleWeightedMeanOfBatchLosses_BeforeEachUpdate()
    {
        // Kernel 1, no bias; one sample per batch, x = 1, y = 0: loss w^2, gradient 2w, w <- w (1 - 2 lr).
        // lr = 0.25: w = 1 then 0.5, so the batch losses are 1 and 0.25 and the final kernel 0.25.
        using var model = Linear(1, 1, 1.0, useBias: false);
        model.Compile(new SGD(0.25), "mse");
        var h = model.Fit(Column(1, 1), Column(0, 0), batchSize: 1, epochs: 1, shuffle: false, verbose: 0);
        Assert.Equal((1.0 + 0.25) / 2, h["loss"][0], 6);
        Assert.Equal(0.25f, model.GetWeights()[0].Data[0], 6);
    }

    // ------------------------------------------------------------------ Evaluate

    [Fact]
    public void Evaluate_AveragesOverBatches_AndWeightsLossAndMetricsAsKeras()
    {
        // kernel 1, bias 0: predictions 3 and 7 for y 2 and 4; errors 1 and 3.
        using var model = Linear(2, 1);
        model.Compile(new SGD(0.01), "mse", ["mae"]);
        var x = new float[,] { { 1, 2 }, { 3, 4 } };
        var y = new float[,] { { 2 }, { 4 } };
        var r = model.Evaluate(x, y, batchSize: 1);
        Assert.Equal(5.0, r["loss"], 6);  // (1 + 9) / 2
        Assert.Equal(2.0, r["mae"], 6);   // (1 + 3) / 2
        // Sample weights (1, 0.5): the loss divides by the number of samples (sum_over_batch_size).
        // Keras 3: `metrics` ignore sample weights, `weighted_metrics` divide by the sum of weights.
        var w = model.Evaluate(x, y, batchSize: 1, sampleWeight: new float[] { 1, 0.5f });
        Assert.Equal((1 * 1 + 0.5 * 9) / 2, w["loss"], 6);
        Assert.Equal((1 + 3) / 2.0, w["mae"], 6);
        model.Compile(new SGD(0.01), "mse", weightedMetrics: ["mae"]);
        var weighted = model.Evaluate(x, y, batchSize: 1, sampleWeight: new float[] { 1, 0.5f });
        Assert.Equal((1 * 1 + 0.5 * 3) / 1.5, weighted["mae"], 6);
    }

    [Fact]
    public void Evaluate_InfiniteDataset_NeedsSteps_AndReadsThatMany()
    {
        using var model = Linear(1, 1, 1.0, useBias: false);
        model.Compile(new SGD(0.01), "mse");
        // x = 0 so predictions are 0; y = 1, 2, 3: steps 2 of batch 1 read y = 1, 2 -> (1 + 4) / 2.
        var ds = Dataset.FromTensorSlices(zeros([3, 1]), Column(1, 2, 3)).Batch(1).Repeat();
        Assert.Throws<ArgumentException>(() => model.Evaluate(ds));
        Assert.Equal(2.5, model.Evaluate(ds, steps: 2)["loss"], 6);
    }

    // ------------------------------------------------------------------ Predict

    [Fact]
    public void Predict_OnArrays_ReturnsOneRowPerSample_HandComputed()
    {
        using var model = Linear(2, 2);
        // kernel [[1, 2], [3, 4]] (Keras layout [in, out]), bias [10, 20]: row (a, b) -> (a + 3b + 10, 2a + 4b + 20).
        model.SetWeights([new NDArray([1, 2, 3, 4], 2, 2), new NDArray([10, 20], 2)]);
        var x = new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } };
        var p = model.Predict(x, batchSize: 2); // two batches, concatenated
        Assert.Equal(new long[] { 3, 2 }, p.Shape);
        Assert.Equal(new float[] { 17, 30, 25, 42, 33, 54 }, p.Data);
        Assert.Equal(new float[] { 17, 30, 25, 42, 33, 54 }, model.PredictOnBatch(x).Data);
    }

    [Fact]
    public void Predict_OnDatasets_IgnoresLabels_AndNeedsStepsWhenInfinite()
    {
        using var model = Linear(2, 1, 0.5);
        // kernel 0.5, bias 0: prediction (a + b) / 2.
        var x = tensor(new float[] { 1, 3, 2, 6, 10, 20 }, [3, 2]);
        var ds = Dataset.FromTensorSlices(x, zeros([3, 1])).Batch(2);
        var p = model.Predict(ds);
        Assert.Equal(new long[] { 3, 1 }, p.Shape);
        Assert.Equal(new float[] { 2, 4, 15 }, p.Data);
        var xOnly = Dataset.FromTensorSlices(x).Batch(3);
        Assert.Equal(new float[] { 2, 4, 15 }, model.Predict(xOnly).Data);
        var forever = Dataset.FromTensorSlices(x).Batch(2).Repeat();
        Assert.Throws<ArgumentException>(() => model.Predict(forever));
        var three = model.Predict(forever, steps: 3); // batches of 2, 1, 2 rows
        Assert.Equal(new float[] { 2, 4, 15, 2, 4 }, three.Data);
        Assert.Throws<ArgumentException>(() => model.Predict(Dataset.FromTensorSlices(x)));
    }

    [Fact]
    public void Predict_OnTensor_ReturnsACpuTensor()
    {
        using var model = Linear(2, 1, 1.0);
        using var x = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var p = model.Predict(x);
        Assert.Equal(new long[] { 2, 1 }, p.shape);
        Assert.Equal(new float[] { 3, 7 }, p.data<float>().ToArray());
    }

    [Fact]
    public void Fit_FrozenModel_ComputesTheLossWithoutUpdating()
    {
        // Keras warns "The model does not have any trainable weights." and still reports the loss.
        using var model = Linear(1, 1, 1.0, useBias: false);
        model.Trainable = false;
        model.Compile(new SGD(0.1), "mse");
        var stderr = Console.Error;
        var captured = new StringWriter();
        History h;
        try
        {
            Console.SetError(captured);
            h = model.Fit(Column(1, 1), Column(3, 3), epochs: 2, verbose: 0);
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.Equal(new[] { 4.0, 4.0 }, h["loss"]); // (1 - 3)^2, the kernel stays 1
        Assert.Equal(1f, model.GetWeights()[0].Data[0]);
        Assert.Contains("trainable weights", captured.ToString());
    }
}
