using System.Text;
using OnnxKeras.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models.Jit;

/// <summary>
/// A model's forward pass and loss as one TorchScript function for one input signature (shapes and dtypes of inputs,
/// labels and sample weights), compiled with <c>torch.jit.compile</c>. <c>step</c> also runs the backward pass in the
/// script (<c>torch.autograd.backward</c>: gradients accumulate into the variables' gradient buffers as eager backward
/// does); <c>forward</c> does not (a model without trainable weights). Both return the loss and the prediction.
/// </summary>
internal sealed class CompiledStep : IDisposable
{
    private readonly jit.CompilationUnit unit;
    private readonly ScriptArguments arguments;

    private CompiledStep(jit.CompilationUnit unit, ScriptArguments arguments, string source, Tensor prediction)
    {
        PredictionType = prediction.dtype;
        PredictionShape = prediction.shape;
        this.unit = unit;
        this.arguments = arguments;
        Source = source;
    }

    /// <summary>The dtype of the prediction.</summary>
    public ScalarType PredictionType { get; }

    /// <summary>The shape of the prediction for this signature.</summary>
    public long[] PredictionShape { get; }

    /// <summary>The generated TorchScript.</summary>
    public string Source { get; }

    /// <summary>
    /// Traces <paramref name="model"/> on one batch (<paramref name="x"/> prepared as Forward prepares inputs,
    /// <paramref name="y"/> the labels as given, optional weights) and compiles its
    /// step. The trace runs twice: constants that differ between the runs (random noise drawn in Call) make the model not
    /// compilable, as does a variable whose value the call changes (moving statistics); such a variable is restored. The
    /// compiled loss and prediction must match the eager ones on this batch within 1e-5, else the model is not compilable.
    /// </summary>
    /// <exception cref="NotCompilableException">The model's step has no compiled form; the message says why.</exception>
    public static CompiledStep Build(Model model, Loss loss, double lossWeight, Tensor[] x, Tensor y, Tensor? w)
    {
        var weights = model.Weights;
        using var scope = NewDisposeScope();
        var before = weights.Select(v => v.Value.detach().clone()).ToArray();
        // The traces draw random numbers (dropout masks, noise): the generators are restored afterwards, so the step that
        // follows draws what the eager step would have drawn.
        var rng = torch.random.get_rng_state();
        var kerasRng = Keras.Generator.get_state();
        void ResetRandom()
        {
            torch.random.set_rng_state(rng);
            Keras.Generator.set_state(kerasRng);
        }
        TraceResult? first = null, second = null;
        try
        {
            string? changed;
            try
            {
                first = Trace(model, x, weights);
                second = Trace(model, x, weights);
            }
            finally
            {
                ResetRandom();
                changed = RestoreChanged(weights, before);
            }
            if (changed is not null)
                throw new NotCompilableException($"variable '{changed}' changes during the call (a layer updates state in training, such as " +
                    "moving statistics)");
            if (first.Tracer.Constants.Count != second.Tracer.Constants.Count
                || first.Tracer.Constants.Zip(second.Tracer.Constants).Any(p => !Same(p.First, p.Second)))
                throw new NotCompilableException("a constant of the forward pass differs between calls (random draws in a layer's call)");
            return Compile(model, loss, lossWeight, first, x, y, w, ResetRandom);
        }
        catch
        {
            foreach (var c in first?.Tracer.Constants ?? []) c.Dispose();
            throw;
        }
        finally
        {
            foreach (var c in second?.Tracer.Constants ?? []) c.Dispose();
        }
    }

    /// <summary>Puts back every variable whose value differs from <paramref name="before"/>; returns the first one's path, or null.</summary>
    private static string? RestoreChanged(IReadOnlyList<Variable> weights, Tensor[] before)
    {
        string? first = null;
        using var _ = no_grad();
        for (int i = 0; i < weights.Count; i++)
        {
            if (Same(weights[i].Value.detach(), before[i])) continue;
            weights[i].Value.copy_(before[i]);
            first ??= weights[i].Path;
        }
        return first;
    }

    /// <summary>Same dtype, shape and values.</summary>
    private static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private sealed record TraceResult(ScriptTracer Tracer, KTensor Output);

    private static TraceResult Trace(Model model, Tensor[] x, IReadOnlyList<Variable> weights)
    {
        var tracer = new ScriptTracer(weights);
        // Every variable requires grad during the trace, so an operand computed from any of them outside Ops is recognized.
        foreach (var v in weights) v.Value.requires_grad_(true);
        try
        {
            var inputs = x.Select((t, i) => tracer.Input($"x{i}", t)).ToList();
            var outputs = model.ApplyMany(inputs, training: true);
            if (outputs.Count != 1) throw new NotCompilableException($"the model has {outputs.Count} outputs (compiled: one)");
            var output = outputs[0];
            if (output.Tracer != tracer) throw new NotCompilableException("the model's output does not depend on its inputs through Ops");
            if (output.Mask is not null) throw new NotCompilableException("the model's output carries a mask");
            if (model.CallLosses.Count > 0) throw new NotCompilableException("a layer adds a loss during its call (AddLoss, activity regularization)");
            return new TraceResult(tracer, output);
        }
        catch
        {
            foreach (var c in tracer.Constants) c.Dispose();
            throw;
        }
        finally
        {
            foreach (var v in weights) v.Value.requires_grad_(v.Trainable);
            model.ClearCallLosses();
        }
    }

    private static CompiledStep Compile(Model model, Loss loss, double lossWeight, TraceResult trace, Tensor[] x, Tensor y, Tensor? w,
        Action resetRandom)
    {
        var tracer = trace.Tracer;
        var prediction = trace.Output.Value;
        if (!ScriptOps.Floating(prediction)) throw new NotCompilableException($"the prediction's dtype {prediction.dtype} is not float32 or float64");
        y = ScriptLoss.PrepareLabels(loss, y, prediction.dtype, prediction.shape);
        using var eagerLoss = (loss.Compute(y, new KTensor(prediction), w is null ? null : (KTensor)w).Value * lossWeight).detach(); // checks shapes too
        var body = new List<string>(tracer.Lines);
        ScriptLoss.Emit(loss, lossWeight, trace.Output.Symbol!, prediction, "y", y, w is null ? null : "w", w, body);
        var data = new List<string>(tracer.InputNames) { "y" };
        if (w is not null) data.Add("w");
        string header = ScriptArguments.Header(data, tracer);
        string ret = $"    return loss, {trace.Output.Symbol}";
        var source = new StringBuilder();
        source.Append("def forward(").Append(header).Append(") -> Tuple[Tensor, Tensor]:\n");
        foreach (var line in body) source.Append(line).Append('\n');
        source.Append(ret).Append("\n\n");
        source.Append("def step(").Append(header).Append(") -> Tuple[Tensor, Tensor]:\n");
        foreach (var line in body) source.Append(line).Append('\n');
        source.Append("    torch.autograd.backward([loss])\n").Append(ret).Append('\n');
        var unit = jit.compile(source.ToString());
        var step = new CompiledStep(unit, new ScriptArguments(tracer, data.Count), source.ToString(), prediction);
        try
        {
            // The compiled forward pass and loss must reproduce the eager ones on this batch (a safety net for the templates).
            // From the generators' state before the first trace, so it draws the first trace's dropout masks; reset after.
            using var _ = no_grad();
            resetRandom();
            var (compiledLoss, compiledPrediction) = step.Invoke(x, y, w, backward: false);
            resetRandom();
            using (compiledLoss)
            using (compiledPrediction)
            {
                if (!compiledPrediction.shape.SequenceEqual(prediction.shape) || !compiledPrediction.allclose(prediction, 1e-5, 1e-5)
                    || !compiledLoss.allclose(eagerLoss, 1e-5, 1e-5))
                    throw new NotCompilableException("the compiled forward pass does not reproduce the eager one on the first batch");
            }
        }
        catch
        {
            step.Dispose();
            throw;
        }
        return step;
    }

    /// <summary>Runs the compiled step (with backward when <paramref name="backward"/>); returns the loss and the prediction.</summary>
    public (Tensor Loss, Tensor Prediction) Invoke(Tensor[] x, Tensor y, Tensor? w, bool backward) =>
        ((Tensor, Tensor))arguments.Invoke(unit, backward ? "step" : "forward", w is null ? [.. x, y] : [.. x, y, w]);

    public void Dispose()
    {
        unit.Dispose();
        arguments.Dispose();
    }
}
