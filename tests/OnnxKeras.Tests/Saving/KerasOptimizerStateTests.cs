using System.IO.Compression;
using System.Text;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using PureHDF;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>Optimizer state in Keras's order: Keras 3.9's own file restores, and ours are written and read in that order.</summary>
public class KerasOptimizerStateTests
{
    /// <summary>The arrays of <c>optimizer/vars/0..</c> of a weights file, in index order (scalars as one-element arrays).</summary>
    internal static List<(long[] Shape, double[] Data)> OptimizerVars(Stream weightsH5)
    {
        using var f = H5File.Open(weightsH5, leaveOpen: true);
        var vars = f.Group("optimizer").Group("vars");
        var result = new List<(long[], double[])>();
        foreach (var d in vars.Children().OfType<IH5Dataset>().OrderBy(d => int.Parse(d.Name)))
        {
            var shape = d.Space.Dimensions.Select(x => (long)x).ToArray();
            double[] data = d.Type.Class == H5DataTypeClass.FixedPoint
                ? [shape.Length == 0 ? d.Read<long>() : d.Read<long[]>()[0]]
                : shape.Length == 0 ? [d.Read<float>()] : d.Read<float[]>().Select(x => (double)x).ToArray();
            result.Add((shape, data));
        }
        return result;
    }

    internal static MemoryStream WeightsEntry(string kerasPath)
    {
        using var zip = ZipFile.OpenRead(kerasPath);
        var ms = new MemoryStream();
        using (var e = zip.GetEntry("model.weights.h5")!.Open()) e.CopyTo(ms);
        ms.Position = 0;
        return ms;
    }

    internal static (Model Model, string Stderr) LoadCapturingStderr(string path)
    {
        var stderr = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            var model = Model.LoadModel(path);
            return (model, captured.ToString());
        }
        finally
        {
            Console.SetError(stderr);
        }
    }

    [Fact]
    public void FlownetAdamStateIsStoredPerVariableByKeras39()
    {
        // The fixture's own layout (Keras 3.9.2): 0 iterations, 1 learning rate, then per trainable variable (kernel, bias
        // of each Dense) its momentum (signed) and its velocity (>= 0).
        using var h5 = WeightsEntry(Fixture("flownet_final_model.keras"));
        var vars = OptimizerVars(h5);
        Assert.Equal(18, vars.Count);
        Assert.Equal(21600, vars[0].Data[0]);
        Assert.Equal(0.001, vars[1].Data[0], 1e-9);
        long[][] shapes = [[2, 128], [128], [128, 64], [64], [64, 32], [32], [32, 2], [2]];
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(shapes[i], vars[2 + 2 * i].Shape);
            Assert.Equal(shapes[i], vars[3 + 2 * i].Shape);
            Assert.Contains(vars[2 + 2 * i].Data, x => x < 0);
            Assert.All(vars[3 + 2 * i].Data, x => Assert.True(x >= 0));
        }
    }

    [Fact]
    public void FlownetAdamStateRestoresAndTheFirstStepIsTheOneKerasMomentsPredict()
    {
        // The fixture's Dropout(0.2) would make the step random; this copy differs only in its rate (0.0): the weights file,
        // with Keras's optimizer state, is the fixture's own.
        using var dir = NewTempDir();
        var path = dir.File("flownet_no_dropout.keras");
        using (var src = ZipFile.OpenRead(Fixture("flownet_final_model.keras")))
        using (var dst = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            foreach (var e in src.Entries)
            {
                using var r = e.Open();
                using var ms = new MemoryStream();
                r.CopyTo(ms);
                var bytes = ms.ToArray();
                if (e.FullName == "config.json")
                {
                    var text = Encoding.UTF8.GetString(bytes);
                    Assert.Contains("\"rate\": 0.2", text);
                    bytes = Encoding.UTF8.GetBytes(text.Replace("\"rate\": 0.2", "\"rate\": 0.0"));
                }
                using var w = dst.CreateEntry(e.FullName).Open();
                w.Write(bytes);
            }
        }
        using var h5 = WeightsEntry(path);
        var stored = OptimizerVars(h5);

        var (model, stderr) = LoadCapturingStderr(path);
        using var _ = model;
        Assert.DoesNotContain("optimizer", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(21600, model.Optimizer.Iterations);

        var dense = model.Layers.OfType<Dense>().ToList();
        double[][] W = dense.Select(d => d.Weights[0].ToArray().Select(v => (double)v).ToArray()).ToArray();
        double[][] B = dense.Select(d => d.Weights[1].ToArray().Select(v => (double)v).ToArray()).ToArray();
        int[] widths = [2, 128, 64, 32, 2];

        const int batch = 6;
        var x = new float[batch, 2];
        var y = new float[batch, 2];
        var rng = new Random(11);
        for (int s = 0; s < batch; s++)
        {
            for (int j = 0; j < 2; j++)
            {
                x[s, j] = (float)(rng.NextDouble() * 2 - 1);
                y[s, j] = (float)(rng.NextDouble() * 2 - 1);
            }
        }

        // Forward by hand to the last Dense's input h and its output.
        var h = new double[batch][];
        var yhat = new double[batch, 2];
        for (int s = 0; s < batch; s++)
        {
            double[] a = [x[s, 0], x[s, 1]];
            for (int k = 0; k < 4; k++)
            {
                int nIn = widths[k], nOut = widths[k + 1];
                var o = new double[nOut];
                for (int j = 0; j < nOut; j++)
                {
                    double acc = B[k][j];
                    for (int i = 0; i < nIn; i++) acc += a[i] * W[k][i * nOut + j];
                    o[j] = k == 0 ? Math.Max(acc, 0) : k < 3 ? (acc > 0 ? acc : 0.2 * acc) : acc;
                }
                if (k == 3)
                {
                    yhat[s, 0] = o[0];
                    yhat[s, 1] = o[1];
                }
                else a = o;
            }
            h[s] = a;
        }
        // mse = mean over the batch and both outputs: dL/dyhat = 2 (yhat - y) / (batch * 2); last Dense: gW = h^T dy, gb = sum dy.
        var gW = new double[32 * 2];
        var gb = new double[2];
        for (int s = 0; s < batch; s++)
        {
            for (int j = 0; j < 2; j++)
            {
                double dy = 2 * (yhat[s, j] - y[s, j]) / (batch * 2);
                gb[j] += dy;
                for (int i = 0; i < 32; i++) gW[i * 2 + j] += h[s][i] * dy;
            }
        }
        // Keras 3's Adam from the stored moments of the last Dense (vars 14, 15: kernel m, v; 16, 17: bias m, v).
        const double b1 = 0.9, b2 = 0.999, eps = 1e-7;
        double lr = stored[1].Data[0];
        long t = (long)stored[0].Data[0] + 1;
        double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
        double[] Step(double[] w, double[] g, double[] m, double[] v) => w.Select((wi, i) =>
        {
            double mi = b1 * m[i] + (1 - b1) * g[i];
            double vi = b2 * v[i] + (1 - b2) * g[i] * g[i];
            return wi - alpha * mi / (Math.Sqrt(vi) + eps);
        }).ToArray();
        var expectedW = Step(W[3], gW, stored[14].Data, stored[15].Data);
        var expectedB = Step(B[3], gb, stored[16].Data, stored[17].Data);
        // A fresh Adam's first step would move each weight by about lr (1e-3); the stored moments give much smaller steps.
        var fresh = Step(W[3], gW, new double[64], new double[64]);
        Assert.True(expectedW.Zip(fresh).Max(p => Math.Abs(p.First - p.Second)) > 1e-4);

        model.TrainOnBatch(x, y);
        Assert.Equal(21601, model.Optimizer.Iterations);
        var actualW = dense[3].Weights[0].ToArray();
        var actualB = dense[3].Weights[1].ToArray();
        for (int i = 0; i < 64; i++) Assert.True(Math.Abs(expectedW[i] - actualW[i]) <= 2e-7, $"kernel {i}: expected {expectedW[i]}, got {actualW[i]} (before {W[3][i]})");
        for (int j = 0; j < 2; j++) Assert.True(Math.Abs(expectedB[j] - actualB[j]) <= 2e-7, $"bias {j}: expected {expectedB[j]}, got {actualB[j]} (before {B[3][j]})");
    }

    [Fact]
    public void ResavingFlownetWritesKerasOwnOptimizerVariables()
    {
        using var dir = NewTempDir();
        var path = dir.File("again.keras");
        using (var model = Model.LoadModel(Fixture("flownet_final_model.keras"))) model.Save(path);
        using var theirs = WeightsEntry(Fixture("flownet_final_model.keras"));
        using var ours = WeightsEntry(path);
        var expected = OptimizerVars(theirs);
        var actual = OptimizerVars(ours);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Shape, actual[i].Shape);
            Assert.Equal(expected[i].Data, actual[i].Data);
        }
    }
}
