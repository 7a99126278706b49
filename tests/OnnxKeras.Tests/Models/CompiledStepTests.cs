using OnnxKeras.Callbacks;
using OnnxKeras.Layers;
using OnnxKeras.Losses;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Models;

/// <summary>
/// The compiled training step (Compile(jitCompile: true)): the eager step is the reference. Each case trains two copies
/// of a model from the same seed on the same batches (no shuffling, a partial last batch), one eager and one compiled; the
/// running loss after every batch must agree within 1e-6 and the weights after training within 1e-5.
/// </summary>
public class CompiledStepTests
{
    private const double LossTolerance = 1e-6, WeightTolerance = 1e-5;

    private sealed record Run(List<double> Losses, float[][] Weights, bool Compiled, string? Reason);

    private static Run Train(Func<Model> make, Loss loss, bool? jit, Tensor x, Tensor y, int batch, int epochs, Tensor? w = null,
        Func<Optimizer>? optimizer = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        Keras.SetRandomSeed(5);
        using var model = make();
        model.Compile(optimizer?.Invoke() ?? new Adam(0.01), loss, jitCompile: jit);
        var losses = new List<double>();
        var cb = new LambdaCallback(onTrainBatchEnd: (_, logs) => losses.Add(logs["loss"]));
        model.Fit(x, y, batchSize: batch, epochs: epochs, verbose: 0, shuffle: false, sampleWeight: w, classWeight: classWeight, callbacks: [cb]);
        return new Run(losses, model.Weights.Select(v => v.ToArray()).ToArray(), model.UsesCompiledStep, model.JitCompileReason);
    }

    /// <summary>Trains eager and compiled twins and checks that they agree; returns the eager run.</summary>
    private static Run AssertSameTraining(Func<Model> make, Loss loss, Tensor x, Tensor y, int batch, int epochs, Tensor? w = null,
        Func<Optimizer>? optimizer = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        var eager = Train(make, loss, false, x, y, batch, epochs, w, optimizer, classWeight);
        var compiled = Train(make, loss, true, x, y, batch, epochs, w, optimizer, classWeight);
        Assert.False(eager.Compiled);
        Assert.Equal("jitCompile is false", eager.Reason);
        Assert.True(compiled.Compiled, compiled.Reason);
        Assert.Null(compiled.Reason);
        Assert.True(eager.Losses.Count >= 20, $"only {eager.Losses.Count} steps");
        Assert.Equal(eager.Losses.Count, compiled.Losses.Count);
        for (int i = 0; i < eager.Losses.Count; i++)
            Assert.True(Math.Abs(eager.Losses[i] - compiled.Losses[i]) <= LossTolerance,
                $"step {i + 1}: eager loss {eager.Losses[i]:R}, compiled {compiled.Losses[i]:R}");
        // Training moved the weights (so the comparison below is not of two untouched initializations).
        Assert.True(eager.Losses[^1] != eager.Losses[0]);
        for (int k = 0; k < eager.Weights.Length; k++)
        {
            double diff = eager.Weights[k].Zip(compiled.Weights[k], (a, b) => Math.Abs(a - b)).Max();
            Assert.True(diff <= WeightTolerance, $"weight {k}: largest difference {diff}");
        }
        return eager;
    }

    private static Sequential Mlp(params int[] sizes)
    {
        var layers = new List<Layer> { new InputLayer([sizes[0]]) };
        for (int i = 1; i < sizes.Length; i++) layers.Add(new Dense(sizes[i], activation: i == sizes.Length - 1 ? "softmax" : "relu"));
        return new Sequential([.. layers]);
    }

    private static (Tensor X, Tensor Y) Classification(long n, params long[] shape)
    {
        var g = new Generator(3);
        var x = rand([n, .. shape], generator: g);
        var y = nn.functional.one_hot(randint(0, 10, [n], generator: g), 10).to_type(ScalarType.Float32);
        return (x, y);
    }

    [Fact]
    public void QuickstartMlp_CompiledMatchesEager_WithPartialLastBatch()
    {
        // 70 samples in batches of 32: 32, 32, 6; 7 epochs = 21 steps, every third one the partial batch (a second signature).
        var (x, y) = Classification(70, 72);
        AssertSameTraining(() => Mlp(72, 32, 32, 10), "categorical_crossentropy", x, y, 32, 7);
    }

    [Fact]
    public void ManyBatchSizes_KeepAtMostEightCompiledSteps_AndStillMatchEager()
    {
        // Batch sizes 1..11 and then 1 again: twelve signatures pass through a cache of eight, so the oldest are dropped
        // and size 1 is compiled anew; every step must still agree with the eager twin.
        var (x, y) = Classification(80, 72);
        int[] sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1];
        var losses = new List<double>[2];
        for (int k = 0; k < 2; k++)
        {
            Keras.SetRandomSeed(5);
            using var model = Mlp(72, 32, 32, 10);
            model.Compile(new Adam(0.01), "categorical_crossentropy", jitCompile: k == 1);
            losses[k] = [];
            int start = 0;
            foreach (int n in sizes)
            {
                losses[k].Add(model.TrainOnBatch(ToArray(x.narrow(0, start, n)), ToArray(y.narrow(0, start, n)))["loss"]);
                start += n;
                Assert.True(model.CompiledSignatureCount <= Model.MaxCompiledSignatures, $"{model.CompiledSignatureCount} signatures kept");
            }
            Assert.Equal(k == 1, model.UsesCompiledStep);
            if (k == 1) Assert.Equal(Model.MaxCompiledSignatures, model.CompiledSignatureCount);
        }
        for (int i = 0; i < sizes.Length; i++)
            Assert.True(Math.Abs(losses[0][i] - losses[1][i]) <= LossTolerance, $"step {i + 1}: eager {losses[0][i]:R}, compiled {losses[1][i]:R}");
    }

    private static float[,] ToArray(Tensor t)
    {
        var flat = t.contiguous().data<float>().ToArray();
        var result = new float[t.shape[0], t.shape[1]];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    [Fact]
    public void MnistSizedMlp_CompiledMatchesEager()
    {
        var (x, y) = Classification(40, 784);
        AssertSameTraining(() => Mlp(784, 512, 512, 10), "categorical_crossentropy", x, y, 8, 4, optimizer: () => new Adam(0.001));
    }

    [Fact]
    public void Cnn_CompiledMatchesEager()
    {
        var (x, y) = Classification(20, 28, 28, 1);
        AssertSameTraining(() => new Sequential(new InputLayer([28, 28, 1]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2),
            new Conv2D(64, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(), new Dense(10, activation: "softmax")),
            "categorical_crossentropy", x, y, 8, 7, optimizer: () => new Adam(0.001));
    }

    /// <summary>A functional model that uses the remaining op templates (activations, pooling with same padding, joins, reshapes).</summary>
    private static Model ManyOps()
    {
        var input = Keras.Input([6, 6, 2]);
        var c = new Conv2D(4, 3, padding: "same", activation: "tanh").Apply(input);
        var a = new AveragePooling2D(2).Apply(c);
        var m = new MaxPooling2D(3, strides: 1, padding: "same").Apply(c);
        var g1 = new GlobalAveragePooling2D().Apply(m);
        var g2 = new GlobalMaxPooling2D().Apply(c);
        var f = new Flatten().Apply(a);
        var r = new Reshape([9, 4]).Apply(a);
        var rf = new Flatten().Apply(new Permute([2, 1]).Apply(r));
        var h = new Concatenate().Apply([f, rf, g1, g2]);
        var branches = new[] { "sigmoid", "elu", "selu", "gelu", "silu", "softplus", "linear" }
            .Select(act => new Dense(5, activation: act).Apply(h)).ToList();
        var sum = new Add().Apply(branches);
        var prod = new Multiply().Apply([new LeakyReLU(0.3).Apply(sum), new Dense(5).Apply(h)]);
        var sub = new Subtract().Apply([prod, new Maximum().Apply([sum, prod])]);
        return new Model(input, new Dense(3, activation: "softmax").Apply(new Minimum().Apply([sub, new Average().Apply([sum, prod])])));
    }

    [Fact]
    public void ManyOps_CompiledMatchesEager()
    {
        var g = new Generator(9);
        var x = randn([30, 6, 6, 2], generator: g);
        var y = nn.functional.one_hot(randint(0, 3, [30], generator: g), 3).to_type(ScalarType.Float32);
        AssertSameTraining(ManyOps, "categorical_crossentropy", x, y, 8, 6);
    }

    [Fact]
    public void Dropout_CompiledDrawsTheEagerMasks()
    {
        // Dropout runs libtorch's dropout in the script, drawing from the generator the eager step draws from: with the
        // same seed both steps drop the same units (the trace restores the generator's state), so the losses agree.
        var (x, y) = Classification(40, 72);
        Model Make() => new Sequential(new InputLayer([72]), new Dense(32, activation: "relu"), new Dropout(0.5), new Dense(10, activation: "softmax"));
        var eager = AssertSameTraining(Make, "categorical_crossentropy", x, y, 16, 7);
        // The masks matter: without dropout the same training gives other losses.
        var plain = Train(() => Mlp(72, 32, 10), "categorical_crossentropy", false, x, y, 16, 7);
        Assert.True(Math.Abs(plain.Losses[^1] - eager.Losses[^1]) > 1e-4);
    }

    [Fact]
    public void TwoInputs_CompiledMatchesEager()
    {
        var g = new Generator(12);
        var a = randn([30, 5], generator: g);
        var b = randn([30, 3], generator: g);
        var y = randn([30, 2], generator: g);
        Model Make()
        {
            var ia = Keras.Input([5], name: "a");
            var ib = Keras.Input([3], name: "b");
            var h = new Concatenate().Apply([new Dense(4, activation: "tanh").Apply(ia), ib]);
            return new Model([ia, ib], [new Dense(2).Apply(h)]);
        }
        Run Train2(bool jit)
        {
            Keras.SetRandomSeed(5);
            using var model = Make();
            model.Compile(new Adam(0.01), "mse", jitCompile: jit);
            var losses = new List<double>();
            var cb = new LambdaCallback(onTrainBatchEnd: (_, logs) => losses.Add(logs["loss"]));
            var ds = OnnxKeras.Data.Dataset.FromTensorSlices(a, b, y).Batch(8);
            model.Fit(ds, epochs: 6, verbose: 0, callbacks: [cb]);
            return new Run(losses, model.Weights.Select(v => v.ToArray()).ToArray(), model.UsesCompiledStep, model.JitCompileReason);
        }
        var eager = Train2(false);
        var compiled = Train2(true);
        Assert.True(compiled.Compiled, compiled.Reason);
        Assert.Equal(24, compiled.Losses.Count);
        for (int i = 0; i < eager.Losses.Count; i++) Assert.True(Math.Abs(eager.Losses[i] - compiled.Losses[i]) <= LossTolerance, $"step {i + 1}");
    }

    [Fact]
    public void SparseLabelsOutOfRange_ThrowTheEagerError()
    {
        var x = randn([8, 6], generator: new Generator(1));
        var labels = tensor(new long[] { 0, 1, 2, 3, 0, 1, 2, 3 });
        using var model = Head("softmax", 4);
        model.Compile(new Adam(0.01), "sparse_categorical_crossentropy", jitCompile: true);
        model.Fit(x, labels, batchSize: 4, epochs: 1, verbose: 0);
        Assert.True(model.UsesCompiledStep);
        // A label of 4 for 4 classes, in a step of the already compiled signature: the same ArgumentException as eager.
        var e = Assert.Throws<ArgumentException>(() => model.Fit(x, tensor(new long[] { 0, 1, 2, 4, 0, 1, 2, 3 }), batchSize: 4, epochs: 1, verbose: 0));
        Assert.Contains("labels must be integers in [0, 3]", e.Message);
    }

    [Fact]
    public void FrozenBatchNormalization_CompiledMatchesEager()
    {
        // A frozen BatchNormalization normalizes with its moving statistics (no update), so the step compiles.
        var g = new Generator(6);
        var x = randn([30, 6], generator: g) * 3 + 1;
        var y = randn([30, 2], generator: g);
        Model Make()
        {
            var bn = new BatchNormalization();
            var model = new Sequential(new InputLayer([6]), new Dense(4), bn, new Dense(2));
            bn.Trainable = false;
            return model;
        }
        AssertSameTraining(Make, "mse", x, y, 8, 6);
    }

    [Fact]
    public void CompiledForward_MatchesPredict()
    {
        // The inference forward pass compiled for the benchmark (bench fit --jit-predict) computes what Predict does.
        Keras.SetRandomSeed(5);
        using var model = ManyOps();
        var x = randn([5, 6, 6, 2], generator: new Generator(8));
        var expected = model.Predict(x);
        using var forward = OnnxKeras.Models.Jit.CompiledForward.Build(model, [x]);
        using var _ = no_grad();
        var actual = forward.Invoke([randn([5, 6, 6, 2], generator: new Generator(8))]);
        Assert.True(actual.allclose(expected, 1e-6, 1e-6), $"largest difference {(actual - expected).abs().max().item<float>()}");
    }

    private static Sequential Head(string activation, int units) =>
        new(new InputLayer([6]), new Dense(8, activation: "relu"), new Dense(units, activation: activation));

    public static TheoryData<string> LossCases => ["sparse_logits", "sparse_probabilities_column", "cce_smoothing_logits", "bce", "bce_logits",
        "mse", "mae_weighted", "sparse_class_weight"];

    [Theory]
    [MemberData(nameof(LossCases))]
    public void Losses_CompiledMatchEager(string which)
    {
        var g = new Generator(4);
        var x = randn([30, 6], generator: g);
        var classes = randint(0, 4, [30], generator: g);
        var weights = rand([30], generator: g) * 2;
        switch (which)
        {
            case "sparse_logits":
                AssertSameTraining(() => Head("linear", 4), new SparseCategoricalCrossentropy(fromLogits: true), x, classes, 8, 6, weights);
                break;
            case "sparse_probabilities_column":
                // Float labels of shape [n, 1], as Keras accepts them.
                AssertSameTraining(() => Head("softmax", 4), "sparse_categorical_crossentropy", x, classes.to_type(ScalarType.Float32).unsqueeze(1), 8, 6);
                break;
            case "cce_smoothing_logits":
                AssertSameTraining(() => Head("linear", 4), new CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1), x,
                    nn.functional.one_hot(classes, 4).to_type(ScalarType.Float32), 8, 6);
                break;
            case "bce":
                AssertSameTraining(() => Head("sigmoid", 3), new BinaryCrossentropy(labelSmoothing: 0.2), x, rand([30, 3], generator: g).round(), 8, 6);
                break;
            case "bce_logits":
                AssertSameTraining(() => Head("linear", 1), new BinaryCrossentropy(fromLogits: true), x, (classes % 2).to_type(ScalarType.Float32), 8, 6,
                    weights.unsqueeze(1));
                break;
            case "mse":
                AssertSameTraining(() => Head("linear", 2), "mse", x, randn([30, 2], generator: g), 8, 6);
                break;
            case "mae_weighted":
                AssertSameTraining(() => Head("linear", 2), "mae", x, randn([30, 2], generator: g), 8, 6, weights);
                break;
            case "sparse_class_weight":
                AssertSameTraining(() => Head("softmax", 4), "sparse_categorical_crossentropy", x, classes, 8, 6,
                    classWeight: new Dictionary<int, double> { [0] = 0.5, [1] = 2.0, [2] = 1.0, [3] = 3.0 });
                break;
        }
    }

    [Fact]
    public void CompiledStep_UpdatesMetricsFromItsPredictions()
    {
        var (x, y) = Classification(40, 72);
        double Accuracy(bool jit)
        {
            Keras.SetRandomSeed(5);
            using var model = Mlp(72, 16, 10);
            model.Compile(new Adam(0.01), "categorical_crossentropy", metrics: ["accuracy"], jitCompile: jit);
            var h = model.Fit(x, y, batchSize: 16, epochs: 3, verbose: 0, shuffle: false);
            Assert.Equal(jit, model.UsesCompiledStep);
            return h["accuracy"][^1];
        }
        Assert.Equal(Accuracy(false), Accuracy(true), 6);
    }

    /// <summary>A layer computing with raw TorchSharp: its computation is unknown to the compiled step.</summary>
    private sealed class RawScale : Layer
    {
        public override KTensor Call(KTensor inputs, bool training = false) => inputs.Value * 2.0;
    }

    public static TheoryData<string, string> Unsupported => new()
    {
        { "raw", "layer 'raw_scale' (RawScale) computes outside Ops" },
        { "noise", "random draws" },
        { "batchnorm", "changes during the call" },
        { "regularizer", "weight regularizers" },
        { "loss", "loss 'huber_loss' (Huber) has no compiled form" },
    };

    private static Sequential UnsupportedModel(string which) => which switch
    {
        "raw" => new Sequential(new InputLayer([6]), new Dense(4), new RawScale { Name = "raw_scale" }, new Dense(2)),
        "dropout" => new Sequential(new InputLayer([6]), new Dense(4), new Dropout(0.5), new Dense(2)),
        "noise" => new Sequential(new InputLayer([6]), new GaussianNoise(0.1), new Dense(2)),
        "batchnorm" => new Sequential(new InputLayer([6]), new Dense(4), new BatchNormalization(), new Dense(2)),
        "regularizer" => new Sequential(new InputLayer([6]), new Dense(2, kernelRegularizer: new L2Regularizer(0.01))),
        _ => new Sequential(new InputLayer([6]), new Dense(2)),
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void Unsupported_TrueRefusesNamingWhy_AutoAndFalseTrainEagerly(string which, string reason)
    {
        var g = new Generator(2);
        var x = randn([16, 6], generator: g);
        var y = randn([16, 2], generator: g);
        Loss loss = which == "loss" ? new Huber() : "mse";

        using var strict = UnsupportedModel(which);
        strict.Compile(new SGD(0.01), loss, jitCompile: true);
        var moving = strict.NonTrainableWeights.Select(v => v.ToArray()).ToList();
        var e = Assert.Throws<NotSupportedException>(() => strict.Fit(x, y, batchSize: 8, epochs: 1, verbose: 0));
        Assert.Contains("jitCompile: true", e.Message);
        Assert.True(e.Message.Contains(reason), e.Message);
        // The refused trace left the model's state as it was (BatchNormalization's moving statistics restored).
        Assert.Equal(moving, strict.NonTrainableWeights.Select(v => v.ToArray()).ToList());

        using var fallback = UnsupportedModel(which);
        fallback.Compile(new SGD(0.01), loss, jitCompile: false);
        fallback.Fit(x, y, batchSize: 8, epochs: 1, verbose: 0);
        Assert.False(fallback.UsesCompiledStep);
        Assert.Equal("jitCompile is false", fallback.JitCompileReason);
    }

    [Fact]
    public void Auto_OnCpu_TrainsEagerlyAndSaysWhy()
    {
        var (x, y) = Classification(16, 72);
        using var model = Mlp(72, 8, 10);
        model.Compile(new Adam(0.01), "categorical_crossentropy");
        Assert.Null(model.JitCompile);
        Assert.Null(model.JitCompileReason);
        model.Fit(x, y, batchSize: 8, epochs: 1, verbose: 0);
        Assert.False(model.UsesCompiledStep);
        Assert.Contains("\"auto\" uses the eager step on cpu", model.JitCompileReason);
    }

    [Fact]
    public void Recompiling_SwitchesBetweenCompiledAndEager()
    {
        var (x, y) = Classification(16, 72);
        using var model = Mlp(72, 8, 10);
        model.Compile(new Adam(0.01), "categorical_crossentropy", jitCompile: true);
        model.Fit(x, y, batchSize: 8, epochs: 1, verbose: 0);
        Assert.True(model.UsesCompiledStep);
        model.Compile(new Adam(0.01), "categorical_crossentropy", jitCompile: false);
        model.Fit(x, y, batchSize: 8, epochs: 1, verbose: 0);
        Assert.False(model.UsesCompiledStep);
        // Freezing a layer between Fit calls: the compiled step follows (the frozen kernel stays as it was).
        model.Compile(new Adam(0.01), "categorical_crossentropy", jitCompile: true);
        model.Layers[0].Trainable = false;
        var frozen = model.Layers[0].Weights[0].ToArray();
        model.Fit(x, y, batchSize: 8, epochs: 1, verbose: 0);
        Assert.True(model.UsesCompiledStep);
        Assert.Equal(frozen, model.Layers[0].Weights[0].ToArray());
    }

    [Theory]
    [InlineData(null, "auto", null)]
    [InlineData(false, false, false)]
    [InlineData(true, true, null)] // Keras writes its resolved "auto" as true, so a stored true loads as "auto"
    public void JitCompile_IsSavedInCompileConfig(bool? setting, object saved, bool? loaded)
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var path = Path.Combine(dir.FullName, "m.keras");
            using (var model = Mlp(4, 3))
            {
                model.Compile(new Adam(0.01), "mse", jitCompile: setting);
                model.Save(path);
            }
            using (var zip = System.IO.Compression.ZipFile.OpenRead(path))
            using (var reader = new StreamReader(zip.GetEntry("config.json")!.Open()))
            {
                var root = Assert.IsAssignableFrom<IDictionary<string, object?>>(OnnxKeras.Saving.ModelConfig.ParseJson(reader.ReadToEnd()));
                var config = Assert.IsAssignableFrom<IDictionary<string, object?>>(root["compile_config"]);
                Assert.Equal(saved, config["jit_compile"]);
            }
            using var back = Model.LoadModel(path);
            Assert.Equal(loaded, back.JitCompile);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
