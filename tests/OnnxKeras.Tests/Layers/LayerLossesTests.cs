using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Losses a layer adds while it runs: Keras 3's <c>activity_regularizer</c> (Layer.__call__ adds
/// <c>activity_regularizer(output)</c> for each output, not divided by the batch size as tf.keras 2 did) and
/// <c>add_loss</c>; both join the loss Fit, Evaluate and TrainOnBatch report and differentiate.
/// </summary>
public class LayerLossesTests
{
    // x: 4 samples of 3 features (row sums 6, 1.5, 1, 0.5); y: 4 samples of 2 targets.
    private static readonly float[,] X = { { 1f, 2f, 3f }, { -1f, 0.5f, 2f }, { 0f, 0f, 1f }, { 2f, -1f, -0.5f } };
    private static readonly float[,] Y = { { 1f, 0f }, { 0f, 1f }, { 2f, -1f }, { 0.5f, 0.5f } };

    /// <summary>Dense(2) with kernel all 0.5 and bias 0: p_ij = 0.5 * rowsum_i, i.e. 3, 0.75, 0.5, 0.25 in both columns.</summary>
    private static double[,] Predictions()
    {
        var p = new double[4, 2];
        for (int i = 0; i < 4; i++)
        {
            double rowSum = X[i, 0] + X[i, 1] + X[i, 2];
            p[i, 0] = p[i, 1] = 0.5 * rowSum;
        }
        return p;
    }

    /// <summary>Keras mean_squared_error and the activity penalty 0.5 * sum(p^2) over rows [from, to).</summary>
    private static (double Mse, double Activity) ByHand(int from, int to)
    {
        var p = Predictions();
        double sq = 0, act = 0;
        for (int i = from; i < to; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                sq += (p[i, j] - Y[i, j]) * (p[i, j] - Y[i, j]);
                act += p[i, j] * p[i, j];
            }
        }
        return (sq / (2 * (to - from)), 0.5 * act);
    }

    private static Sequential Model(out Dense dense, double lr = 0.0)
    {
        dense = new Dense(2, kernelInitializer: new Constant(0.5)) { ActivityRegularizer = Regularizers.L2(0.5) };
        var model = new Sequential(new InputLayer([3]), dense);
        model.Compile(new SGD(lr), loss: "mse");
        return model;
    }

    [Fact]
    public void ActivityRegularizer_IsAddedToEvaluate_PerBatch_NotDividedByBatchSize()
    {
        // One batch of 4: mse 18.25 / 8 = 2.28125; activity 0.5 * 2 * (9 + 0.5625 + 0.25 + 0.0625) = 9.875.
        var (mse, act) = ByHand(0, 4);
        Assert.Equal((2.28125, 9.875), (mse, act));
        using var model = Model(out _);
        AllClose(mse + act, model.Evaluate(X, Y, batchSize: 4)["loss"], rtol: 1e-5, atol: 1e-6, what: "one batch");
        // Two batches of 2: (3.40625 + 9.5625 + 1.15625 + 0.3125) / 2 = 7.21875; a penalty divided by the batch size
        // (tf.keras 2) would give (3.40625 + 4.78125 + 1.15625 + 0.15625) / 2 = 4.75 instead.
        var (m1, a1) = ByHand(0, 2);
        var (m2, a2) = ByHand(2, 4);
        Assert.Equal(7.21875, (m1 + a1 + m2 + a2) / 2, 12);
        AllClose(7.21875, model.Evaluate(X, Y, batchSize: 2)["loss"], rtol: 1e-5, atol: 1e-6, what: "two batches");
    }

    [Fact]
    public void ActivityRegularizer_IsInTheGradient()
    {
        // d/d b_j of mse + 0.5 * sum p^2 = sum_i 2 (p_ij - y_ij) / 8 + sum_i p_ij; one SGD(0.1) step from b = 0.
        using var model = Model(out var dense, lr: 0.1);
        var logs = model.TrainOnBatch(X, Y);
        var (mse, act) = ByHand(0, 4);
        AllClose(mse + act, logs["loss"], rtol: 1e-5, atol: 1e-6, what: "TrainOnBatch loss");
        var p = Predictions();
        var bias = dense.Bias!.ToArray();
        for (int j = 0; j < 2; j++)
        {
            double g = 0;
            for (int i = 0; i < 4; i++) g += 2 * (p[i, j] - Y[i, j]) / 8 + p[i, j];
            AllClose(-0.1 * g, bias[j], rtol: 1e-5, atol: 1e-6, what: $"bias[{j}]");
        }
    }

    [Fact]
    public void ActivityRegularizer_InFit_AndInLosses()
    {
        using var model = Model(out var dense);
        var (mse, act) = ByHand(0, 4);
        var history = model.Fit(X, Y, batchSize: 4, epochs: 1, verbose: 0);
        AllClose(mse + act, history["loss"][0], rtol: 1e-5, atol: 1e-6, what: "Fit loss");
        // An eager call leaves its terms in Losses (Keras's layer.losses); a second call replaces them.
        using var x = tensor(new float[] { 1, 2, 3, -1, 0.5f, 2, 0, 0, 1, 2, -1, -0.5f }, [4, 3]);
        model.Apply(x);
        model.Apply(x);
        AllClose(act, model.Losses.Sum(l => l.Value.sum().item<float>()), rtol: 1e-5, atol: 1e-6, what: "model.Losses");
        Assert.Single(dense.Losses);
    }

    /// <summary>Returns its input and adds 0.1 * sum(|x|) with AddLoss (Keras's <c>self.add_loss</c>).</summary>
    private sealed class AbsPenalty : Layer
    {
        public override KTensor Call(KTensor inputs, bool training = false)
        {
            AddLoss(Ops.Multiply(Ops.Sum(Ops.Abs(inputs)), 0.1));
            return inputs;
        }

        public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
    }

    [Fact]
    public void AddLoss_JoinsTheLoss()
    {
        // sum |x| = 6 + 3.5 + 1 + 3.5 = 14, so the term is 1.4; the data loss is the mse above.
        var penalty = new AbsPenalty();
        using var model = new Sequential(new InputLayer([3]), penalty, new Dense(2, kernelInitializer: new Constant(0.5)));
        model.Compile(new SGD(0.0), loss: "mse");
        var (mse, _) = ByHand(0, 4);
        AllClose(mse + 1.4, model.Evaluate(X, Y, batchSize: 4)["loss"], rtol: 1e-5, atol: 1e-6, what: "Evaluate");
        AllClose(mse + 1.4, model.TrainOnBatch(X, Y)["loss"], rtol: 1e-5, atol: 1e-6, what: "TrainOnBatch");
        // Predict runs the layer too but leaves no terms behind.
        model.Predict(X);
        Assert.Empty(model.Losses);
    }

    [Fact]
    public void AddLoss_TermsOfAnotherModel_SurviveThisModelsTrainingStep()
    {
        // The step skips walking the layers only when no layer anywhere holds terms; here one does (model a's), so b's
        // step walks its own layers, clears only those, and leaves a's term in a.Losses.
        using var a = new Sequential(new InputLayer([3]), new AbsPenalty());
        using var x = tensor(new float[] { 1, 2, 3, -1, 0.5f, 2, 0, 0, 1, 2, -1, -0.5f }, [4, 3]);
        a.Apply(x);
        using var b = new Sequential(new InputLayer([3]), new AbsPenalty(), new Dense(2, kernelInitializer: new Constant(0.5)));
        b.Compile(new SGD(0.0), loss: "mse");
        var (mse, _) = ByHand(0, 4);
        AllClose(mse + 1.4, b.TrainOnBatch(X, Y)["loss"], rtol: 1e-5, atol: 1e-6, what: "b's loss");
        Assert.Empty(b.Losses);
        AllClose(1.4, a.Losses.Single().Value.item<float>(), rtol: 1e-6, atol: 1e-6, what: "a's pending term");
        // Its next call replaces the term (the outermost call clears first), as before.
        a.Apply(x);
        Assert.Single(a.Losses);
    }

    [Fact]
    public void AddLoss_OnSymbolicTensors_IsRefused()
    {
        var input = Keras.Input([3]);
        var e = Assert.Throws<InvalidOperationException>(() => new AbsPenalty().AddLoss(input));
        Assert.Contains("AddLoss", e.Message);
    }

    [Fact]
    public void Export_LeavesTheLossTermsOut()
    {
        // The terms belong to training: the exported graph is the inference computation only, and matches the model.
        var dense = new Dense(2, kernelInitializer: new Constant(0.5)) { ActivityRegularizer = Regularizers.L2(0.5) };
        using var model = new Sequential(new InputLayer([3]), new AbsPenalty(), dense);
        var bytes = OnnxKeras.Export.OnnxExport.ExportOnnxBytes(model, out var report, new OnnxKeras.Export.OnnxExportOptions { Verify = true });
        var graph = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.Equal(["Gemm"], graph.Node.Select(n => n.OpType));
        Assert.True(report.MaxAbsDifference <= 1e-5, $"max diff {report.MaxAbsDifference}");
    }
}

