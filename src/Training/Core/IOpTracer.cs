using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// The symbolic interpreter of <see cref="Ops"/> (used by ONNX export). When a layer runs on a traced
/// <see cref="KTensor"/>, every op computes its eager result on the tensor's example data (which gives the result's
/// shape and type) and reports itself here; the tracer returns a traced tensor for the result. Ops whose inputs are all
/// untraced (weights, constants) are not reported: their results are constants, which is constant folding for free.
/// </summary>
public interface IOpTracer
{
    /// <summary>Records op <paramref name="op"/> (an <see cref="Ops"/> method name) on <paramref name="inputs"/> with
    /// <paramref name="attributes"/>; <paramref name="example"/> is its eager result on the example data.</summary>
    KTensor Record(string op, IReadOnlyList<KTensor> inputs, Tensor example, IReadOnlyDictionary<string, object?>? attributes = null);

    /// <summary>
    /// Runs one layer call on traced inputs: the tracer may substitute an explicit lowering for the layer, scopes the
    /// names of the ops it records, and checks that <paramref name="call"/> produced traced outputs.
    /// </summary>
    IReadOnlyList<KTensor> CallLayer(Layers.Layer layer, IReadOnlyList<KTensor> inputs, Func<IReadOnlyList<KTensor>> call);
}
