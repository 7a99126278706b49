using System.Diagnostics;
using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using static TorchSharp.torch;

namespace OnnxKeras.Bench;

/// <summary>
/// Resident memory over many training steps: every step runs in a dispose scope, so RSS must stay flat.
/// Prints RSS after warm-up and at the end of the steps (after a full GC both times).
/// </summary>
internal static class MemoryBenchmark
{
    public static void Run(int steps)
    {
        Report.Heading($"Resident memory over {steps:N0} training steps (quick-start MLP, batch 32, Adam, accuracy metric)");
        Keras.SetRandomSeed(3);
        using var x = rand(1000, 72);
        using var y = nn.functional.one_hot(randint(0, 10, [1000]), 10).to_type(ScalarType.Float32);
        using var model = new Sequential(new InputLayer([72]), new Dense(32, activation: "relu"), new Dense(32, activation: "relu"), new Dense(10, activation: "softmax"));
        model.Compile(optimizer: "adam", loss: "categorical_crossentropy", metrics: ["accuracy"]);
        var ds = Dataset.FromTensorSlices(x, y).Shuffle(1000, seed: 1).Batch(32).Repeat();
        int perEpoch = 500;
        model.Fit(ds, epochs: 2, stepsPerEpoch: perEpoch, verbose: 0); // warm-up: 1,000 steps
        long start = Rss();
        var samples = new List<long>();
        var probe = new LambdaCallback(onEpochEnd: (_, _) => samples.Add(Rss()));
        model.Fit(ds, epochs: Math.Max(1, steps / perEpoch), stepsPerEpoch: perEpoch, verbose: 0, callbacks: [probe]);
        long end = Rss();
        Report.Line("| steps measured | RSS after 1,000 warm-up steps (MiB) | RSS after the measured steps (MiB) | change (MiB) | max at epoch ends (MiB) |");
        Report.Line("|---:|---:|---:|---:|---:|");
        Report.Line($"| {steps:N0} | {start / 1048576.0:0.0} | {end / 1048576.0:0.0} | {(end - start) / 1048576.0:+0.0;-0.0} | {samples.Max() / 1048576.0:0.0} |");
    }

    private static long Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }
}
