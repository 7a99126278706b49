using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Data;

/// <summary>Fit, Evaluate and Predict on .NET sequences of batches, and the named-array Fit with every option.</summary>
public class FitOnBatchesTests
{
    private const int N = 40, Batch = 8;

    private static (float[,] X, int[] Y) Data()
    {
        var rng = new Random(7);
        var x = new float[N, 3];
        var y = new int[N];
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < 3; j++) x[i, j] = (float)rng.NextDouble();
            y[i] = x[i, 0] + x[i, 1] > 1 ? 1 : 0;
        }
        return (x, y);
    }

    private static Sequential NewModel()
    {
        Keras.SetRandomSeed(5);
        var model = new Sequential(new InputLayer([3]), new Dense(4, activation: "tanh"), new Dense(2, activation: "softmax"));
        model.Compile(new SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"]);
        return model;
    }

    private static IEnumerable<(Array X, Array Y)> ArrayBatches(float[,] x, int[] y)
    {
        for (int start = 0; start < N; start += Batch)
        {
            var xb = new float[Batch, 3];
            var yb = new int[Batch];
            for (int i = 0; i < Batch; i++)
            {
                for (int j = 0; j < 3; j++) xb[i, j] = x[start + i, j];
                yb[i] = y[start + i];
            }
            yield return (xb, yb);
        }
    }

    [Fact]
    public void GeneratorFedFit_MatchesArrayFedFit_WithTheSameBatches()
    {
        var (x, y) = Data();
        using var a = NewModel();
        var ha = a.Fit(x, y, batchSize: Batch, epochs: 3, shuffle: false, verbose: 0);
        using var g = NewModel();
        var hg = g.Fit(ArrayBatches(x, y), epochs: 3, verbose: 0);
        Assert.Equal(3, hg["loss"].Count);
        for (int e = 0; e < 3; e++)
        {
            Assert.Equal(ha["loss"][e], hg["loss"][e], 1e-6);
            Assert.Equal(ha["accuracy"][e], hg["accuracy"][e], 1e-6);
        }
        // Training changed the weights, so the equal losses are not both the untrained ones.
        Assert.NotEqual(hg["loss"][0], hg["loss"][2]);

        // Tensor batches (the caller's tensors stay alive) and Evaluate / Predict on sequences agree with the array forms.
        var tensorBatches = ArrayBatches(x, y).Select(b => (TensorConvert.ToTensor(b.X), TensorConvert.ToTensor(b.Y))).ToList();
        using var t = NewModel();
        var ht = t.Fit(tensorBatches, epochs: 3, verbose: 0);
        Assert.Equal(ha["loss"][^1], ht["loss"][^1], 1e-6);
        Assert.Equal(new long[] { Batch, 3 }, tensorBatches[0].Item1.shape);   // not disposed by Fit
        Assert.Equal(a.Evaluate(x, y, batchSize: Batch)["loss"], t.Evaluate(tensorBatches)["loss"], 1e-6);
        Assert.Equal(a.Evaluate(x, y, batchSize: Batch)["loss"], g.Evaluate(ArrayBatches(x, y))["loss"], 1e-6);
        var expected = a.Predict(x, batchSize: Batch).Data;
        var predicted = t.Predict(tensorBatches.Select(b => b.Item1)).Data;
        Assert.Equal(expected.Length, predicted.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], predicted[i], 1e-6);
    }

    [Fact]
    public void FitOnSequence_KnowsACollectionsSize_AndReadsAnIteratorAnewEachEpoch()
    {
        var (x, y) = Data();
        int started = 0;
        IEnumerable<(Array X, Array Y)> Counting()
        {
            started++;
            foreach (var b in ArrayBatches(x, y)) yield return b;
        }
        using var m = NewModel();
        m.Fit(Counting(), epochs: 4, verbose: 0);
        Assert.Equal(4, started);
        var probe = new StepsProbe();
        m.Fit(ArrayBatches(x, y).ToList(), epochs: 1, verbose: 0, callbacks: [probe]);
        Assert.Equal(5L, probe.Steps);   // 40 samples in batches of 8
        m.Fit(Counting(), epochs: 1, verbose: 0, callbacks: [probe]);
        Assert.Null(probe.Steps);        // an iterator's size is unknown
    }

    private sealed class StepsProbe : OnnxKeras.Callbacks.Callback
    {
        public object? Steps;
        public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => Steps = Params["steps"];
    }

    [Fact]
    public void FitOnSequence_NullBatchPart_ThrowsNamingTheBatch()
    {
        using var m = NewModel();
        var (x, y) = Data();
        var batches = ArrayBatches(x, y).Take(2).Append((new float[Batch, 3], null!)).ToList();
        var ex = Assert.Throws<ArgumentException>(() => m.Fit(batches, verbose: 0));
        Assert.Contains("batch 2", ex.Message);
    }

    [Fact]
    public void NamedArrayFit_TakesValidationDataClassWeightAndStepsPerEpoch()
    {
        Keras.SetRandomSeed(3);
        var a = Keras.Input([2], name: "a");
        var b = Keras.Input([1], name: "b");
        var out1 = new Dense(2, activation: "softmax") { Name = "cls" }.Apply(new Concatenate().Apply([a, b]));
        using var model = new Model([a, b], [out1]);
        model.Compile(new SGD(0.1), "sparse_categorical_crossentropy");
        var (x, y) = Data();
        var xa = new float[N, 2];
        var xb = new float[N, 1];
        for (int i = 0; i < N; i++) { xa[i, 0] = x[i, 0]; xa[i, 1] = x[i, 1]; xb[i, 0] = x[i, 2]; }
        var xs = new Dictionary<string, Array> { ["a"] = xa, ["b"] = xb };
        var ys = new Dictionary<string, Array> { ["cls"] = y };
        var h = model.Fit(xs, ys, batchSize: Batch, epochs: 2, verbose: 0, validationData: (xs, ys), shuffle: false,
            classWeight: new Dictionary<int, double> { [0] = 1.0, [1] = 2.0 }, stepsPerEpoch: 2);
        Assert.Equal(2, h["val_loss"].Count);
        // The validation loss of the last epoch is Evaluate's on the same named arrays (same weights, no class weights).
        Assert.Equal(model.Evaluate(xs, ys, batchSize: Batch)["loss"], h["val_loss"][^1], 1e-6);
        var hs = model.Fit(xs, ys, batchSize: Batch, epochs: 1, verbose: 0, validationSplit: 0.25, shuffle: false);
        Assert.Single(hs["val_loss"]);
        var wrong = new Dictionary<string, Array> { ["a"] = xa };
        var ex = Assert.Throws<ArgumentException>(() => model.Fit(xs, ys, verbose: 0, validationData: (wrong, ys)));
        Assert.Contains("validationData input", ex.Message);
    }
}
