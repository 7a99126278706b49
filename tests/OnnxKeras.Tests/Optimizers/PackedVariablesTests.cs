using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static OnnxKeras.Tests.Optimizers.OptimizerTestHelpers;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Optimizers;

/// <summary>A dense layer with an extra weight that no computation uses, so it never receives a gradient.</summary>
internal sealed class DenseWithIdleWeight(int units) : Layer
{
    private Variable? kernel;

    public Variable? Idle { get; private set; }

    public override void Build(Shape inputShape)
    {
        kernel = AddWeight("kernel", Shape.Of(inputShape[^1]!.Value, units), initializer: "glorot_uniform");
        Idle = AddWeight("idle", Shape.Of(3), initializer: "ones");
    }

    public override KTensor Call(KTensor inputs, bool training = false) => Ops.MatMul(inputs, kernel!);

    public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(units);
}

/// <summary>
/// Fit packs the trainable variables into one flat buffer (values and gradients are views into it) and updates them with
/// whole-buffer operations. The per-variable path is the reference: its rules are checked against hand calculations in
/// <see cref="OptimizerUpdateRuleTests"/>, and a clipnorm too large to ever clip (factor exactly 1) keeps an optimizer on it.
/// </summary>
public class PackedVariablesTests
{
    public static TheoryData<string> OptimizerNames => new() { "sgd_momentum", "adam", "adamw", "rmsprop_centered", "adagrad", "adadelta", "adamax", "nadam" };

    private static Optimizer Make(string name, double? clipNorm) => name switch
    {
        "sgd_momentum" => new SGD(0.05, momentum: 0.9, nesterov: true, clipNorm: clipNorm),
        "adam" => new Adam(0.01, clipNorm: clipNorm),
        "adamw" => new AdamW(0.01, weightDecay: 0.01, clipNorm: clipNorm),
        "rmsprop_centered" => new RMSprop(0.01, momentum: 0.5, centered: true, clipNorm: clipNorm),
        "adagrad" => new Adagrad(0.05, clipNorm: clipNorm),
        "adadelta" => new Adadelta(1.0, clipNorm: clipNorm),
        "adamax" => new Adamax(0.01, clipNorm: clipNorm),
        "nadam" => new Nadam(0.01, clipNorm: clipNorm),
        _ => throw new ArgumentException(name),
    };

    private static Sequential MakeModel()
    {
        Keras.SetRandomSeed(21);
        return new Sequential(new InputLayer([6]), new Dense(8, activation: "tanh"), new Dense(4, activation: "softmax"));
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void PackedUpdatesEqualThePerVariableRule(string name)
    {
        var (x, y) = TestData.RandomClassification(96, 6, 4, 5);
        using var packed = MakeModel();
        using var reference = MakeModel();
        Assert.Equal(Values(reference.Weights), Values(packed.Weights));
        packed.Compile(optimizer: Make(name, clipNorm: null), loss: "categorical_crossentropy");
        reference.Compile(optimizer: Make(name, clipNorm: 1e30), loss: "categorical_crossentropy");
        var hp = packed.Fit(x, y, batchSize: 16, epochs: 3, verbose: 0, shuffle: false);
        var hr = reference.Fit(x, y, batchSize: 16, epochs: 3, verbose: 0, shuffle: false);
        // 18 steps: equal up to float32 reassociation of the whole-buffer arithmetic.
        AllClose(Values(reference.Weights), Values(packed.Weights), rtol: 1e-4, atol: 1e-6);
        AllClose([.. hr["loss"]], [.. hp["loss"]], rtol: 1e-5, atol: 1e-7);
        Assert.NotEqual(Values(MakeModel().Weights), Values(packed.Weights)); // it did train
    }

    [Fact]
    public void LibtorchsSinglePassAdamKernelIsReachable()
    {
        // Packed Adam runs torch._fused_adam_ through TorchScript; the update-rule tests check its numbers against the
        // hand-computed Keras rule, so they only cover it while it is available.
        Assert.True(FusedAdam.Available);
    }

    [Fact]
    public void TheFirstStepThatPacksTheVariablesAlsoUpdatesThem()
    {
        var (x, y) = TestData.RandomClassification(16, 6, 4, 9);
        using var packed = MakeModel();
        using var reference = MakeModel();
        packed.Compile(optimizer: new SGD(0.5), loss: "categorical_crossentropy");
        reference.Compile(optimizer: new SGD(0.5, clipNorm: 1e30), loss: "categorical_crossentropy");
        var before = Values(packed.Weights);
        packed.TrainOnBatch(x, y);
        reference.TrainOnBatch(x, y);
        Assert.NotEqual(before, Values(packed.Weights));
        AllClose(Values(reference.Weights), Values(packed.Weights), rtol: 1e-6, atol: 1e-7);
    }

    [Fact]
    public void VariablesStayUsableAfterPackingAssignAndPredictSeeTheSameValues()
    {
        var (x, y) = TestData.RandomClassification(64, 6, 4, 6);
        using var model = MakeModel();
        model.Compile(optimizer: "adam", loss: "categorical_crossentropy");
        model.Fit(x, y, batchSize: 16, epochs: 1, verbose: 0);
        var dense = (Dense)model.Layers[1];
        // Assigning through a variable writes into the flat buffer: the next prediction and update see it.
        var kernel = Enumerable.Range(0, 32).Select(i => (float)(0.01 * i)).ToArray();
        dense.Kernel.Assign(kernel);
        dense.Bias!.Assign(new float[4]);
        Assert.Equal(kernel, dense.Kernel.ToArray());
        var hidden = model.Layers[0].Weights.Select(w => w.ToArray()).ToArray();
        var first = new float[1, 6];
        for (int k = 0; k < 6; k++) first[0, k] = x[0, k];
        var p = model.Predict(first);
        // Independent forward pass of the first sample: softmax(tanh(x W1 + b1) W2).
        var h = new double[8];
        for (int j = 0; j < 8; j++)
        {
            double s = hidden[1][j];
            for (int k = 0; k < 6; k++) s += x[0, k] * hidden[0][k * 8 + j];
            h[j] = Math.Tanh(s);
        }
        var logits = Enumerable.Range(0, 4).Select(u => Enumerable.Range(0, 8).Sum(j => h[j] * kernel[j * 4 + u])).ToArray();
        double z = logits.Sum(Math.Exp);
        AllClose(logits.Select(l => Math.Exp(l) / z).ToArray(), p.Data.Select(v => (double)v).ToArray(), rtol: 1e-5, atol: 1e-6);
        model.Fit(x, y, batchSize: 16, epochs: 1, verbose: 0);
        Assert.NotEqual(kernel, dense.Kernel.ToArray());
    }

    [Fact]
    public void AVariableWithoutGradientIsLeftAloneAsInKeras()
    {
        // Keras skips variables whose gradient is None; decoupled weight decay must not shrink them either.
        Keras.SetRandomSeed(3);
        var layer = new DenseWithIdleWeight(4);
        using var model = new Sequential(new InputLayer([6]), layer, new Activation("softmax"));
        model.Compile(optimizer: new AdamW(0.01, weightDecay: 0.5), loss: "categorical_crossentropy");
        var (x, y) = TestData.RandomClassification(64, 6, 4, 7);
        model.Fit(x, y, batchSize: 16, epochs: 2, verbose: 0);
        Assert.Equal([1f, 1f, 1f], layer.Idle!.ToArray());
    }

    [Fact]
    public void GradientsClearedBetweenFitCallsAreBoundToTheBufferAgain()
    {
        // Within one Fit the gradient views are bound once; code between two Fit calls may replace the gradients.
        var (x, y) = TestData.RandomClassification(64, 6, 4, 10);
        using var packed = MakeModel();
        using var reference = MakeModel();
        packed.Compile(optimizer: new Adam(0.01), loss: "categorical_crossentropy");
        reference.Compile(optimizer: new Adam(0.01, clipNorm: 1e30), loss: "categorical_crossentropy");
        foreach (var m in new[] { packed, reference })
        {
            m.Fit(x, y, batchSize: 16, epochs: 1, verbose: 0, shuffle: false);
            foreach (var v in m.TrainableWeights) v.Value.grad = null;
            m.Fit(x, y, batchSize: 16, epochs: 2, verbose: 0, shuffle: false);
        }
        AllClose(Values(reference.Weights), Values(packed.Weights), rtol: 1e-4, atol: 1e-6);
    }

    [Fact]
    public void ACustomLoopAfterFitStillUpdatesFromItsOwnGradients()
    {
        // After Fit the gradients are views of the flat buffer; a hand-written step that sets its own gradients must
        // still be applied exactly (SGD without momentum: w -= lr g).
        using var model = MakeModel();
        var sgd = new SGD(0.1);
        model.Compile(optimizer: sgd, loss: "categorical_crossentropy");
        var (x, y) = TestData.RandomClassification(32, 6, 4, 8);
        model.Fit(x, y, batchSize: 16, epochs: 1, verbose: 0);
        var vars = model.TrainableWeights;
        var before = Values(vars);
        var grads = vars.Select((v, i) => Enumerable.Range(0, (int)v.Size).Select(k => 0.5 * ((k + i) % 3 - 1)).ToArray()).ToArray();
        for (int i = 0; i < vars.Count; i++) SetGrad(vars[i], grads[i]);
        sgd.Apply(vars);
        var expected = before.Zip(grads.SelectMany(g => g), (w, g) => w - 0.1 * g).ToArray();
        AllClose(expected, Values(vars), rtol: 1e-6, atol: 1e-7);
    }
}
