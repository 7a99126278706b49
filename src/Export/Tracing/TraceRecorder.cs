using OnnxKeras.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Tracing;

/// <summary>One op recorded while tracing: its typed record, input value names, output value name and example output's shape and type.</summary>
internal sealed record RecordedOp(OpInfo Op, string[] Inputs, string Output, long[] Shape, ScalarType DType, string Scope);

/// <summary>The stand-in output of a layer that could not be traced; the export fails before any emitter sees it.</summary>
internal sealed record UnsupportedOp : OpInfo;

/// <summary>
/// The tracer of one export run: records the ops layers compute on traced tensors, names values by layer scope, turns
/// untraced operands (weights, folded constants) into constants, and collects layers that produced untraced outputs
/// (they compute outside <see cref="Ops"/> and need an explicit lowering) or threw <see cref="NotSupportedException"/>
/// (no ONNX form). Other exceptions from a layer or its lowering are bugs and surface at once.
/// </summary>
internal sealed class TraceRecorder : IOpTracer
{
    private readonly Dictionary<Tensor, string> constantNames = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, string> variableNames;
    private readonly Stack<string> scopes = new();
    private readonly HashSet<string> usedNames = new(StringComparer.Ordinal);
    private readonly ILayerLowerings lowerings;


    public TraceRecorder(IReadOnlyDictionary<Tensor, string> variableNames, ILayerLowerings lowerings)
    {
        this.variableNames = new Dictionary<Tensor, string>(variableNames, ReferenceEqualityComparer.Instance);
        this.lowerings = lowerings;
    }

    public List<RecordedOp> Ops { get; } = [];

    /// <summary>Constants by value name, in first-use order (weights keep their variable path as name).</summary>
    public List<(string Name, Tensor Value)> Constants { get; } = [];

    /// <summary>Layers that could not be traced, with the reason.</summary>
    public List<string> Unsupported { get; } = [];

    public KTensor Input(string name, Tensor example)
    {
        usedNames.Add(name);
        return KTensor.Traced(example, this, name);
    }

    public KTensor Record(OpInfo op, IReadOnlyList<KTensor> inputs, Tensor example)
    {
        var names = inputs.Select(NameOf).ToArray();
        string scope = scopes.Count > 0 ? scopes.Peek() : "";
        string output = Fresh(scope.Length > 0 ? $"{scope}/{op.Name}" : op.Name);
        var result = example.detach();
        Ops.Add(new RecordedOp(op, names, output, result.shape, result.dtype, scope));
        return KTensor.Traced(result, this, output);
    }

    public IReadOnlyList<KTensor> CallLayer(Layer layer, IReadOnlyList<KTensor> inputs, Func<IReadOnlyList<KTensor>> call)
    {
        string scope = scopes.Count > 0 ? $"{scopes.Peek()}/{layer.Name}" : layer.Name;
        scopes.Push(scope);
        try
        {
            IReadOnlyList<KTensor> outputs;
            try
            {
                outputs = lowerings.TryLower(layer, inputs, this) ?? call();
            }
            catch (NotSupportedException e)
            {
                // The layer (or its lowering) says it has no ONNX form: collect it and go on, so one error lists every such layer.
                Unsupported.Add($"{layer.Name} ({layer.GetType().Name}): {e.Message}");
                return Placeholders(layer, inputs);
            }
            catch (Exception e) when (e is not OnnxExportException)
            {
                // Anything else is a bug in the layer, its lowering or the exporter: surface it (with the layer named), never
                // disguise it as a missing ONNX form. Outer layers let the OnnxExportException through unchanged.
                throw new OnnxExportException(
                    $"Exporting layer '{layer.Name}' ({layer.GetType().Name}) failed with {e.GetType().Name}: {e.Message} " +
                    "This is an error in the layer, its lowering or the exporter, not a missing ONNX form (see the inner exception).", e);
            }
            if (outputs.All(o => o.Tracer == this)) return outputs;
            Unsupported.Add($"{layer.Name} ({layer.GetType().Name}): it computes outside Ops (raw TorchSharp), " +
                "so it needs an explicit ONNX lowering (OnnxExport.RegisterLowering)");
            return outputs.Select(o => o.Tracer == this ? o : Record(new UnsupportedOp(), inputs, o.Value)).ToList();
        }
        finally
        {
            scopes.Pop();
        }
    }

    /// <summary>Stand-ins with the layer's output shapes, so tracing goes on and finds every unsupported layer.</summary>
    private IReadOnlyList<KTensor> Placeholders(Layer layer, IReadOnlyList<KTensor> inputs)
    {
        IReadOnlyList<Shape> shapes;
        try
        {
            shapes = layer.ComputeOutputShapes(inputs.Select(i => Shape.Of(i.Value.shape)).ToList());
        }
        catch (ArgumentException)
        {
            shapes = [Shape.Of(inputs[0].Value.shape)];
        }
        return shapes.Select(s => Record(new UnsupportedOp(), inputs,
            zeros(s.Select(d => d ?? 1).ToArray(), inputs[0].Value.dtype, inputs[0].Value.device))).ToList();
    }

    /// <summary>The value name of a traced tensor, or of a constant (registered on first use).</summary>
    public string NameOf(KTensor t)
    {
        if (t.Tracer == this) return t.Symbol!;
        if (t.Tracer is not null) throw new OnnxExportException("A tensor from another export run was used; export one model at a time.");
        var value = t.Value;
        if (constantNames.TryGetValue(value, out var existing)) return existing;
        string name = variableNames.TryGetValue(value, out var path) ? Fresh(path) : Fresh(scopes.Count > 0 ? $"{scopes.Peek()}/const" : "const");
        var copy = value.detach().cpu().contiguous().clone();
        constantNames[value] = name;
        Constants.Add((name, copy));
        return name;
    }

    private string Fresh(string baseName)
    {
        string name = baseName;
        for (int k = 1; !usedNames.Add(name); k++) name = $"{baseName}_{k}";
        return name;
    }
}

/// <summary>Explicit lowerings of layers whose ONNX form differs from (or cannot be traced from) their Call.</summary>
internal interface ILayerLowerings
{
    /// <summary>The lowered outputs, or null when the layer has no explicit lowering (its Call is traced).</summary>
    IReadOnlyList<KTensor>? TryLower(Layer layer, IReadOnlyList<KTensor> inputs, TraceRecorder recorder);
}
