using OnnxKeras.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models.Jit;

/// <summary>Why a model's step cannot be compiled; thrown inside a trace and caught by <see cref="CompiledStep"/>.</summary>
internal sealed class NotCompilableException(string reason) : Exception(reason);

/// <summary>
/// The tracer of a compiled training step: records the ops a model's forward pass computes on traced tensors as lines of
/// one TorchScript function. Untraced operands become function parameters: a model variable's own tensor (read afresh at
/// every step, so the optimizer's updates and rebinding reach it), or a constant captured now. The first problem ends the
/// trace with its reason (<see cref="NotCompilableException"/>): an op without a template, a layer whose outputs are
/// computed outside <see cref="Ops"/>, or an operand computed from variables outside the trace (the trace runs with every
/// variable requiring grad, so such an operand is recognized by its autograd history).
/// </summary>
internal sealed class ScriptTracer : IOpTracer
{
    private readonly Dictionary<Tensor, string> names = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, Variable> variables;
    private readonly Stack<string> scopes = new();
    private int counter;

    public ScriptTracer(IEnumerable<Variable> modelVariables)
    {
        variables = new Dictionary<Tensor, Variable>(ReferenceEqualityComparer.Instance);
        foreach (var v in modelVariables) variables.TryAdd(v.Value, v);
    }

    /// <summary>The body of the function, one assignment per line (indented).</summary>
    public List<string> Lines { get; } = [];

    /// <summary>The function's tensor inputs in order: traced inputs first (added by <see cref="Input"/>).</summary>
    public List<string> InputNames { get; } = [];

    /// <summary>The variables the script reads, as parameters <c>p0, p1, ...</c>.</summary>
    public List<Variable> Parameters { get; } = [];

    /// <summary>The constants the script reads, as parameters <c>c0, c1, ...</c> (detached copies).</summary>
    public List<Tensor> Constants { get; } = [];

    /// <summary>A traced input named <paramref name="name"/> with <paramref name="example"/> as its data.</summary>
    public KTensor Input(string name, Tensor example)
    {
        InputNames.Add(name);
        return KTensor.Traced(example, this, name);
    }

    public KTensor Record(OpInfo op, IReadOnlyList<KTensor> inputs, Tensor example)
    {
        var args = inputs.Select(NameOf).ToArray();
        var expression = ScriptOps.Expression(op, args, inputs)
            ?? throw new NotCompilableException($"{Where()}op {op.Name} has no compiled form for these arguments");
        return Emit(expression, example);
    }

    /// <summary>Appends <c>vN = expression</c> and returns vN traced, with <paramref name="example"/> as its data.</summary>
    private KTensor Emit(string expression, Tensor example)
    {
        string output = $"v{counter++}";
        Lines.Add($"    {output} = {expression}");
        return KTensor.Traced(example.detach(), this, output);
    }

    public IReadOnlyList<KTensor> CallLayer(Layer layer, IReadOnlyList<KTensor> inputs, Func<IReadOnlyList<KTensor>> call)
    {
        scopes.Push(layer.Name);
        try
        {
            IReadOnlyList<KTensor> outputs;
            try
            {
                outputs = call();
            }
            catch (NotSupportedException e)
            {
                throw new NotCompilableException($"layer '{layer.Name}' ({layer.GetType().Name}): {e.Message}");
            }
            // Dropout in training calls libtorch's dropout directly: the same call in the script draws from the same generator.
            if (layer is Dropout dropout && inputs.Count == 1 && outputs.Count == 1 && outputs[0].Tracer != this)
            {
                // The trace restores the CPU generator only (TorchSharp does not expose a CUDA generator's state).
                if (outputs[0].Value.device_type != DeviceType.CPU)
                    throw new NotCompilableException($"layer '{layer.Name}' (Dropout) draws on {outputs[0].Value.device_type}, whose generator " +
                        "the trace cannot restore");
                return [Emit($"torch.dropout({NameOf(inputs[0])}, {ScriptOps.Lit(dropout.Rate)}, True)", outputs[0].Value)];
            }
            if (outputs.Any(o => o.Tracer != this))
                throw new NotCompilableException($"layer '{layer.Name}' ({layer.GetType().Name}) computes outside Ops (raw TorchSharp), so " +
                    "its computation is not known to the compiled step");
            return outputs;
        }
        finally
        {
            scopes.Pop();
        }
    }

    /// <summary>The value name of a traced tensor, a variable (parameter) or a constant (captured on first use).</summary>
    public string NameOf(KTensor t)
    {
        if (t.Tracer == this) return t.Symbol!;
        if (t.Tracer is not null) throw new NotCompilableException("a tensor of another trace was used");
        var value = t.Value;
        if (names.TryGetValue(value, out var known)) return known;
        string name;
        if (variables.TryGetValue(value, out var variable))
        {
            name = $"p{Parameters.Count}";
            Parameters.Add(variable);
        }
        else if (value.requires_grad)
        {
            throw new NotCompilableException($"{Where()}an operand is computed from the model's variables outside Ops (its value would be " +
                "frozen into the compiled step)");
        }
        else
        {
            name = $"c{Constants.Count}";
            Constants.Add(value.detach().clone().DetachFromDisposeScope());
        }
        names[value] = name;
        return name;
    }

    private string Where() => scopes.Count > 0 ? $"layer '{scopes.Peek()}': " : "";
}
