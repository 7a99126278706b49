using OnnxKeras.Callbacks;
using OnnxKeras.Layers;
using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Saving;
using Xunit;
using static OnnxKeras.Tests.Numeric;
using static OnnxKeras.Tests.Optimizers.OptimizerTestHelpers;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Models;

/// <summary>The guide's first example: the compiled loss and metrics, and a <see cref="Mean"/> loss tracker of its own.</summary>
internal sealed class CompiledLossStepModel(KTensor inputs, KTensor outputs) : Model(inputs, outputs)
{
    private readonly Mean lossTracker = new("loss");

    public int Steps { get; private set; }

    public override IReadOnlyList<Metric> Metrics => [lossTracker, .. base.Metrics];

    public override Dictionary<string, double> TrainStep(StepData data)
    {
        Steps++;
        var (x, y, sampleWeight) = data;
        var yPred = Apply(x, training: true);
        var loss = ComputeLoss(x, y, yPred, sampleWeight);
        Optimizer.ApplyGradients(Gradients.Of(loss, TrainableWeights).Zip(TrainableWeights));
        // Weighted by the batch size, as Keras's own loss tracker.
        lossTracker.UpdateState(loss, data.BatchSize);
        return ComputeMetrics(x, y!, yPred, sampleWeight);
    }
}

/// <summary>The guide's "going lower-level" example: compiled with an optimizer only; its own loss function and metrics.</summary>
internal sealed class ManualMseModel(KTensor inputs, KTensor outputs) : Model(inputs, outputs)
{
    private readonly Mean lossTracker = new("loss");
    private readonly MeanMetricWrapper maeMetric = new("mae", new MeanAbsoluteError().Call);
    private readonly MeanSquaredError lossFn = new();

    public override IReadOnlyList<Metric> Metrics => [lossTracker, maeMetric];

    public override Dictionary<string, double> TrainStep(StepData data)
    {
        var (x, y) = data;
        var yPred = Apply(x, training: true);
        var loss = lossFn.Compute(y!, yPred).Value;
        Optimizer.Apply(Gradients.Of(loss, TrainableWeights), TrainableWeights);
        lossTracker.UpdateState(loss);
        maeMetric.UpdateState(y!, yPred);
        return new() { ["loss"] = lossTracker.Result(), ["mae"] = maeMetric.Result() };
    }
}

/// <summary>The guide's evaluation step: loss and metrics, no update; records whether gradients were on.</summary>
internal sealed class CustomTestStepModel(KTensor inputs, KTensor outputs) : Model(inputs, outputs)
{
    private readonly Mean lossTracker = new("loss");

    public List<bool> GradEnabled { get; } = [];

    public override IReadOnlyList<Metric> Metrics => [lossTracker, .. base.Metrics];

    public override Dictionary<string, double> TestStep(StepData data)
    {
        GradEnabled.Add(is_grad_enabled());
        var (x, y, _) = data;
        var yPred = Apply(x);
        var loss = ComputeLoss(x, y, yPred);
        lossTracker.UpdateState(loss, tensor((double)data.BatchSize));
        return ComputeMetrics(x, y!, yPred);
    }

    public override IReadOnlyList<KTensor> PredictStep(StepData data) => [Ops.Multiply(Apply(data.X), 2.0)];
}

/// <summary>Records what the step received (class weights arrive folded into the sample weights, as in Keras).</summary>
internal sealed class RecordingStepModel(KTensor inputs, KTensor outputs) : Model(inputs, outputs)
{
    public List<float[]?> SeenWeights { get; } = [];

    public override Dictionary<string, double> TrainStep(StepData data)
    {
        SeenWeights.Add(data.SampleWeight is { } w ? w.cpu().data<float>().ToArray() : null);
        return base.TrainStep(data);
    }
}

internal sealed class BatchLogRecorder : Callback
{
    public List<IReadOnlyDictionary<string, double>> Logs { get; } = [];

    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Logs.Add(logs);
}

/// <summary>Keras's guide "Customizing what happens in fit()" (torch backend), ported.</summary>
public class CustomTrainStepTests
{
    private static (float[,] X, float[,] Y) Regression(int n, int d, int seed)
    {
        var r = new Random(seed);
        var x = new float[n, d];
        var y = new float[n, 1];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++) x[i, j] = (float)(r.NextDouble() * 2 - 1);
            y[i, 0] = (float)r.NextDouble();
        }
        return (x, y);
    }

    private static (KTensor Input, KTensor Output) DenseGraph(int features, long seed)
    {
        Keras.SetRandomSeed(seed);
        var input = Keras.Input([features]);
        return (input, new Dense(1).Apply(input));
    }

    [Fact]
    public void LowerLevelStepMatchesAHandComputedSgdRunAndResetsItsMetricsEachEpoch()
    {
        var (x, y) = Regression(8, 3, 1);
        var (input, output) = DenseGraph(3, 4);
        using var model = new ManualMseModel(input, output);
        model.Compile(optimizer: new SGD(0.1)); // no loss: the step computes its own
        var w = model.TrainableWeights[0].ToArray().Select(v => (double)v).ToArray();
        double b = model.TrainableWeights[1].ToArray()[0];
        var recorder = new BatchLogRecorder();
        var history = model.Fit(x, y, batchSize: 4, epochs: 2, verbose: 0, shuffle: false, callbacks: [recorder]);

        // Independent computation: y' = x.w + b, loss = mean((y' - y)^2), dL/dw = 2/B sum(e x), w -= 0.1 dL/dw, per batch of 4.
        var lossPerEpoch = new double[2];
        var maePerEpoch = new double[2];
        for (int epoch = 0; epoch < 2; epoch++)
        {
            double lossSum = 0, absSum = 0;
            for (int start = 0; start < 8; start += 4)
            {
                var gw = new double[3];
                double gb = 0, sq = 0;
                for (int i = start; i < start + 4; i++)
                {
                    double e = b + Enumerable.Range(0, 3).Sum(j => x[i, j] * w[j]) - y[i, 0];
                    sq += e * e;
                    absSum += Math.Abs(e);
                    for (int j = 0; j < 3; j++) gw[j] += 2 * e * x[i, j] / 4;
                    gb += 2 * e / 4;
                }
                lossSum += sq / 4;
                for (int j = 0; j < 3; j++) w[j] -= 0.1 * gw[j];
                b -= 0.1 * gb;
            }
            lossPerEpoch[epoch] = lossSum / 2; // Mean of the two batch losses (unweighted, as the guide's tracker)
            maePerEpoch[epoch] = absSum / 8;
        }
        AllClose(lossPerEpoch, [.. history["loss"]], rtol: 1e-5, atol: 1e-7);
        AllClose(maePerEpoch, [.. history["mae"]], rtol: 1e-5, atol: 1e-7);
        AllClose(w, model.TrainableWeights[0].ToArray(), rtol: 1e-5, atol: 1e-6);
        AllClose(b, model.TrainableWeights[1].ToArray()[0], rtol: 1e-5, atol: 1e-6);
        Assert.Equal(["loss", "mae"], history.HistoryData.Keys.Order());
        Assert.Equal(4, recorder.Logs.Count); // the callbacks see each step's logs
        AllClose(lossPerEpoch[1], recorder.Logs[^1]["loss"], rtol: 1e-5, atol: 1e-7);
        Assert.Equal(4, model.Optimizer.Iterations);
    }

    [Fact]
    public void StepWithTheCompiledLossEqualsBuiltInFitAndItsOptimizerStateRoundTrips()
    {
        var (x, y) = Regression(64, 8, 2);
        var (ci, co) = DenseGraph(8, 9);
        using var custom = new CompiledLossStepModel(ci, co);
        var (ri, ro) = DenseGraph(8, 9);
        using var reference = new Model(ri, ro);
        Assert.Equal(Values(reference.Weights), Values(custom.Weights));
        custom.Compile(optimizer: new Adam(0.01), loss: "mse", metrics: ["mae"]);
        reference.Compile(optimizer: new Adam(0.01), loss: "mse", metrics: ["mae"]);
        var hc = custom.Fit(x, y, batchSize: 16, epochs: 3, verbose: 0, shuffle: false);
        var hr = reference.Fit(x, y, batchSize: 16, epochs: 3, verbose: 0, shuffle: false);
        Assert.Equal(12, custom.Steps);
        AllClose([.. hr["loss"]], [.. hc["loss"]], rtol: 1e-5, atol: 1e-7);
        AllClose([.. hr["mae"]], [.. hc["mae"]], rtol: 1e-5, atol: 1e-7);
        AllClose(Values(reference.Weights), Values(custom.Weights), rtol: 1e-5, atol: 1e-7);
        Assert.Equal(reference.Optimizer.Iterations, custom.Optimizer.Iterations);

        // The state ApplyGradients built saves and restores like Fit's: a twin loaded from it continues identically.
        string path = Path.Combine(Path.GetTempPath(), $"customstep-{Guid.NewGuid():N}.weights.h5");
        try
        {
            WeightFiles.SaveWithOptimizer(custom, path);
            var (ti, to) = DenseGraph(8, 77);
            using var twin = new Model(ti, to);
            twin.Compile(optimizer: new Adam(0.01), loss: "mse");
            WeightFiles.LoadWithOptimizer(twin, path);
            Assert.Equal(custom.Optimizer.Iterations, twin.Optimizer.Iterations);
            custom.Fit(x, y, batchSize: 16, epochs: 1, verbose: 0, shuffle: false);
            twin.Fit(x, y, batchSize: 16, epochs: 1, verbose: 0, shuffle: false);
            AllClose(Values(twin.Weights), Values(custom.Weights), rtol: 1e-5, atol: 1e-7);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void StepWithSampleWeightsEqualsBuiltInFitWithThem()
    {
        var (x, y) = Regression(48, 5, 3);
        var sw = new float[48];
        for (int i = 0; i < sw.Length; i++) sw[i] = (i % 4) * 0.5f;
        var (ci, co) = DenseGraph(5, 12);
        using var custom = new CompiledLossStepModel(ci, co);
        var (ri, ro) = DenseGraph(5, 12);
        using var reference = new Model(ri, ro);
        custom.Compile(optimizer: new SGD(0.05), loss: "mse", weightedMetrics: ["mae"]);
        reference.Compile(optimizer: new SGD(0.05), loss: "mse", weightedMetrics: ["mae"]);
        var hc = custom.Fit(x, y, batchSize: 12, epochs: 2, verbose: 0, shuffle: false, sampleWeight: sw);
        var hr = reference.Fit(x, y, batchSize: 12, epochs: 2, verbose: 0, shuffle: false, sampleWeight: sw);
        AllClose([.. hr["loss"]], [.. hc["loss"]], rtol: 1e-5, atol: 1e-7);
        AllClose([.. hr["mae"]], [.. hc["mae"]], rtol: 1e-5, atol: 1e-7);
        AllClose(Values(reference.Weights), Values(custom.Weights), rtol: 1e-5, atol: 1e-7);
        // The weights mattered: unweighted training ends elsewhere.
        var (ui, uo) = DenseGraph(5, 12);
        using var unweighted = new Model(ui, uo);
        unweighted.Compile(optimizer: new SGD(0.05), loss: "mse");
        unweighted.Fit(x, y, batchSize: 12, epochs: 2, verbose: 0, shuffle: false);
        Assert.NotEqual(Values(unweighted.Weights), Values(custom.Weights));
    }

    [Fact]
    public void ClassWeightsReachAnOverriddenStepAsSampleWeights()
    {
        var x = new float[6, 2];
        var y = new float[,] { { 0 }, { 1 }, { 2 }, { 1 }, { 0 }, { 2 } };
        var (input, _) = DenseGraph(2, 1);
        using var model = new RecordingStepModel(input, new Dense(3, activation: "softmax").Apply(input));
        model.Compile(optimizer: new SGD(0.01), loss: "sparse_categorical_crossentropy");
        model.Fit(x, y, batchSize: 3, epochs: 1, verbose: 0, shuffle: false, classWeight: new Dictionary<int, double> { [0] = 1, [1] = 2, [2] = 5 });
        Assert.Equal(2, model.SeenWeights.Count);
        Assert.Equal([1f, 2f, 5f], model.SeenWeights[0]!);
        Assert.Equal([2f, 1f, 5f], model.SeenWeights[1]!);
    }

    [Fact]
    public void CustomTestStepRunsWithoutGradientsInEvaluateAndValidation()
    {
        var (x, y) = Regression(20, 3, 5);
        var (input, output) = DenseGraph(3, 6);
        using var model = new CustomTestStepModel(input, output);
        model.Compile(optimizer: new SGD(0.01), loss: "mse", metrics: ["mae"]);
        var kernel = new float[] { 0.5f, -1f, 2f };
        model.TrainableWeights[0].Assign(kernel);
        model.TrainableWeights[1].Assign([0.25f]);
        var result = model.Evaluate(x, y, batchSize: 8);

        // Hand computation over the 20 samples (batches 8, 8, 4): the tracker weighs each batch's mean by its size.
        double sq = 0, abs = 0;
        var predicted = new double[20];
        for (int i = 0; i < 20; i++)
        {
            predicted[i] = 0.25 + x[i, 0] * 0.5 - x[i, 1] + x[i, 2] * 2;
            double e = predicted[i] - y[i, 0];
            sq += e * e;
            abs += Math.Abs(e);
        }
        AllClose(sq / 20, result["loss"], rtol: 1e-5, atol: 1e-7);
        AllClose(abs / 20, result["mae"], rtol: 1e-5, atol: 1e-7);
        Assert.Equal(3, model.GradEnabled.Count);
        Assert.All(model.GradEnabled, Assert.False);

        // Fit's validation uses it too (its metrics are reset first), and Predict the overridden PredictStep.
        var history = model.Fit(x, y, batchSize: 8, epochs: 1, verbose: 0, shuffle: false, validationData: (x, y));
        Assert.Equal(6, model.GradEnabled.Count);
        Assert.Contains("val_loss", history.HistoryData.Keys);
        var again = model.Evaluate(x, y, batchSize: 8);
        AllClose(again["loss"], history["val_loss"][0], rtol: 1e-6, atol: 1e-9);
        model.TrainableWeights[0].Assign(kernel);
        model.TrainableWeights[1].Assign([0.25f]);
        AllClose(predicted.Select(p => 2 * p).ToArray(), model.Predict(x).Data, rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void BuiltInStepsRefuseAModelCompiledWithoutALoss()
    {
        var (x, y) = Regression(8, 3, 7);
        var (input, output) = DenseGraph(3, 8);
        using var model = new Model(input, output);
        model.Compile(optimizer: "sgd");
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, verbose: 0));
        Assert.Contains("No loss to compute", e.Message);
        Assert.Throws<InvalidOperationException>(() => model.Evaluate(x, y));
        Assert.Throws<InvalidOperationException>(() => model.Loss);
        Assert.Empty(model.OutputLosses);
        Assert.Throws<ArgumentException>(() => model.Compile(optimizer: "sgd", lossWeights: [1.0]));
        Assert.Contains("override of Metrics", Assert.Throws<ArgumentException>(() => model.Compile("sgd", "mse", [new Mean("loss")])).Message);

        // Saved and loaded, it stays compiled without a loss (Keras writes loss: null).
        string path = Path.Combine(Path.GetTempPath(), $"customstep-{Guid.NewGuid():N}.keras");
        try
        {
            model.Compile(optimizer: "sgd", metrics: ["mae"]);
            model.Save(path);
            using var loaded = Model.LoadModel(path);
            Assert.True(loaded.IsCompiled);
            Assert.Empty(loaded.OutputLosses);
            Assert.Equal(["mae"], loaded.Metrics.Select(m => m.Name));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WithoutACompiledLossTheBuiltInStepTrainsOnTheModelsOwnLosses()
    {
        // Keras 3: compile() without a loss trains on model.losses (here an L2 penalty 0.5 * sum(w^2) on the kernel).
        Keras.SetRandomSeed(3);
        var input = Keras.Input([3]);
        using var model = new Model(input, new Dense(1, useBias: false, kernelRegularizer: new L2Regularizer(0.5)).Apply(input));
        model.Compile(optimizer: new SGD(0.1));
        var w0 = model.TrainableWeights[0].ToArray().Select(v => (double)v).ToArray();
        var (x, y) = Regression(4, 3, 9);
        var history = model.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0);
        // loss = 0.5 * sum(w^2); gradient w; one SGD step: w <- w - 0.1 w = 0.9 w.
        AllClose(0.5 * w0.Sum(v => v * v), history["loss"][0], rtol: 1e-5, atol: 1e-8);
        AllClose(w0.Select(v => 0.9 * v).ToArray(), model.TrainableWeights[0].ToArray(), rtol: 1e-5, atol: 1e-8);
    }
}
