using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Export;
using OnnxKeras.Layers;
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

    /// <summary>Sets every weight to random values (uniform in [-0.8, 0.8); variances in [0.5, 1.5)) so no weight is trivial.</summary>
    public static void RandomizeWeights(Layer model, int seed)
    {
        var generator = new Generator((ulong)seed);
        model.SetWeights(model.Weights.Select(v =>
        {
            var r = rand(v.Value.shape, ScalarType.Float32, generator: generator);
            var values = v.Name is "moving_variance" or "variance" ? r + 0.5 : r * 1.6 - 0.8; // variances stay positive
            return new NDArray(values.data<float>().ToArray(), v.Value.shape);
        }).ToList());
    }

    /// <summary>ONNX Runtime against the TorchSharp forward on random inputs (uniform [0, 1), generator seeded with
    /// <paramref name="seed"/>) of batch <paramref name="batch"/> (free non-batch dimensions 4), through
    /// <see cref="Verifier.Compare"/>: fails when |diff| &gt; 1e-5 + 1e-4 |ref|.</summary>
    public static void AssertParity(Model model, byte[] onnx, long batch, int seed = 1)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var shapes = model.Graph?.Inputs.Select(t => t.Shape).ToList() ?? model.BuildInputShapes!.ToList();
        var xs = shapes.Select(s => rand(s.Select((d, i) => i == 0 ? batch : d ?? 4).ToArray(), ScalarType.Float32, generator: generator)).ToArray();
        AssertParityOn(model, onnx, xs);
    }

    /// <summary>ONNX Runtime against the TorchSharp forward on the given inputs (one per model input, in order), through
    /// <see cref="Verifier.Compare"/>: fails when |diff| &gt; 1e-5 + 1e-4 |ref|.</summary>
    public static void AssertParityOn(Model model, byte[] onnx, params torch.Tensor[] inputs) =>
        Verifier.Compare(model, onnx, inputs, atol: 1e-5, rtol: 1e-4);
}
