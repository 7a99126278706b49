using OnnxKeras.Export.Onnx;
using OnnxKeras.Export.Tracing;
using static OnnxKeras.Export.Lowering.EmitterHelpers;
using static OnnxKeras.Export.Lowering.OpEmitters;

namespace OnnxKeras.Export.Lowering;

/// <summary>
/// Raw ONNX nodes with several outputs (<see cref="LoweringArgs.OnnxNodeOutputs"/>): the node is recorded as one op
/// (<see cref="NodeOp"/>, whose own value is a placeholder that nothing reads) followed by one <see cref="OutputOp"/> per
/// wanted output. The node writes its outputs under the output ops' value names, so the output ops write nothing; an
/// output op whose value was renamed (a model output) writes an Identity from the node's output to the new name.
/// </summary>
internal sealed class OnnxNodeEmitters : IEmitterFamily
{
    /// <summary>The recorded op of a multi-output ONNX node.</summary>
    public const string NodeOp = "OnnxNode";

    /// <summary>The recorded op of one output of a multi-output ONNX node.</summary>
    public const string OutputOp = "OnnxNodeOutput";

    /// <summary>Node attribute: the ONNX op type.</summary>
    public const string OpTypeKey = "_op_type";

    /// <summary>Node attribute: the value names of the outputs ("" for an output not wanted).</summary>
    public const string OutputsKey = "_outputs";

    /// <summary>Output attribute: the value name the output was recorded under.</summary>
    public const string RecordedNameKey = "_recorded_name";

    public void Register(Dictionary<string, Emitter> table)
    {
        table[NodeOp] = (ctx, op, shape) =>
        {
            var outputs = (string[])op.Attributes[OutputsKey]!;
            var opType = (string)op.Attributes[OpTypeKey]!;
            var node = new NodeProto { OpType = opType, Name = ctx.Fresh(op.Output + "/" + opType) };
            node.Input.AddRange(op.Inputs);
            int last = Array.FindLastIndex(outputs, o => o.Length > 0);
            node.Output.AddRange(outputs.Take(last + 1));
            foreach (var o in outputs) if (o.Length > 0) ctx.Reserve(o);
            node.Attribute.AddRange(op.Attributes.Where(a => !a.Key.StartsWith('_')).Select(a => Attribute(a.Key, a.Value)));
            ctx.Graph.Node.Add(node);
        };
        table[OutputOp] = (ctx, op, shape) =>
        {
            var recorded = (string)op.Attributes[RecordedNameKey]!;
            int elem = EmitContext.ElemType(op.DType);
            if (op.Output == recorded) ctx.ValueInfo[op.Output] = (shape, elem);
            else ctx.Node("Identity", [recorded], op.Output, shape, elem);
        };
    }
}
