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
/// The MNIST CNN (Conv2D 32 -> MaxPool -> Conv2D 64 -> MaxPool -> Flatten -> Dense 10, batch 128) in Fit versus the same
/// network written directly in TorchSharp (NCHW modules, torch.optim.Adam), same initial weights (kernels permuted to
/// torch's layout, the Dense rows permuted for NCHW flattening), same data and batch order. Fit keeps Keras's NHWC
/// activations and runs libtorch's convolutions in channels_last memory format.
/// </summary>
internal static class CnnBenchmark
{
    public static void Run(int repeats, int samples = 2048)
    {
        Console.WriteLine();
        Console.WriteLine($"## MNIST CNN: Fit vs hand-written TorchSharp (batch 128, {samples} samples per epoch)");
        Console.WriteLine("| case | Fit ms/step | loop ms/step | ratio (goal <= 1.10) | spread Fit / loop |");
        Console.WriteLine("|---|---|---|---|---|");
        Keras.SetRandomSeed(11);
        var mnist = Mnist.Load();
        using var all = TensorConvert.ToTensor(mnist.TrainImages);
        using var xNhwc = all.narrow(0, 0, samples).reshape(samples, 28, 28, 1).contiguous();
        using var xNchw = xNhwc.permute(0, 3, 1, 2).contiguous();
        using var labels = TensorConvert.ToTensor(mnist.TrainLabels).narrow(0, 0, samples);
        using var y = nn.functional.one_hot(labels, 10).to_type(ScalarType.Float32);

        using var model = new Sequential(new InputLayer([28, 28, 1]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2),
            new Conv2D(64, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(), new Dense(10, activation: "softmax"));
        model.Compile(optimizer: new KerasAdam(0.001), loss: "categorical_crossentropy");
        var c1 = (Conv2D)model.Layers[0];
        var c2 = (Conv2D)model.Layers[2];
        var dense = (Dense)model.Layers[5];

        var conv1 = nn.Conv2d(1, 32, 3);
        var conv2 = nn.Conv2d(32, 64, 3);
        var linear = nn.Linear(64 * 5 * 5, 10);
        using (no_grad())
        {
            conv1.weight!.copy_(c1.Weights[0].Value.permute(3, 2, 0, 1));
            conv1.bias!.copy_(c1.Weights[1].Value);
            conv2.weight!.copy_(c2.Weights[0].Value.permute(3, 2, 0, 1));
            conv2.bias!.copy_(c2.Weights[1].Value);
            // Keras flattens [5, 5, 64] (HWC); torch flattens [64, 5, 5] (CHW): reorder the kernel's rows to match.
            linear.weight!.copy_(dense.Kernel.Value.reshape(5, 5, 64, 10).permute(2, 0, 1, 3).reshape(1600, 10).t());
            linear.bias!.copy_(dense.Bias!.Value);
        }
        var parameters = conv1.parameters().Concat(conv2.parameters()).Concat(linear.parameters()).ToList();
        using var adam = optim.Adam(parameters, lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-7);
        const int batch = 128;
        long steps = (samples + batch - 1) / batch;

        void HandEpoch()
        {
            for (long start = 0; start < samples; start += batch)
            {
                using var scope = NewDisposeScope();
                long len = Math.Min(batch, samples - start);
                var h = nn.functional.max_pool2d(nn.functional.relu(conv1.forward(xNchw.narrow(0, start, len))), 2);
                h = nn.functional.max_pool2d(nn.functional.relu(conv2.forward(h)), 2);
                var p = nn.functional.softmax(linear.forward(h.flatten(1)), -1);
                p = (p / p.sum(-1, true)).clamp(1e-7, 1 - 1e-7);
                var loss = -(y.narrow(0, start, len) * p.log()).sum(-1).mean();
                adam.zero_grad();
                loss.backward();
                adam.step();
            }
        }

        void FitEpoch() => model.Fit(xNhwc, y, batchSize: batch, epochs: 1, verbose: 0, shuffle: false);

        var (fitTimes, handTimes) = FitBenchmark.Alternate(FitEpoch, HandEpoch, repeats, steps);
        double fit = FitBenchmark.Median(fitTimes), hand = FitBenchmark.Median(handTimes);
        Console.WriteLine($"| MNIST CNN conv32-pool-conv64-pool-fc10 | {fit:0.00} | {hand:0.00} | {fit / hand:0.000} | {fitTimes.Min():0.0}-{fitTimes.Max():0.0} / {handTimes.Min():0.0}-{handTimes.Max():0.0} |");
        foreach (var m in new nn.Module[] { conv1, conv2, linear }) m.Dispose();
    }
}
