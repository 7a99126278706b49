using static TorchSharp.torch;

namespace OnnxKeras.Models.Jit;

/// <summary>
/// A model's inference forward pass (<c>training: false</c>) as one TorchScript function, traced as the compiled training
/// step traces it. Not used by Predict: it exists to measure whether compiling pays for inference (bench
/// <c>inference --jit</c>; bench/NOTES.md, "Compiled training step"), and it is checked against the eager forward pass
/// on the tracing batch like the training step.
/// </summary>
internal sealed class CompiledForward : IDisposable
{
    private readonly TorchSharp.torch.jit.CompilationUnit unit;
    private readonly ScriptArguments arguments;

    private CompiledForward(TorchSharp.torch.jit.CompilationUnit unit, ScriptArguments arguments)
    {
        this.unit = unit;
        this.arguments = arguments;
    }

    /// <summary>Traces and compiles the forward pass of a one-output model on example inputs <paramref name="x"/> (on the model's device, float32).</summary>
    /// <exception cref="NotCompilableException">The forward pass has no compiled form.</exception>
    public static CompiledForward Build(Model model, Tensor[] x)
    {
        using var scope = NewDisposeScope();
        var weights = model.Weights;
        var tracer = new ScriptTracer(weights);
        IReadOnlyList<KTensor> outputs;
        // As in the training step's trace: every variable requires grad, so operands computed from them outside Ops are refused.
        foreach (var v in weights) v.Value.requires_grad_(true);
        try
        {
            outputs = model.ApplyMany(x.Select((t, i) => tracer.Input($"x{i}", t)).ToList(), training: false);
        }
        finally
        {
            foreach (var v in weights) v.Value.requires_grad_(v.Trainable);
        }
        if (outputs.Count != 1 || outputs[0].Tracer != tracer) throw new NotCompilableException("the model needs one output computed through Ops");
        var header = ScriptArguments.Header(tracer.InputNames, tracer);
        var source = $"def forward({header}) -> Tensor:\n{string.Join("\n", tracer.Lines)}\n    return {outputs[0].Symbol}\n";
        var compiled = new CompiledForward(TorchSharp.torch.jit.compile(source), new ScriptArguments(tracer, x.Length));
        using var check = compiled.Invoke(x).detach();
        if (!check.allclose(outputs[0].Value, 1e-5, 1e-5))
        {
            compiled.Dispose();
            throw new NotCompilableException("the compiled forward pass does not reproduce the eager one");
        }
        return compiled;
    }

    /// <summary>The model's output for <paramref name="x"/> (inputs prepared as Predict prepares them).</summary>
    public Tensor Invoke(Tensor[] x) => (Tensor)arguments.Invoke(unit, "forward", x);

    public void Dispose()
    {
        unit.Dispose();
        arguments.Dispose();
    }
}
