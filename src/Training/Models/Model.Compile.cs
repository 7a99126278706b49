using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Optimizers;

namespace OnnxKeras.Models;

public partial class Model
{
    private Optimizer? optimizer;
    private CompiledObjectives? compiled;

    /// <summary>The optimizer given to Compile.</summary>
    public Optimizer Optimizer => optimizer ?? throw NotCompiled("Optimizer");

    /// <summary>The loss of the (first) output given to Compile.</summary>
    /// <exception cref="InvalidOperationException">Not compiled, or compiled without a loss.</exception>
    public Loss Loss => (compiled ?? throw NotCompiled("Loss")).Losses is { Count: > 0 } losses ? losses[0] : throw NotCompiled("Loss");

    /// <summary>The loss of each output (empty when the model was compiled without a loss).</summary>
    public IReadOnlyList<Loss> OutputLosses => (compiled ?? throw NotCompiled("Loss")).Losses;

    /// <summary>True after Compile.</summary>
    public bool IsCompiled => optimizer is not null && compiled is not null;

    /// <summary>
    /// The model's metrics (Keras's <c>model.metrics</c>): the compiled ones (after the first batch, <c>accuracy</c> is
    /// resolved to its concrete kind). Override it to list metrics of your own, such as a <see cref="Mean"/> loss tracker
    /// in a custom <see cref="TrainStep(StepData)"/> (add <c>base.Metrics</c> to keep the compiled ones): Fit resets every
    /// listed metric at the start of each epoch, Evaluate at its start, and <see cref="GetMetricsResult"/> reports them.
    /// </summary>
    public virtual IReadOnlyList<Metric> Metrics => compiled?.Metrics ?? [];

    /// <summary>
    /// Configures training (Keras's <c>compile</c>): the optimizer (object or name; Keras's default is rmsprop), the loss
    /// (object or name; with several outputs one loss applies to each, or give <paramref name="losses"/> in output order or
    /// <paramref name="outputLosses"/> by output name, weighted by <paramref name="lossWeights"/>), and metrics (objects or
    /// names; <c>accuracy</c> is resolved from the shapes of labels and predictions as Keras 3 does). Metrics in
    /// <paramref name="metrics"/> ignore sample weights, those in <paramref name="weightedMetrics"/> use them (Keras 3).
    /// With several outputs, give metrics per output in <paramref name="outputMetrics"/> and
    /// <paramref name="outputWeightedMetrics"/> (by output name; the latter weighted by that output's sample weights, as
    /// Keras's <c>weighted_metrics={"name": [...]}</c>). Without any loss, Compile only sets the optimizer and metrics, for a
    /// model whose overridden <see cref="TrainStep(StepData)"/> computes its own loss (Keras's <c>compile()</c> in a GAN);
    /// the built-in steps then refuse to run. <paramref name="jitCompile"/> is Keras's <c>jit_compile</c>: null ("auto"), true
    /// (train with the compiled step: forward pass, loss and backward pass in one TorchScript call; throws
    /// <see cref="NotSupportedException"/> at the first step when the model or loss has no compiled form) or false (eager);
    /// see <see cref="JitCompileReason"/>.
    /// </summary>
    /// <example><code>
    /// model.Compile(optimizer: new Adam(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
    /// multiOutput.Compile("adam", outputLosses: new() { ["class"] = "sparse_categorical_crossentropy", ["score"] = "mse" },
    ///     lossWeights: [1.0, 0.5], outputMetrics: new() { ["class"] = ["accuracy"] }, outputWeightedMetrics: new() { ["score"] = ["mae"] });
    /// </code></example>
    public void Compile(Optimizer? optimizer = null, Loss? loss = null, IEnumerable<Metric>? metrics = null,
        IReadOnlyList<double>? lossWeights = null, IEnumerable<Metric>? weightedMetrics = null,
        IReadOnlyList<Loss>? losses = null, Dictionary<string, Loss>? outputLosses = null, Dictionary<string, Metric[]>? outputMetrics = null,
        Dictionary<string, Metric[]>? outputWeightedMetrics = null, bool? jitCompile = null)
    {
        var names = OutputNames;
        int n = names.Count;
        var perOutput = new Loss[n];
        int given = new object?[] { loss, losses, outputLosses }.Count(o => o is not null);
        if (given > 1)
            throw new ArgumentException("Give the loss one way: loss (one for every output), losses (per output, in order) or outputLosses (by output name).");
        if (given == 0) perOutput = []; // no loss: for an overridden TrainStep that computes its own
        else if (loss is not null) Array.Fill(perOutput, loss);
        else if (losses is not null)
        {
            if (losses.Count != n) throw new ArgumentException($"Model '{Name}' has {n} output(s) ({string.Join(", ", names)}); got {losses.Count} losses.");
            for (int k = 0; k < n; k++) perOutput[k] = losses[k];
        }
        else
        {
            var unknown = outputLosses!.Keys.Except(names).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"outputLosses names unknown output(s) {string.Join(", ", unknown)}; the outputs are {string.Join(", ", names)}.");
            for (int k = 0; k < n; k++)
                perOutput[k] = outputLosses.TryGetValue(names[k], out var l)
                    ? l
                    : throw new ArgumentException($"outputLosses has no loss for output '{names[k]}'.");
        }
        if (given == 0 && lossWeights is not null) throw new ArgumentException("lossWeights needs a loss: give Compile a loss too.");
        var weights = lossWeights?.ToArray() ?? Enumerable.Repeat(1.0, perOutput.Length).ToArray();
        if (weights.Length != perOutput.Length) throw new ArgumentException($"lossWeights needs one weight per output ({n}); got {weights.Length}.");
        if (weights.Any(w => w < 0 || !double.IsFinite(w))) throw new ArgumentException("lossWeights must be finite and >= 0.");

        var entries = new List<(int, Metric, bool)>();
        void AddAll(IEnumerable<Metric>? ms, bool weighted)
        {
            if (ms is null) return;
            if (n > 1)
                throw new ArgumentException($"Model '{Name}' has {n} outputs: give metrics per output with outputMetrics or " +
                    $"outputWeightedMetrics (by output name: {string.Join(", ", names)}).");
            entries.AddRange(ms.Select(m => (0, m, weighted)));
        }
        AddAll(metrics, false);
        AddAll(weightedMetrics, true);
        void AddByOutput(Dictionary<string, Metric[]>? byName, string argument, bool weighted)
        {
            foreach (var (name, ms) in byName ?? [])
            {
                int k = names.ToList().IndexOf(name);
                if (k < 0) throw new ArgumentException($"{argument} names unknown output '{name}'; the outputs are {string.Join(", ", names)}.");
                entries.AddRange(ms.Select(m => (k, m, weighted)));
            }
        }
        AddByOutput(outputMetrics, nameof(outputMetrics), false);
        AddByOutput(outputWeightedMetrics, nameof(outputWeightedMetrics), true);
        if (entries.FirstOrDefault(e => e.Item2 is Mean).Item2 is { } mean)
            throw new ArgumentException($"Metric '{mean.Name}' is a Mean of values a custom TrainStep gives it, not a compiled metric of " +
                "(y, yPred): list it in an override of Metrics and update it in the step.");
        var objectives = new CompiledObjectives(perOutput, weights, names.ToArray(), entries);

        // Recompiling with the same optimizer instance keeps it (and its state), as in Keras; only a replaced one is released.
        if (!ReferenceEquals(this.optimizer, optimizer)) this.optimizer?.Dispose();
        this.optimizer = optimizer ?? new RMSprop();
        compiled?.Dispose();
        compiled = objectives;
        ResetJit(jitCompile);
    }

    private CompiledObjectives Objectives => compiled ?? throw NotCompiled("loss");

    /// <summary>What Compile was given (for saving its compile_config); null before Compile.</summary>
    internal CompiledObjectives? Compiled => compiled;
}
