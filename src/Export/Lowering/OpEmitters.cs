using OnnxKeras.Export.Tracing;

namespace OnnxKeras.Export.Lowering;

/// <summary>Writes the ONNX nodes of one recorded op of type <typeparamref name="TOp"/>; <paramref name="a"/> is the op's record (its arguments).</summary>
internal delegate void Emitter<in TOp>(EmitContext ctx, RecordedOp op, TOp a, long?[] shape) where TOp : OpInfo;

/// <summary>
/// The emitters of the op records (<see cref="OpInfo"/>), by record type. An emitter covers the opsets from the one it is
/// registered for up to the next emitter of the same op (tf2onnx's <c>version_N</c> idea); an emitter may also branch on
/// <see cref="EmitContext.Opset"/> itself. <see cref="Covers"/> makes the coverage checkable: a test asks it for every op
/// record type and every opset from <see cref="OnnxExportOptions.MinOpset"/> to <see cref="OnnxExportOptions.MaxOpset"/>.
/// </summary>
internal sealed class EmitterTable
{
    private readonly Dictionary<Type, SortedList<int, Action<EmitContext, RecordedOp, long?[]>>> emitters = [];

    /// <summary>Adds the emitter of <typeparamref name="TOp"/> for opsets from <paramref name="fromOpset"/> on.</summary>
    /// <exception cref="InvalidOperationException">The op already has an emitter from that opset.</exception>
    public void Add<TOp>(Emitter<TOp> emit, int fromOpset = OnnxExportOptions.MinOpset) where TOp : OpInfo
    {
        if (!emitters.TryGetValue(typeof(TOp), out var versions)) emitters[typeof(TOp)] = versions = [];
        if (!versions.TryAdd(fromOpset, (ctx, op, shape) => emit(ctx, op, (TOp)op.Op, shape)))
            throw new InvalidOperationException($"{typeof(TOp).Name} has two emitters from opset {fromOpset}.");
    }

    /// <summary>Whether op records of <paramref name="opType"/> have an emitter at <paramref name="opset"/>.</summary>
    public bool Covers(Type opType, int opset) => Find(opType, opset) is not null;

    /// <summary>Writes the nodes of <paramref name="op"/> at the context's opset.</summary>
    /// <exception cref="OnnxExportException">The op has no emitter at that opset.</exception>
    public void Emit(EmitContext ctx, RecordedOp op, long?[] shape)
    {
        var emit = Find(op.Op.GetType(), ctx.Opset)
            ?? throw new OnnxExportException($"Op '{op.Op.Name}' (in {op.Scope}) has no ONNX form at opset {ctx.Opset}.");
        emit(ctx, op, shape);
    }

    private Action<EmitContext, RecordedOp, long?[]>? Find(Type opType, int opset)
    {
        if (!emitters.TryGetValue(opType, out var versions)) return null;
        Action<EmitContext, RecordedOp, long?[]>? found = null;
        foreach (var (from, emit) in versions)
        {
            if (from > opset) break;
            found = emit;
        }
        return found;
    }
}

/// <summary>The table of every emitter: each <see cref="IEmitterFamily"/> in this assembly adds its own.</summary>
internal static class OpEmitters
{
    /// <summary>All emitters, built once.</summary>
    public static EmitterTable Table { get; } = Build();

    private static EmitterTable Build()
    {
        var table = new EmitterTable();
        foreach (var family in typeof(OpEmitters).Assembly.GetTypes().Where(t => typeof(IEmitterFamily).IsAssignableFrom(t) && !t.IsInterface))
            ((IEmitterFamily)Activator.CreateInstance(family)!).Register(table);
        // Tracing stops with the list of unsupported layers before anything is emitted; reaching this is a bug.
        table.Add<UnsupportedOp>((_, op, _, _) => throw new OnnxExportException($"In {op.Scope}: the layer has no ONNX form."));
        return table;
    }

    /// <summary>Writes the nodes of <paramref name="op"/>.</summary>
    public static void Emit(EmitContext ctx, RecordedOp op, long?[] shape) => Table.Emit(ctx, op, shape);
}

/// <summary>A family of op emitters in its own file (one per group of <see cref="Ops"/>); every implementation is registered when the emitters load.</summary>
internal interface IEmitterFamily
{
    /// <summary>Adds the family's emitters (by op record type) to <paramref name="table"/>.</summary>
    void Register(EmitterTable table);
}
