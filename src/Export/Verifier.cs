using OnnxKeras.Inference;
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
    /// <remarks>ONNX Runtime runs through <see cref="OnnxModel"/> (OnnxKeras.Inference) on the CPU with one thread, so the
    /// application needs an ONNX Runtime native package (for example Microsoft.ML.OnnxRuntime); without one the
    /// check throws <see cref="OnnxRuntimeNotFoundException"/>.</remarks>
    public static double Check(Model model, byte[] onnx, string? path, OnnxExportOptions options)
    {
        var inference = new InferenceOptions { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 };
        using var session = path is not null ? OnnxModel.Load(path, inference) : OnnxModel.Load(onnx, inference);
        double worst = 0;
        var generator = new Generator(777);
        foreach (long batch in options.BatchDimension is null ? [options.FixedBatchSize] : new long[] { 1, 3 })
        {
            using var scope = NewDisposeScope();
            var inputs = session.Inputs.Select(i => (i.Name, Dims: i.Dimensions.Select((d, k) => d.Value ?? (k == 0 ? batch : 4L)).ToArray())).ToList();
            var tensors = inputs.Select(i => rand(i.Dims, ScalarType.Float32, generator: generator)).ToList();
            var expected = model.ApplyMany(tensors.Select(t => (KTensor)t.to(Keras.Device)).ToList(), training: false).Select(t => t.Value.cpu().contiguous()).ToList();
            var feeds = inputs.Select((i, k) => (i.Name, Value: new TensorInput(tensors[k].data<float>().ToArray(), i.Dims)))
                              .ToDictionary(f => f.Name, f => f.Value);
            var results = session.Predict(feeds);
            var outputs = session.Outputs.Select(o => (o.Name, Result: results[o.Name])).ToList();
            for (int k = 0; k < expected.Count; k++)
            {
                var actual = outputs[k].Result.Data;
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
