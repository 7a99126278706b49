using System.Diagnostics;
using OnnxKeras.Data;
using OnnxKeras.Datasets;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using static TorchSharp.torch;
using KerasAdam = OnnxKeras.Optimizers.Adam;

namespace OnnxKeras.Bench;

/// <summary>
/// Fit versus a hand-written TorchSharp loop: same architecture, same initial weights, same data and batch order
/// (no shuffling), Adam with the same hyperparameters (the loop uses torch.optim.Adam, the reference a TorchSharp user
/// would write). Epochs alternate between the two so drift on a shared machine hits both; the ratio of medians is reported.
/// </summary>
internal static class FitBenchmark
{
    public static void Run(int repeats)
    {
        Console.WriteLine();
        Console.WriteLine("## Fit vs hand-written TorchSharp loop (per-step time, median of alternating epochs)");
        Console.WriteLine("| case | batch | steps/epoch | Fit ms/step | loop ms/step | ratio (goal) | spread Fit / loop |");
        Console.WriteLine("|---|---|---|---|---|---|---|");

        Keras.SetRandomSeed(7);
        using (var x = rand(1000, 72))
        using (var y = nn.functional.one_hot(randint(0, 10, [1000]), 10).to_type(ScalarType.Float32))
        {
            Case("quick-start MLP 72-32-32-10", [72, 32, 32, 10], x, y, 32, repeats, 1.10, epochsPerSample: 4);
        }

        var mnist = Mnist.Load();
        using (var x = TensorConvert.ToTensor(mnist.TrainImages))
        using (var labels = TensorConvert.ToTensor(mnist.TrainLabels))
        using (var y = nn.functional.one_hot(labels, 10).to_type(ScalarType.Float32))
        {
            Case("MNIST MLP 784-512-512-10", [784, 512, 512, 10], x, y, 128, repeats, 1.03, epochsPerSample: 1);
        }
    }

    private static void Case(string name, int[] sizes, Tensor x, Tensor y, int batch, int repeats, double goal, int epochsPerSample)
    {
        var m = Measure(sizes, x, y, batch, repeats, epochsPerSample);
        double fit = m.Fit, hand = m.Loop;
        Console.WriteLine($"| {name} | {batch} | {m.Steps} | {fit:0.000} | {hand:0.000} | {fit / hand:0.000} ({(fit / hand <= goal ? "<=" : ">")} {goal:0.00}) | {Spread(m.FitTimes)} / {Spread(m.LoopTimes)} |");
    }

    /// <summary>What <see cref="Measure"/> found: medians and all samples in ms per step, and the steps of one epoch.</summary>
    internal sealed record Measurement(double Fit, double Loop, List<double> FitTimes, List<double> LoopTimes, long Steps);

    /// <summary>
    /// Fit against the hand-written loop for the MLP <paramref name="sizes"/> (input, hidden..., classes; relu and a
    /// softmax output) on all rows of <paramref name="x"/>: one epoch is one pass over them in batches of
    /// <paramref name="batch"/>, <paramref name="epochsPerSample"/> epochs make one timed sample, samples alternate.
    /// </summary>
    internal static Measurement Measure(int[] sizes, Tensor x, Tensor y, int batch, int repeats, int epochsPerSample)
    {
        // The Keras model.
        var layers = new List<Layer> { new InputLayer([sizes[0]]) };
        for (int i = 1; i < sizes.Length; i++) layers.Add(new Dense(sizes[i], activation: i == sizes.Length - 1 ? "softmax" : "relu"));
        using var model = new Sequential([.. layers]);
        model.Compile(optimizer: new KerasAdam(0.001), loss: "categorical_crossentropy");

        // The hand-written loop, initialized with the same weights (TorchSharp's Linear keeps [out, in]).
        var linears = new List<TorchSharp.Modules.Linear>();
        for (int i = 1; i < sizes.Length; i++)
        {
            var lin = nn.Linear(sizes[i - 1], sizes[i]);
            var dense = (Dense)model.Layers[i - 1];
            using (no_grad())
            {
                lin.weight!.copy_(dense.Kernel.Value.t());
                lin.bias!.copy_(dense.Bias!.Value);
            }
            linears.Add(lin);
        }
        var parameters = linears.SelectMany(l => l.parameters()).ToList();
        using var adam = optim.Adam(parameters, lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-7);
        long n = x.shape[0];
        long steps = (n + batch - 1) / batch;

        void HandEpoch()
        {
            for (long start = 0; start < n; start += batch)
            {
                using var scope = NewDisposeScope();
                long len = Math.Min(batch, n - start);
                var xb = x.narrow(0, start, len);
                var yb = y.narrow(0, start, len);
                var h = xb;
                for (int i = 0; i < linears.Count; i++)
                {
                    h = linears[i].forward(h);
                    h = i == linears.Count - 1 ? nn.functional.softmax(h, -1) : nn.functional.relu(h);
                }
                // Keras's categorical cross-entropy on probabilities, written directly.
                var p = (h / h.sum(-1, true)).clamp(1e-7, 1 - 1e-7);
                var loss = -(yb * p.log()).sum(-1).mean();
                adam.zero_grad();
                loss.backward();
                adam.step();
            }
        }

        void FitEpoch() => model.Fit(x, y, batchSize: batch, epochs: 1, verbose: 0, shuffle: false);

        var (fitTimes, handTimes) = Alternate(FitEpoch, HandEpoch, repeats, steps * epochsPerSample, epochsPerSample);
        foreach (var l in linears) l.Dispose();
        return new Measurement(Median(fitTimes), Median(handTimes), fitTimes, handTimes, steps);
    }

    /// <summary>
    /// Warms both up once, then times <paramref name="repeats"/> alternating samples of <paramref name="perSample"/> runs
    /// each; returns milliseconds per step for each side.
    /// </summary>
    internal static (List<double> First, List<double> Second) Alternate(Action first, Action second, int repeats, long stepsPerSample, int perSample = 1)
    {
        first();
        second();
        var a = new List<double>();
        var b = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int e = 0; e < perSample; e++) first();
            a.Add(sw.Elapsed.TotalMilliseconds / stepsPerSample);
            sw.Restart();
            for (int e = 0; e < perSample; e++) second();
            b.Add(sw.Elapsed.TotalMilliseconds / stepsPerSample);
        }
        return (a, b);
    }

    internal static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    internal static string Spread(List<double> xs) => $"{xs.Min():0.000}-{xs.Max():0.000}";
}
