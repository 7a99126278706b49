using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Export;

/// <summary>Runs exported bytes in ONNX Runtime and compares with the TorchSharp forward of the model.</summary>
internal static class OnnxTestHelpers
{
    /// <summary>Every opset the exporter supports.</summary>
    public static readonly int[] Opsets = [17, 18, 19, 20, 21];

    /// <summary><see cref="Opsets"/> as theory data.</summary>
    public static TheoryData<int> AllOpsets => new(Opsets);

    public static float[][] RunOrt(byte[] onnx, params (string Name, float[] Data, long[] Shape)[] inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(onnx, options);
        var feeds = inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<float>(i.Data, i.Shape.Select(d => (int)d).ToArray()))).ToList();
        using var results = session.Run(feeds);
        return results.Select(r => r.AsTensor<float>().ToArray()).ToArray();
    }

    /// <summary>Exports, runs ONNX Runtime and TorchSharp on the same random inputs of batch <paramref name="batch"/>, asserts |diff| &lt;= 1e-5 + 1e-4 |ref|.</summary>
    public static void AssertParity(Model model, byte[] onnx, long batch, int seed = 1, IReadOnlyList<string>? inputNames = null)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var shapes = model.Graph?.Inputs.Select(t => t.Shape).ToList() ?? model.BuildInputShapes!.ToList();
        var xs = shapes.Select(s => rand(s.Select((d, i) => i == 0 ? batch : d ?? 4).ToArray(), ScalarType.Float32, generator: generator)).ToList();
        var expected = model.ApplyMany(xs.Select(x => (KTensor)x).ToList()).Select(t => t.Value.contiguous().data<float>().ToArray()).ToList();
        var names = inputNames ?? model.InputNames;
        var actual = RunOrt(onnx, xs.Select((x, i) => (names[i], x.contiguous().data<float>().ToArray(), x.shape)).ToArray());
        Assert.Equal(expected.Count, actual.Length);
        for (int k = 0; k < expected.Count; k++)
        {
            Assert.Equal(expected[k].Length, actual[k].Length);
            for (int j = 0; j < actual[k].Length; j++)
                Assert.True(Math.Abs(actual[k][j] - expected[k][j]) <= 1e-5 + 1e-4 * Math.Abs(expected[k][j]),
                    $"output {k} element {j}: onnx {actual[k][j]} vs torch {expected[k][j]}");
        }
    }
}
