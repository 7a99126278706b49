using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using Xunit;
using static OnnxKeras.Tests.Optimizers.OptimizerTestHelpers;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.Optimizers;

/// <summary>
/// One SGD step through the model's training loop (loss, backward, optimizer) against a hand-derived
/// gradient of the mean squared error of a Dense layer.
/// </summary>
public class OptimizerTrainingTests
{
    // y = x W + b with x [N=2, 3], W [3, 2], b [2]; L = mean over all N*U = 4 elements of (y - t)^2
    // (Keras's MSE: mean over the last axis, then over the batch). dL/dy = 2 (y - t) / (N U) = (y - t) / 2,
    // dL/dW = x^T dL/dy, dL/db = sum over rows of dL/dy; SGD: W -= lr dL/dW, b -= lr dL/db.
    private static readonly double[,] X = { { 1.0, 2.0, -1.0 }, { 0.5, -1.0, 3.0 } };
    private static readonly double[,] T = { { 1.0, 0.0 }, { -1.0, 2.0 } };
    private static readonly double[,] W = { { 0.2, -0.1 }, { 0.4, 0.3 }, { -0.5, 0.6 } };
    private static readonly double[] B = [0.1, -0.2];
    private const double Lr = 0.1;

    private static (double[] Kernel, double[] Bias, double Loss) HandStep()
    {
        const int n = 2, inDim = 3, units = 2;
        var dy = new double[n, units];
        double loss = 0;
        for (int r = 0; r < n; r++)
        {
            for (int u = 0; u < units; u++)
            {
                double y = B[u];
                for (int k = 0; k < inDim; k++) y += X[r, k] * W[k, u];
                double e = y - T[r, u];
                loss += e * e / (n * units);
                dy[r, u] = 2 * e / (n * units);
            }
        }
        var kernel = new double[inDim * units];
        for (int k = 0; k < inDim; k++)
        {
            for (int u = 0; u < units; u++)
            {
                double grad = 0;
                for (int r = 0; r < n; r++) grad += X[r, k] * dy[r, u];
                kernel[k * units + u] = W[k, u] - Lr * grad;
            }
        }
        var bias = new double[units];
        for (int u = 0; u < units; u++) bias[u] = B[u] - Lr * (dy[0, u] + dy[1, u]);
        return (kernel, bias, loss);
    }

    private static (Sequential Model, Dense Dense) MakeModel()
    {
        var dense = new Dense(2);
        var model = new Sequential(new InputLayer([3]), dense);
        dense.Kernel.Assign(W.Cast<double>().Select(v => (float)v).ToArray());
        dense.Bias!.Assign(B.Select(v => (float)v).ToArray());
        model.Compile(optimizer: new SGD(Lr), loss: "mse");
        return (model, dense);
    }

    private static float[,] F(double[,] a)
    {
        var r = new float[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) r[i, j] = (float)a[i, j];
        return r;
    }

    [Fact]
    public void TrainOnBatch_OneSgdStep_GivesTheHandComputedWeights()
    {
        var (kernel, bias, loss) = HandStep();
        var (model, dense) = MakeModel();
        using var _ = model;
        var logs = model.TrainOnBatch(F(X), F(T));
        Assert.Equal(loss, logs["loss"], 1e-6);
        AllClose(kernel, dense.Kernel.ToArray().Select(v => (double)v).ToArray(), rtol: 1e-5, atol: 1e-6);
        AllClose(bias, dense.Bias!.ToArray().Select(v => (double)v).ToArray(), rtol: 1e-5, atol: 1e-6);
        Assert.Equal(1, model.Optimizer.Iterations);
    }

    [Fact]
    public void Fit_OneBatchOneEpoch_GivesTheHandComputedWeights()
    {
        var (kernel, bias, loss) = HandStep();
        var (model, dense) = MakeModel();
        using var _ = model;
        var history = model.Fit(F(X), F(T), batchSize: 2, epochs: 1, verbose: 0, shuffle: false);
        Assert.Equal(loss, history["loss"][0], 1e-6);
        AllClose(kernel, dense.Kernel.ToArray().Select(v => (double)v).ToArray(), rtol: 1e-5, atol: 1e-6);
        AllClose(bias, dense.Bias!.ToArray().Select(v => (double)v).ToArray(), rtol: 1e-5, atol: 1e-6);
        Assert.Equal(1, model.Optimizer.Iterations);
    }

    [Fact]
    public void RecompilingWithTheSameOptimizer_KeepsItsState()
    {
        // y = w x with x = 1, t = 0: L = w^2, dL/dw = 2w. SGD lr 0.1, momentum 0.5 (m = 0.5 m - lr g; w += m):
        // step 1: g = 2, m = -0.2, w = 0.8; recompile with the same optimizer;
        // step 2: g = 1.6, m = 0.5 * -0.2 - 0.16 = -0.26, w = 0.54 (a lost momentum would give 0.64).
        var dense = new Dense(1, useBias: false, kernelInitializer: new Ones());
        using var model = new Sequential(new InputLayer([1]), dense);
        var opt = new SGD(0.1, momentum: 0.5);
        model.Compile(optimizer: opt, loss: "mse");
        var x = new float[,] { { 1f } };
        var t = new float[,] { { 0f } };
        model.TrainOnBatch(x, t);
        AllClose([0.8], dense.Kernel.ToArray().Select(v => (double)v).ToArray(), rtol: 1e-5, atol: 1e-6);
        model.Compile(optimizer: opt, loss: "mse");
        model.TrainOnBatch(x, t);
        AllClose([0.54], dense.Kernel.ToArray().Select(v => (double)v).ToArray(), rtol: 1e-5, atol: 1e-6);
        Assert.Equal(2, opt.Iterations);
    }
}
