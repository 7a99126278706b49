using OnnxKeras.Export.Lowering;
using OnnxKeras.Export.Tracing;
using OnnxKeras.Layers;
using static TorchSharp.torch;

namespace OnnxKeras.Export;

/// <summary>What an explicit lowering gets: the traced inputs and a way to write ONNX ops that have no <see cref="Ops"/> counterpart.</summary>
public sealed class LoweringArgs
{
    private readonly TraceRecorder recorder;

    internal LoweringArgs(IReadOnlyList<KTensor> inputs, TraceRecorder recorder)
    {
        Inputs = inputs;
        this.recorder = recorder;
    }

    /// <summary>The layer's traced inputs (their <see cref="KTensor.Value"/> is example data of the right shape).</summary>
    public IReadOnlyList<KTensor> Inputs { get; }

    /// <summary>
    /// Writes the ONNX op <paramref name="opType"/> (default domain) on <paramref name="inputs"/> (traced values or constants
    /// such as weights) with <paramref name="attributes"/> (long or int, double or float, string, and arrays of them);
    /// <paramref name="example"/> is the op's result on the inputs' example data, computed eagerly by the caller (it gives
    /// the output's shape and type).
    /// </summary>
    public KTensor OnnxNode(string opType, IReadOnlyList<KTensor> inputs, Tensor example, params (string Name, object Value)[] attributes) =>
        recorder.Record(new OnnxNodeOp(opType, attributes), inputs, example);

    /// <summary>
    /// Writes the ONNX op <paramref name="opType"/> with several outputs (e.g. LSTM's Y, Y_h, Y_c): <paramref name="examples"/>
    /// has one entry per output position, the output's eager result on the inputs' example data, or null for an output that
    /// is not wanted (written as an empty name). Attributes may also be double[] and string[] (e.g. an RNN's activations).
    /// Returns the traced outputs (null where not wanted).
    /// </summary>
    public IReadOnlyList<KTensor?> OnnxNodeOutputs(string opType, IReadOnlyList<KTensor> inputs, IReadOnlyList<Tensor?> examples,
        params (string Name, object Value)[] attributes)
    {
        // The node's own value is a placeholder; its outputs are the output ops' values (named once recorded).
        var nodeOp = new OnnxMultiOutputNodeOp(opType, attributes, new string[examples.Count]);
        var node = recorder.Record(nodeOp, inputs, empty(0));
        var outputs = new KTensor?[examples.Count];
        for (int k = 0; k < examples.Count; k++)
        {
            if (examples[k] is not { } example) continue;
            outputs[k] = recorder.Record(new OnnxNodeOutputOp(nodeOp, k), [node], example);
        }
        for (int k = 0; k < outputs.Length; k++) nodeOp.Outputs[k] = outputs[k]?.Symbol ?? "";
        return outputs;
    }
}

/// <summary>Lowerings by layer type; a lowering registered for a base type applies to subclasses.</summary>
internal sealed class LayerLoweringRegistry : ILayerLowerings
{
    private readonly Dictionary<Type, Func<Layer, LoweringArgs, IReadOnlyList<KTensor>>> lowerings = [];

    public void Register(Type type, Func<Layer, LoweringArgs, IReadOnlyList<KTensor>> lowering)
    {
        lock (lowerings) lowerings[type] = lowering;
    }

    public IReadOnlyList<KTensor>? TryLower(Layer layer, IReadOnlyList<KTensor> inputs, TraceRecorder recorder)
    {
        Func<Layer, LoweringArgs, IReadOnlyList<KTensor>>? lowering = null;
        lock (lowerings)
        {
            for (var t = layer.GetType(); t is not null && lowering is null; t = t.BaseType) lowerings.TryGetValue(t, out lowering);
        }
        return lowering?.Invoke(layer, new LoweringArgs(inputs, recorder));
    }
}

/// <summary>Explicit lowerings of a family of built-in layers, in their own file; registered when export starts.</summary>
internal interface ILayerLoweringFamily
{
    /// <summary>Registers the family's lowerings by layer type.</summary>
    void Register(LayerLoweringRegistry registry);
}
