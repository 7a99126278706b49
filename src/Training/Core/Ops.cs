using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// The backend-neutral operations that layers, losses and metrics compute with (Keras's <c>keras.ops</c>), grouped as
/// Keras groups them: <c>Ops.Core.cs</c> (cast, slice, unstack), <c>Ops.Numpy.cs</c> (math, shapes, reductions),
/// <c>Ops.Nn.cs</c> and <c>Ops.Nn.Convolution.cs</c> (activations, normalization, convolution, pooling),
/// <c>Ops.Image.cs</c> (padding, cropping, resizing) and <c>Ops.Random.cs</c>. Every op here has Keras's semantics; the
/// eager implementation runs on TorchSharp. A layer written only with these ops needs no backend-specific code.
/// </summary>
/// <example><code>KTensor y = Ops.Relu(Ops.MatMul(x, kernel) + bias);</code></example>
public static partial class Ops
{
    /// <summary>
    /// Runs an op: computes it eagerly and, when an input is traced (ONNX export), reports <paramref name="op"/> (the op's
    /// typed record) to the tracer, which returns a traced result. With no traced input (the training path, or constants
    /// during export) it is a plain eager op.
    /// </summary>
    private static KTensor Emit(OpInfo op, IReadOnlyList<KTensor> inputs, Func<Tensor> eager)
    {
        IOpTracer? tracer = null;
        foreach (var t in inputs)
        {
            if (t.Tracer is not null)
            {
                tracer = t.Tracer;
                break;
            }
        }
        var result = eager();
        return tracer is null ? new KTensor(result) : tracer.Record(op, inputs, result);
    }

    /// <summary>An axis in [0, rank), from a Keras axis that may count from the end.</summary>
    private static int NormalizeAxis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentException($"{op}: axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }
}
