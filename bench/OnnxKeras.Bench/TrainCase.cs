using OnnxKeras.Datasets;
using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using static TorchSharp.torch;
using KerasAdam = OnnxKeras.Optimizers.Adam;

namespace OnnxKeras.Bench;

/// <summary>
/// One training benchmark case: a Keras model trained by Fit, the same network written by hand in TorchSharp (what a
/// TorchSharp user would write: nn modules, torch.optim.Adam) starting from the same weights, and the data. Batches are
/// taken in order without shuffling; an epoch is ceil(n / batch) batches, the last one possibly smaller. The loss is
/// Keras's categorical cross-entropy on the softmax probabilities, written out in the loop.
/// </summary>
internal sealed class TrainCase : IDisposable
{
    public const double LearningRate = 0.001, Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-7;

    private readonly List<nn.Module> modules = [];
    private readonly Func<Tensor, Tensor> handForward;
    private readonly TorchSharp.Modules.Adam handAdam;
    private long handSteps;

    private readonly bool ownsData;

    private TrainCase(string id, string name, string arch, int batch, double? goal, Tensor x, Tensor y, Sequential model,
        IEnumerable<(string Name, nn.Module Module)> named, Func<Tensor, Tensor> handForward, int[]? sizes = null, bool ownsData = true)
    {
        this.ownsData = ownsData;
        Id = id;
        Name = name;
        Arch = arch;
        Batch = batch;
        CpuGoal = goal;
        X = x;
        Y = y;
        Model = model;
        Sizes = sizes;
        this.handForward = handForward;
        Compile();
        var device = Keras.Device;
        foreach (var (_, m) in named)
        {
            m.to(device);
            modules.Add(m);
        }
        // The initial parameters in PyTorch's layout, named as the PyTorch reference script expects.
        Initial = named.SelectMany(n => n.Module.named_parameters().Select(p => (Name: $"{n.Name}.{p.name}", Value: p.parameter.detach().cpu().clone())))
            .ToList();
        handAdam = optim.Adam(modules.SelectMany(m => m.parameters()).Where(p => p.requires_grad).ToList(), lr: LearningRate, beta1: Beta1, beta2: Beta2, eps: Epsilon);
    }

    public string Id { get; }
    public string Name { get; }
    public string Arch { get; }
    public int Batch { get; }
    /// <summary>The goal for Fit / hand-written loop on CPU, if it sets one.</summary>
    public double? CpuGoal { get; }
    public Tensor X { get; }
    public Tensor Y { get; }
    public Sequential Model { get; }
    public int[]? Sizes { get; }
    public List<(string Name, Tensor Value)> Initial { get; }
    public long Rows => X.shape[0];
    public long StepsPerEpoch => (Rows + Batch - 1) / Batch;

    /// <summary>Rows of step <paramref name="step"/> (counted from the first step of the first epoch).</summary>
    public (long Start, long Length) BatchOf(long step)
    {
        long start = step % StepsPerEpoch * Batch;
        return (start, Math.Min(Batch, Rows - start));
    }

    /// <summary>Compiles <see cref="Model"/> with the case's Adam and loss (a fresh optimizer); <paramref name="jitCompile"/> as Keras's.</summary>
    public void Compile(bool? jitCompile = null) =>
        Model.Compile(optimizer: new KerasAdam(LearningRate, Beta1, Beta2, Epsilon), loss: "categorical_crossentropy", jitCompile: jitCompile);

    /// <summary>One step of the hand-written loop; returns the loss tensor (read it only where needed).</summary>
    public Tensor HandStep(long step)
    {
        var (start, len) = BatchOf(step);
        var p = handForward(X.narrow(0, start, len));
        p = (p / p.sum(-1, true)).clamp(1e-7, 1 - 1e-7);
        var loss = -(Y.narrow(0, start, len) * p.log()).sum(-1).mean();
        handAdam.zero_grad();
        loss.backward();
        // Keras adds epsilon to sqrt(v), PyTorch to the bias-corrected sqrt(v) / sqrt(1 - b2^t): this epsilon makes
        // torch.optim.Adam compute Keras's rule (managed code only, no extra native call).
        double keras = Epsilon / Math.Sqrt(1 - Math.Pow(Beta2, ++handSteps));
        foreach (var g in handAdam.ParamGroups.Cast<TorchSharp.Modules.Adam.ParamGroup>()) g.Options.eps = keras;
        handAdam.step();
        return loss;
    }

    /// <summary>One epoch of the hand-written loop.</summary>
    public void HandEpoch()
    {
        for (long s = 0; s < StepsPerEpoch; s++)
        {
            using var scope = NewDisposeScope();
            HandStep(s);
        }
    }

    /// <summary>One epoch of Fit.</summary>
    public void FitEpoch() => Model.Fit(FitX, Y, batchSize: Batch, epochs: 1, verbose: 0, shuffle: false);

    /// <summary>
    /// Fit on steps [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) of an epoch (the rows
    /// of those batches, in order): a timed sample shorter than an epoch. Each call pays Fit's per-call setup once.
    /// </summary>
    public void FitSteps(long first, long count)
    {
        long start = first * Batch, rows = Math.Min(count * Batch, Rows - start);
        using var x = FitX.narrow(0, start, rows);
        using var y = Y.narrow(0, start, rows);
        Model.Fit(x, y, batchSize: Batch, epochs: 1, verbose: 0, shuffle: false);
    }

    /// <summary>The hand-written loop on the same steps as <see cref="FitSteps"/>.</summary>
    public void HandSteps(long first, long count)
    {
        for (long s = first; s < first + count; s++)
        {
            using var scope = NewDisposeScope();
            HandStep(s);
        }
    }

    /// <summary>
    /// Training FLOPs of one full batch (<see cref="TrainFlops"/>: matrix products and convolutions, the first layer's
    /// input gradient only where autograd computes it). Tells BLAS-bound cases from dispatch-bound ones
    /// (<see cref="FitBenchmark.Bound"/>).
    /// </summary>
    public double FlopsPerStep => Arch switch
    {
        "mlp" => TrainFlops.Mlp(Sizes!, Batch),
        "cnn" => TrainFlops.MnistCnn(Batch),
        "lstm" => TrainFlops.Lstm(Batch, timesteps: 100, inputs: 64, units: 128, classes: 10),
        _ => double.NaN,
    };

    /// <summary>
    /// The per-step losses of the first <paramref name="steps"/> steps of Fit, recovered from the running means Keras
    /// reports after each batch (weighted by batch size, as the loss tracker weights them).
    /// </summary>
    public double[] FitLosses(int steps)
    {
        var losses = new List<double>();
        double previousSum = 0, previousCount = 0;
        long step = 0;
        var cb = new LambdaCallback(
            onEpochBegin: (_, _) => previousSum = previousCount = 0,
            onTrainBatchEnd: (batch, logs) =>
            {
                double count = previousCount + BatchOf(step++).Length;
                double sum = logs["loss"] * count;
                if (losses.Count < steps) losses.Add((sum - previousSum) / (count - previousCount));
                (previousSum, previousCount) = (sum, count);
            });
        int epochs = (int)((steps + StepsPerEpoch - 1) / StepsPerEpoch);
        Model.Fit(FitX, Y, batchSize: Batch, epochs: epochs, verbose: 0, shuffle: false, callbacks: [cb]);
        return [.. losses];
    }

    /// <summary>The per-step losses of the first <paramref name="steps"/> steps of the hand-written loop.</summary>
    public double[] HandLosses(int steps)
    {
        var losses = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            losses[s] = HandStep(s).item<float>();
        }
        return losses;
    }

    public void Dispose()
    {
        handAdam.Dispose();
        foreach (var m in modules) m.Dispose();
        foreach (var (_, t) in Initial) t.Dispose();
        Model.Dispose();
        fitX?.Dispose();
        if (!ownsData) return;
        X.Dispose();
        Y.Dispose();
    }

    // ---- the cases ------------------------------------------------------------------------------------

    private static readonly (string Id, Func<TrainCase> Make)[] Cases =
    [
        ("quickstart_mlp_b32", () => QuickstartMlp()),
        ("mnist_mlp_b128", () => MnistMlp(128, 0.80)),
        ("mnist_mlp_b1024", () => MnistMlp(1024, 1.00)),
        ("mnist_cnn_b128", () => MnistCnn()),
        ("lstm_b64", () => LstmClassifier()),
    ];

    /// <summary>The cases of the training benchmark (issues 8 and 17; goals are issue 17's), by id; <paramref name="only"/> filters them.</summary>
    public static IEnumerable<Func<TrainCase>> All(IReadOnlySet<string>? only = null) =>
        Cases.Where(c => only is null || only.Contains(c.Id)).Select(c => c.Make);

    /// <summary>The ids of <see cref="All"/>, in its order.</summary>
    public static List<string> Ids(IReadOnlySet<string>? only = null) => [.. Cases.Where(c => only is null || only.Contains(c.Id)).Select(c => c.Id)];

    public static TrainCase QuickstartMlp()
    {
        Keras.SetRandomSeed(7);
        var x = rand(1000, 72);
        var y = nn.functional.one_hot(randint(0, 10, [1000]), 10).to_type(ScalarType.Float32);
        return Mlp("quickstart_mlp_b32", "quick-start MLP 72-32-32-10", [72, 32, 32, 10], x, y, 32, 0.60);
    }

    public static TrainCase MnistMlp(int batch, double? goal)
    {
        Keras.SetRandomSeed(7);
        var (x, y) = MnistTensors(flat: true, rows: null);
        return Mlp($"mnist_mlp_b{batch}", "MNIST MLP 784-512-512-10", [784, 512, 512, 10], x, y, batch, goal);
    }

    /// <summary>An MLP (relu hidden layers, softmax output) on the given data (owned by the case unless <paramref name="ownsData"/> is false).</summary>
    public static TrainCase Mlp(string id, string name, int[] sizes, Tensor x, Tensor y, int batch, double? goal, bool ownsData = true)
    {
        var layers = new List<Layer> { new InputLayer([sizes[0]]) };
        for (int i = 1; i < sizes.Length; i++) layers.Add(new Dense(sizes[i], activation: i == sizes.Length - 1 ? "softmax" : "relu"));
        var model = new Sequential([.. layers]);
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
        Tensor Forward(Tensor h)
        {
            for (int i = 0; i < linears.Count; i++)
            {
                h = linears[i].forward(h);
                h = i == linears.Count - 1 ? nn.functional.softmax(h, -1) : nn.functional.relu(h);
            }
            return h;
        }
        return new TrainCase(id, name, "mlp", batch, goal, ownsData ? x.to(Keras.Device) : x, ownsData ? y.to(Keras.Device) : y, model,
            linears.Select((l, i) => ($"layers.{i}", (nn.Module)l)), Forward, sizes, ownsData);
    }

    /// <summary>
    /// The MNIST CNN (conv32-pool-conv64-pool-fc10) on 2,048 images. Fit keeps Keras's NHWC activations; the loop uses
    /// torch's NCHW layout, its Linear rows permuted to match Keras's HWC flattening.
    /// </summary>
    public static TrainCase MnistCnn(int rows = 2048)
    {
        Keras.SetRandomSeed(11);
        var (x, y) = MnistTensors(flat: false, rows: rows);
        var model = new Sequential(new InputLayer([28, 28, 1]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2),
            new Conv2D(64, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(), new Dense(10, activation: "softmax"));
        var c1 = (Conv2D)model.Layers[0];
        var c2 = (Conv2D)model.Layers[2];
        var dense = (Dense)model.Layers[5];
        var conv1 = nn.Conv2d(1, 32, 3);
        var conv2 = nn.Conv2d(32, 64, 3);
        var fc = nn.Linear(64 * 5 * 5, 10);
        using (no_grad())
        {
            conv1.weight!.copy_(c1.Weights[0].Value.permute(3, 2, 0, 1));
            conv1.bias!.copy_(c1.Weights[1].Value);
            conv2.weight!.copy_(c2.Weights[0].Value.permute(3, 2, 0, 1));
            conv2.bias!.copy_(c2.Weights[1].Value);
            // Keras flattens [5, 5, 64] (HWC); torch flattens [64, 5, 5] (CHW): reorder the kernel's rows to match.
            fc.weight!.copy_(dense.Kernel.Value.reshape(5, 5, 64, 10).permute(2, 0, 1, 3).reshape(1600, 10).t());
            fc.bias!.copy_(dense.Bias!.Value);
        }
        var nchw = x.permute(0, 3, 1, 2).contiguous().to(Keras.Device);
        Tensor Forward(Tensor xb)
        {
            var h = nn.functional.max_pool2d(nn.functional.relu(conv1.forward(xb)), 2);
            h = nn.functional.max_pool2d(nn.functional.relu(conv2.forward(h)), 2);
            return nn.functional.softmax(fc.forward(h.flatten(1)), -1);
        }
        // The loop (and the PyTorch script) read NCHW images; Fit reads the NHWC ones.
        var c = new TrainCase("mnist_cnn_b128", "MNIST CNN conv32-pool-conv64-pool-fc10", "cnn", 128, 0.95, nchw, y.to(Keras.Device), model,
            [("conv1", conv1), ("conv2", conv2), ("fc", fc)], Forward);
        c.fitX = x.to(Keras.Device);
        return c;
    }

    /// <summary>Embedding 10k x 64, LSTM 128 (last output), Dense 10 softmax; sequences of 100 random tokens, batch 64.</summary>
    public static TrainCase LstmClassifier(int rows = 1024)
    {
        Keras.SetRandomSeed(13);
        var x = randint(1, 10_000, [rows, 100], dtype: ScalarType.Int64);
        var y = nn.functional.one_hot(randint(0, 10, [rows]), 10).to_type(ScalarType.Float32);
        var embedding = new Embedding(10_000, 64);
        var lstmLayer = new LSTM(128);
        var denseLayer = new Dense(10, activation: "softmax");
        var model = new Sequential(new InputLayer([100]), embedding, lstmLayer, denseLayer);
        var emb = nn.Embedding(10_000, 64);
        var lstm = nn.LSTM(64, 128, batchFirst: true);
        var fc = nn.Linear(128, 10);
        using (no_grad())
        {
            emb.weight!.copy_(embedding.Weights[0].Value);
            // Keras: kernel [in, 4u], recurrent_kernel [u, 4u], one bias [4u], gates i, f, c, o = PyTorch's i, f, g, o.
            var p = lstm.named_parameters().ToDictionary(t => t.name, t => t.parameter);
            p["weight_ih_l0"].copy_(lstmLayer.Weights[0].Value.t());
            p["weight_hh_l0"].copy_(lstmLayer.Weights[1].Value.t());
            p["bias_ih_l0"].copy_(lstmLayer.Weights[2].Value);
            // Keras has one bias, PyTorch two: bias_hh stays zero and frozen, so Adam updates the sum once per step.
            p["bias_hh_l0"].zero_();
            p["bias_hh_l0"].requires_grad_(false);
            fc.weight!.copy_(denseLayer.Kernel.Value.t());
            fc.bias!.copy_(denseLayer.Bias!.Value);
        }
        Tensor Forward(Tensor xb)
        {
            var (output, _, _) = lstm.forward(emb.forward(xb));
            return nn.functional.softmax(fc.forward(output.select(1, -1)), -1);
        }
        return new TrainCase("lstm_b64", "LSTM classifier (Embedding 10k x 64, LSTM 128, Dense 10), sequence 100", "lstm", 64, 0.95,
            x.to(Keras.Device), y.to(Keras.Device), model, [("embedding", emb), ("lstm", lstm), ("fc", fc)], Forward);
    }

    private Tensor? fitX;

    /// <summary>The images Fit reads when they differ from the loop's layout (NHWC for the CNN).</summary>
    public Tensor FitX => fitX ?? X;

    private static (Tensor X, Tensor Y) MnistTensors(bool flat, long? rows)
    {
        var mnist = Mnist.Load();
        using var all = TensorConvert.ToTensor(mnist.TrainImages);
        using var labels = TensorConvert.ToTensor(mnist.TrainLabels);
        long n = rows ?? all.shape[0];
        var x = all.narrow(0, 0, n).reshape(flat ? [n, 784] : [n, 28, 28, 1]).contiguous();
        var y = nn.functional.one_hot(labels.narrow(0, 0, n), 10).to_type(ScalarType.Float32);
        return (x, y);
    }
}
