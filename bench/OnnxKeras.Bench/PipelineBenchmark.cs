using System.Diagnostics;
using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using static TorchSharp.torch;

namespace OnnxKeras.Bench;

/// <summary>
/// Whether Prefetch overlaps a slow input with training: an epoch of Fit on batches that pass through a Map sleeping
/// <c>sleepMs</c> per batch (a stand-in for decoding or augmentation), without and with <c>Prefetch(2)</c>, against the
/// same epoch on the bare batches. Without overlap an epoch takes steps x (sleep + step); with full overlap
/// steps x max(sleep, step). Medians of <c>repeats</c> epochs after one warm-up epoch each.
/// </summary>
internal static class PipelineBenchmark
{
    public static void Run(int repeats, int sleepMs)
    {
        const int steps = 40, batch = 64;
        Report.Heading($"Prefetch overlapping a slow Map with training ({steps} steps of batch {batch}, 784-256-256-10 MLP, Map sleeping {sleepMs} ms " +
                       $"per batch, median of {repeats} epochs)");
        Keras.SetRandomSeed(1);
        using var x = rand(steps * batch, 784);
        using var y = randint(0, 10, [steps * batch]);
        using var model = new Sequential(new InputLayer([784]), new Dense(256, activation: "relu"), new Dense(256, activation: "relu"),
            new Dense(10, activation: "softmax"));
        model.Compile(optimizer: "adam", loss: "sparse_categorical_crossentropy");
        var bare = Dataset.FromTensorSlices(x, y).Batch(batch);
        var slow = bare.Map(e =>
        {
            Thread.Sleep(sleepMs);
            return e;
        });
        double train = Median(model, bare, repeats);
        double serial = Median(model, slow, repeats);
        double overlapped = Median(model, slow.Prefetch(2), repeats);
        double sleep = steps * sleepMs / 1000.0;
        Report.Line("| epoch on | seconds | per step (ms) |");
        Report.Line("|---|---:|---:|");
        Report.Line($"| bare batches (training only) | {train:0.000} | {1000 * train / steps:0.0} |");
        Report.Line($"| Map sleeping {sleepMs} ms, no prefetch | {serial:0.000} | {1000 * serial / steps:0.0} |");
        Report.Line($"| Map sleeping {sleepMs} ms, Prefetch(2) | {overlapped:0.000} | {1000 * overlapped / steps:0.0} |");
        Report.Line();
        Report.Line($"Prefetch / no prefetch: {overlapped / serial:0.00} (no overlap would be 1.00; full overlap " +
                    $"max(train, sleep) / (train + sleep) = {Math.Max(train, sleep) / (train + sleep):0.00} with the sleep alone {sleep:0.000} s).");
    }

    private static double Median(Model model, Dataset ds, int repeats)
    {
        model.Fit(ds, epochs: 1, verbose: 0);
        var times = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            model.Fit(ds, epochs: 1, verbose: 0);
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
