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
        using var session = path is not null ? OnnxModel.Load(path, SessionOptions) : OnnxModel.Load(onnx, SessionOptions);
        double worst = 0;
        var generator = new Generator(777);
        foreach (long batch in options.BatchDimension is null ? [options.FixedBatchSize] : new long[] { 1, 3 })
        {
            using var scope = NewDisposeScope();
            var tensors = session.Inputs
                .Select(i => rand(i.Dimensions.Select((d, k) => d.Value ?? (k == 0 ? batch : 4L)).ToArray(), ScalarType.Float32, generator: generator))
                .ToList();
            worst = Math.Max(worst, Compare(model, session, tensors, Atol, Rtol, $"batch {batch}, opset {options.Opset}"));
        }
        return worst;
    }

    /// <summary>
    /// Runs <paramref name="onnx"/> in ONNX Runtime (CPU, one thread) and the TorchSharp forward of <paramref name="model"/>
    /// (inference mode) on the same <paramref name="inputs"/>, and returns the largest absolute difference; throws
    /// <see cref="OnnxExportException"/> when an output differs in size or anywhere |ort - torch| &gt; atol + rtol |torch|.
    /// </summary>
    /// <param name="model">The model that was exported.</param>
    /// <param name="onnx">The exported bytes.</param>
    /// <param name="inputs">float32 CPU tensors, one per ONNX input in the graph's input order (the model's input order).</param>
    /// <param name="atol">Absolute tolerance (the export check uses <see cref="Atol"/>).</param>
    /// <param name="rtol">Relative tolerance (the export check uses <see cref="Rtol"/>).</param>
    /// <param name="context">Text added to the failure message (for example the batch and the opset).</param>
    public static double Compare(Model model, byte[] onnx, IReadOnlyList<Tensor> inputs, double atol = Atol, double rtol = Rtol, string? context = null)
    {
        using var session = OnnxModel.Load(onnx, SessionOptions);
        return Compare(model, session, inputs, atol, rtol, context);
    }

    private static InferenceOptions SessionOptions => new() { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 };

    private static double Compare(Model model, OnnxModel session, IReadOnlyList<Tensor> inputs, double atol, double rtol, string? context)
    {
        if (inputs.Count != session.Inputs.Count)
            throw new ArgumentException($"The ONNX model has {session.Inputs.Count} inputs but {inputs.Count} were given.", nameof(inputs));
        using var scope = NewDisposeScope();
        var tensors = inputs.Select(t => t.to_type(ScalarType.Float32).cpu().contiguous()).ToList();
        var expected = model.ApplyMany(tensors.Select(t => (KTensor)t.to(Keras.Device)).ToList(), training: false)
            .Select(t => t.Value.cpu().contiguous()).ToList();
        var feeds = session.Inputs.Select((i, k) => (i.Name, Value: new TensorInput(tensors[k].data<float>().ToArray(), tensors[k].shape)))
                                  .ToDictionary(f => f.Name, f => f.Value);
        var results = session.Predict(feeds);
        var outputs = session.Outputs.Select(o => (o.Name, Result: results[o.Name])).ToList();
        if (outputs.Count != expected.Count)
            throw new OnnxExportException($"Verification failed: the ONNX model has {outputs.Count} outputs and the TorchSharp forward {expected.Count}.");
        string where = context is null ? "" : $" ({context})";
        double worst = 0;
        for (int k = 0; k < expected.Count; k++)
        {
            if (outputs[k].Result.Values is long[] ints)
            {
                // Integer outputs (the lookup layers' indices and tokens) must match exactly.
                var refInts = expected[k].to_type(ScalarType.Int64).data<long>().ToArray();
                int bad = refInts.Length != ints.Length ? -1 : FirstDiff(ints, refInts);
                if (bad >= 0 || refInts.Length != ints.Length)
                    throw new OnnxExportException($"Verification failed: int64 output '{outputs[k].Name}' " + (refInts.Length != ints.Length
                        ? $"has {ints.Length} values in ONNX Runtime and {refInts.Length} in TorchSharp{where}."
                        : $"element {bad} is {ints[bad]} in ONNX Runtime but {refInts[bad]} in TorchSharp{where}."));
                continue;
            }
            var actual = outputs[k].Result.Data;
            var reference = expected[k].data<float>().ToArray();
            if (actual.Length != reference.Length)
                throw new OnnxExportException($"Verification failed: output '{outputs[k].Name}' has {actual.Length} values in ONNX Runtime " +
                    $"and {reference.Length} in TorchSharp{where}.");
            for (int j = 0; j < actual.Length; j++)
            {
                double diff = Math.Abs(actual[j] - reference[j]);
                worst = Math.Max(worst, diff);
                if (!(diff <= atol + rtol * Math.Abs(reference[j])))
                    throw new OnnxExportException($"Verification failed: output '{outputs[k].Name}' element {j} is {actual[j]} in ONNX Runtime " +
                        $"but {reference[j]} in TorchSharp{where}.");
            }
        }
        return worst;
    }

    private static int FirstDiff(long[] a, long[] b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i]) return i;
        }
        return -1;
    }
}
