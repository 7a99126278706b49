namespace OnnxKeras;

/// <summary>
/// The typed description of one <see cref="Ops"/> call, the counterpart of Keras's one <c>Operation</c> class per op: a
/// sealed record per op whose fields are the op's arguments other than its tensors. An op reports an instance to the
/// <see cref="IOpTracer"/> when it runs on a traced tensor (ONNX export); the exporter's emitters are keyed by the record
/// type. Every non-abstract subclass must have an emitter for every supported opset (a test enumerates them).
/// </summary>
internal abstract record OpInfo
{
    /// <summary>The op's name in the value names of an exported graph: the record's type name without the <c>Op</c> suffix.</summary>
    public virtual string Name => GetType().Name is var n && n.EndsWith("Op", StringComparison.Ordinal) ? n[..^2] : n;
}
