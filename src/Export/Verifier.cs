using Microsoft.ML.OnnxRuntime;
using OnnxKeras.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Export;

/// <summary>
/// Runs an exported file in ONNX Runtime (CPU) and compares it with the TorchSharp forward on random inputs
/// (batch 1 and 3): fails when |ort - torch| &gt; 1e-5 + 1e-4 |torch| anywhere.
/// </summary>
public static class Verifier
{
    /// <summary>Absolute tolerance.</summary>
    public const double Atol = 1e-5;

    /// <summary>Relative tolerance.</summary>
    public const double Rtol = 1e-4;

    /// <summary>Returns the largest absolute difference; throws <see cref="OnnxExportException"/> on a mismatch.</summary>
    public static double Check(Model model, byte[] onnx, string? path, OnnxExportOptions options)
    {
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = path is not null ? new InferenceSession(path, sessionOptions) : new InferenceSession(onnx, sessionOptions);
        double worst = 0;
        var generator = new Generator(777);
        foreach (long batch in options.BatchDimension is null ? [options.FixedBatchSize] : new long[] { 1, 3 })
        {
            using var scope = NewDisposeScope();
            var inputs = session.InputMetadata.Select(kv => (kv.Key, Dims: kv.Value.Dimensions.Select((d, i) => d > 0 ? (long)d : i == 0 ? batch : 4L).ToArray())).ToList();
            var tensors = inputs.Select(i => rand(i.Dims, ScalarType.Float32, generator: generator)).ToList();
            var expected = model.ApplyMany(tensors.Select(t => (KTensor)t.to(Keras.Device)).ToList(), training: false).Select(t => t.Value.cpu().contiguous()).ToList();
            var feeds = inputs.Select((i, k) => NamedOnnxValue.CreateFromTensor(i.Key,
                new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(tensors[k].data<float>().ToArray(), i.Dims.Select(d => (int)d).ToArray()))).ToList();
            using var results = session.Run(feeds);
            var outputs = results.ToList();
            for (int k = 0; k < expected.Count; k++)
            {
                var actual = outputs[k].AsTensor<float>().ToArray();
                var reference = expected[k].data<float>().ToArray();
                if (actual.Length != reference.Length)
                    throw new OnnxExportException($"Verification failed: output '{outputs[k].Name}' has {actual.Length} values in ONNX Runtime and {reference.Length} in TorchSharp.");
                for (int j = 0; j < actual.Length; j++)
                {
                    double diff = Math.Abs(actual[j] - reference[j]);
                    worst = Math.Max(worst, diff);
                    if (!(diff <= Atol + Rtol * Math.Abs(reference[j])))
                        throw new OnnxExportException($"Verification failed: output '{outputs[k].Name}' element {j} is {actual[j]} in ONNX Runtime but {reference[j]} in TorchSharp (batch {batch}, opset {options.Opset}).");
                }
            }
        }
        return worst;
    }
}
