using OnnxKeras.Export.Onnx;
using static OnnxKeras.Export.Lowering.EmitContext;
using static OnnxKeras.Export.Lowering.EmitterHelpers;

namespace OnnxKeras.Export.Lowering;

/// <summary>A raw ONNX node with one output (<see cref="LoweringArgs.OnnxNode"/>); its values are named <c>onnx:OpType</c>.</summary>
internal sealed record OnnxNodeOp(string OpType, IReadOnlyList<(string Name, object Value)> Attributes) : OpInfo
{
    /// <inheritdoc />
    public override string Name => "onnx:" + OpType;
}

/// <summary>
/// A raw ONNX node with several outputs (<see cref="LoweringArgs.OnnxNodeOutputs"/>). <paramref name="Outputs"/> holds the
/// value names of the outputs ("" for an output not wanted), filled in once the <see cref="OnnxNodeOutputOp"/>s are recorded.
/// </summary>
internal sealed record OnnxMultiOutputNodeOp(string OpType, IReadOnlyList<(string Name, object Value)> Attributes, string[] Outputs) : OpInfo
{
    /// <inheritdoc />
    public override string Name => "OnnxNode";
}

/// <summary>Output <paramref name="Index"/> of <paramref name="Node"/>.</summary>
internal sealed record OnnxNodeOutputOp(OnnxMultiOutputNodeOp Node, int Index) : OpInfo
{
    /// <inheritdoc />
    public override string Name => "OnnxNodeOutput";
}

/// <summary>
/// Raw ONNX nodes. A node with several outputs is recorded as one op (<see cref="OnnxMultiOutputNodeOp"/>, whose own value
/// is a placeholder that nothing reads) followed by one <see cref="OnnxNodeOutputOp"/> per wanted output. The node writes its
/// outputs under the output ops' value names, so the output ops write nothing; an output op whose value was renamed (a
/// model output) writes an Identity from the node's output to the new name.
/// </summary>
internal sealed class OnnxNodeEmitters : IEmitterFamily
{
    public void Register(EmitterTable table)
    {
        table.Add<OnnxNodeOp>((ctx, op, a, shape) =>
            ctx.Node(a.OpType, op.Inputs, op.Output, shape, ElemType(op.DType), a.Attributes.Select(p => Attribute(p.Name, p.Value)).ToArray()));
        table.Add<OnnxMultiOutputNodeOp>((ctx, op, a, shape) =>
        {
            var node = new NodeProto { OpType = a.OpType, Name = ctx.Fresh(op.Output + "/" + a.OpType) };
            node.Input.AddRange(op.Inputs);
            int last = Array.FindLastIndex(a.Outputs, o => o.Length > 0);
            node.Output.AddRange(a.Outputs.Take(last + 1));
            foreach (var o in a.Outputs) if (o.Length > 0) ctx.Reserve(o);
            node.Attribute.AddRange(a.Attributes.Select(p => Attribute(p.Name, p.Value)));
            ctx.Graph.Node.Add(node);
        });
        table.Add<OnnxNodeOutputOp>((ctx, op, a, shape) =>
        {
            var recorded = a.Node.Outputs[a.Index];
            int elem = ElemType(op.DType);
            if (op.Output == recorded) ctx.ValueInfo[op.Output] = (shape, elem);
            else ctx.Node("Identity", [recorded], op.Output, shape, elem);
        });
    }
}
