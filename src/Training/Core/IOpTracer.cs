using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// The symbolic interpreter of <see cref="Ops"/> (used by ONNX export). When a layer runs on a traced
/// <see cref="KTensor"/>, every op computes its eager result on the tensor's example data (which gives the result's
/// shape and type) and reports itself here; the tracer returns a traced tensor for the result. Ops whose inputs are all
/// untraced (weights, constants) are not reported: their results are constants, which is constant folding for free.
/// </summary>
internal interface IOpTracer
{
    /// <summary>Records <paramref name="op"/> on <paramref name="inputs"/>; <paramref name="example"/> is its eager result on the example data.</summary>
    KTensor Record(OpInfo op, IReadOnlyList<KTensor> inputs, Tensor example);

    /// <summary>
    /// Runs one layer call on traced inputs: the tracer may substitute an explicit lowering for the layer, scopes the
    /// names of the ops it records, and checks that <paramref name="call"/> produced traced outputs.
    /// </summary>
    IReadOnlyList<KTensor> CallLayer(Layers.Layer layer, IReadOnlyList<KTensor> inputs, Func<IReadOnlyList<KTensor>> call);
}
