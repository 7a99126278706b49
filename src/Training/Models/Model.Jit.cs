using OnnxKeras.Models.Jit;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

// The compiled training step (Keras's jit_compile): the forward pass, the loss and the backward pass as one TorchScript
// function per input signature, with the optimizer update and the metrics in C# as in the eager step.
public partial class Model
{
    private bool? jitCompile;
    private readonly List<(long[] Key, CompiledStep? Step, string? Reason)> jitSteps = [];

    /// <summary>
    /// The most input signatures whose compiled steps a model keeps (full batches, the last partial batch, a few sequence
    /// lengths); beyond it the least recently used is disposed, and compiled again should it come back, so batches of
    /// ever-changing shapes cannot grow the cache without bound.
    /// </summary>
    internal const int MaxCompiledSignatures = 8;

    /// <summary>How many input signatures have a compiled (or refused) step kept now.</summary>
    internal int CompiledSignatureCount => jitSteps.Count;
    private StepPlan? jitPlan;
    private string? jitTrainableKey;

    /// <summary>
    /// Compile's <c>jitCompile</c> (Keras's <c>jit_compile</c>): null for Keras's "auto", true to train with the compiled
    /// step (or fail), false for the eager step. See docs/training.md, "Compiled training step".
    /// </summary>
    public bool? JitCompile => jitCompile;

    /// <summary>Whether the latest built-in training step ran compiled (forward pass, loss and backward pass in one TorchScript call).</summary>
    public bool UsesCompiledStep { get; private set; }

    /// <summary>
    /// Why the latest built-in training step ran eagerly (the first reason found: jitCompile false, "auto" on a device where
    /// the compiled step does not pay, or what in the model or loss has no compiled form); null when it ran compiled or no
    /// step ran since Compile. Keras says nothing when "auto" falls back; nor does this library: read it here.
    /// </summary>
    public string? JitCompileReason { get; private set; }

    /// <summary>
    /// Whether "auto" picks the compiled step on <paramref name="device"/>: measured on CPU it was slower than the eager step
    /// (bench/NOTES.md, "Compiled training step"), and on CUDA it is not measured yet, so "auto" is eager everywhere.
    /// </summary>
    internal static bool AutoCompilesOn(Device device) => false;

    private void ResetJit(bool? setting)
    {
        foreach (var s in jitSteps) s.Step?.Dispose();
        jitSteps.Clear();
        jitCompile = setting;
        jitPlan = null;
        jitTrainableKey = null;
        UsesCompiledStep = false;
        JitCompileReason = null;
    }

    /// <summary>
    /// Runs the built-in step compiled when the setting allows and the model supports it; false when the eager step must
    /// run instead (<see cref="JitCompileReason"/> says why).
    /// </summary>
    /// <exception cref="NotSupportedException">jitCompile is true and the step cannot be compiled.</exception>
    private bool TryCompiledStep(Tensor[] x, Tensor[] y, Tensor?[] w, LossTracker tracker)
    {
        UsesCompiledStep = false;
        if (jitCompile == false) return Eager("jitCompile is false");
        if (jitCompile is null && !AutoCompilesOn(Keras.Device))
        {
            string device = Keras.Device.type.ToString().ToLowerInvariant();
            return Eager($"jitCompile \"auto\" uses the eager step on {device} (the compiled step does not pay there)");
        }
        string? refusal = StaticJitRefusal();
        if (refusal is not null) return Refuse(refusal);
        var xs = x.Select(PrepareInput).ToArray();
        EnsureBuiltFor(xs);
        plan ??= PlanStep();
        if (plan.Regularized.Count > 0) return Refuse("weight regularizers add penalties (compiled: the loss alone)");
        if (!ReferenceEquals(jitPlan, plan))
        {
            // Trainable flags decide what layers compute in training (BatchNormalization): a change recompiles.
            string key = string.Concat(SelfAndSublayers().Select(l => l.Trainable ? '1' : '0')) + "/" +
                string.Concat(Weights.Select(v => v.Trainable ? '1' : '0'));
            if (key != jitTrainableKey) ResetJit(jitCompile);
            (jitPlan, jitTrainableKey) = (plan, key);
        }
        var signature = Signature(xs, y[0], w[0]);
        int index = jitSteps.FindIndex(s => s.Key.AsSpan().SequenceEqual(signature));
        var entry = index < 0 ? BuildStep(signature, xs, y[0], w[0]) : jitSteps[index];
        if (index >= 0) jitSteps.RemoveAt(index);
        else if (jitSteps.Count == MaxCompiledSignatures)
        {
            jitSteps[0].Step?.Dispose();
            jitSteps.RemoveAt(0);
        }
        jitSteps.Add(entry); // most recently used last
        if (entry.Step is null) return Refuse(entry.Reason!);
        var labels = ScriptLoss.PrepareLabels(Objectives.Losses[0], y[0], entry.Step.PredictionType, entry.Step.PredictionShape);
        var trainable = plan.Trainable;
        bool backward = trainable.Count > 0;
        if (backward) plan.GradientViewsBound = Optimizer.PrepareGradients(trainable, plan.GradientViewsBound);
        var (total, prediction) = entry.Step.Invoke(xs, labels, w[0], backward);
        if (backward) Optimizer.Apply(trainable);
        else if (!warnedNoTrainableWeights)
        {
            warnedNoTrainableWeights = true;
            Console.Error.WriteLine($"Model '{Name}' does not have any trainable weights: training leaves it unchanged.");
        }
        using (no_grad())
        {
            tracker.Add(total, xs[0].size(0));
            Objectives.UpdateMetrics(y, [new KTensor(prediction)], w);
        }
        UsesCompiledStep = true;
        JitCompileReason = null;
        return true;
    }

    private bool Eager(string reason)
    {
        JitCompileReason = reason;
        return false;
    }

    private bool Refuse(string reason)
    {
        if (jitCompile == true)
            throw new NotSupportedException($"Model '{Name}' was compiled with jitCompile: true, but its training step has no compiled form: {reason}.");
        return Eager(reason);
    }

    /// <summary>What rules the compiled step out before tracing: an overridden ComputeLoss, several outputs or losses, an unsupported loss.</summary>
    private string? StaticJitRefusal()
    {
        bool overridden = overridesComputeLoss ??= GetType().GetMethod(nameof(ComputeLoss),
            [typeof(IReadOnlyList<Tensor>), typeof(IReadOnlyList<Tensor>), typeof(IReadOnlyList<KTensor>), typeof(IReadOnlyList<Tensor?>)])!
            .DeclaringType != typeof(Model);
        if (overridden) return "ComputeLoss is overridden";
        var losses = Objectives.Losses;
        if (losses.Count != 1) return $"the model has {losses.Count} losses (compiled: one output with one loss)";
        return ScriptLoss.Unsupported(losses[0]);
    }

    private (long[] Key, CompiledStep? Step, string? Reason) BuildStep(long[] signature, Tensor[] xs, Tensor y, Tensor? w)
    {
        var loss = Objectives.Losses[0];
        try
        {
            return (signature, CompiledStep.Build(this, loss, Objectives.LossWeights[0], xs, y, w), null);
        }
        catch (NotCompilableException e)
        {
            return (signature, null, e.Message);
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            return (signature, null, $"libtorch refused the compiled step: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>The input signature a compiled step is specific to: dtype and shape of every input, the labels and the weights.</summary>
    private static long[] Signature(Tensor[] xs, Tensor y, Tensor? w)
    {
        var key = new List<long>();
        foreach (var t in xs.Append(y).Append(w))
        {
            if (t is null)
            {
                key.Add(-1);
                continue;
            }
            key.Add((long)t.dtype);
            key.Add(t.dim());
            key.AddRange(t.Sizes());
        }
        return [.. key];
    }
}
