using OnnxKeras.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

// Overridable steps (Keras's train_step, test_step, predict_step) and the pieces a custom step builds on: ComputeLoss,
// ComputeMetrics, GetMetricsResult. Fit, Evaluate and Predict call an overridden step in place of their built-in one and
// keep everything around it (callbacks, progress bar, History, validation, metric resets).
public partial class Model
{
    private bool? overridesTrainStep, overridesTestStep, overridesPredictStep, overridesMetrics, overridesComputeLoss;
    private LossTracker? trainStepTracker, testStepTracker;

    /// <summary>
    /// One training step on a batch (Keras's <c>train_step(self, data)</c>); returns the logs that Fit's progress bar and
    /// callbacks show for it, usually the running results of the model's metrics (<see cref="GetMetricsResult"/>). Override it
    /// to customize training while keeping Fit: compute predictions with <see cref="Layers.Layer.Apply(KTensor, bool)"/>
    /// (<c>training: true</c>), the loss with <see cref="ComputeLoss(Tensor?, Tensor?, KTensor, Tensor?)"/> or your own,
    /// gradients with <see cref="Gradients.Of"/>, update with <see cref="Optimizers.Optimizer.ApplyGradients"/>, then update
    /// and report metrics. Fit gives each step its own dispose scope; class weights arrive folded into the sample weights.
    /// An override may use a model compiled without a loss (<c>Compile(optimizer)</c>, as a GAN does). The built-in step
    /// (forward, compiled loss plus regularization, backward, <see cref="Optimizers.Optimizer.Apply(IReadOnlyList{Variable})"/>,
    /// compiled metrics) runs when this is not overridden, or through <c>base.TrainStep(data)</c>.
    /// </summary>
    /// <param name="data">The batch: inputs, targets, sample weights (see <see cref="StepData"/>).</param>
    /// <returns>Log names and values for this step (Keras's logs dict).</returns>
    /// <example><code>
    /// public override Dictionary&lt;string, double&gt; TrainStep(StepData data)
    /// {
    ///     var (x, y, sampleWeight) = data;
    ///     var yPred = Apply(x, training: true);
    ///     var loss = ComputeLoss(x, y, yPred, sampleWeight);
    ///     Optimizer.ApplyGradients(Gradients.Of(loss, TrainableWeights).Zip(TrainableWeights));
    ///     return ComputeMetrics(x, y!, yPred, sampleWeight);
    /// }
    /// </code></example>
    public virtual Dictionary<string, double> TrainStep(StepData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireCompiled(nameof(TrainStep));
        if (data.Targets.Count == 0) throw new ArgumentException("The built-in TrainStep needs targets: the batch holds inputs only.", nameof(data));
        if (trainStepTracker is { } tracker)
        {
            TrainStepCore([.. data.Inputs], [.. data.Targets], [.. data.SampleWeights], tracker);
            return Objectives.Logs(tracker);
        }
        // Outside Fit: one update and that batch's logs, as TrainOnBatch.
        using var own = new LossTracker();
        ResetMetrics(own);
        plan = null;
        TrainStepCore([.. data.Inputs], [.. data.Targets], [.. data.SampleWeights], own);
        return Objectives.Logs(own);
    }

    /// <summary>
    /// One evaluation step on a batch (Keras's <c>test_step(self, data)</c>), run under <c>no_grad</c> by Evaluate and by
    /// Fit's validation; returns the logs so far. The built-in step computes the compiled loss (plus regularization) and
    /// updates the compiled metrics. Override it as <see cref="TrainStep(StepData)"/>, without the update.
    /// </summary>
    /// <param name="data">The batch: inputs, targets, sample weights.</param>
    /// <returns>Log names and values after this batch.</returns>
    /// <example><code>
    /// public override Dictionary&lt;string, double&gt; TestStep(StepData data)
    /// {
    ///     var (x, y, _) = data;
    ///     var yPred = Apply(x);
    ///     return ComputeMetrics(x, y!, yPred);
    /// }
    /// </code></example>
    public virtual Dictionary<string, double> TestStep(StepData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireCompiled(nameof(TestStep));
        if (data.Targets.Count == 0) throw new ArgumentException("The built-in TestStep needs targets: the batch holds inputs only.", nameof(data));
        using var own = testStepTracker is null ? new LossTracker() : null;
        var tracker = testStepTracker ?? own!;
        if (own is not null) ResetMetrics(own);
        using (no_grad()) TestStepCore([.. data.Inputs], [.. data.Targets], [.. data.SampleWeights], tracker);
        return Objectives.Logs(tracker);
    }

    /// <summary>
    /// The predictions for one batch (Keras's <c>predict_step(self, data)</c>), one tensor per output; Predict runs it under
    /// <c>no_grad</c> and concatenates the batches. The built-in step calls the model with <c>training: false</c>.
    /// </summary>
    /// <param name="data">The batch (its targets, if the data has any, are there too).</param>
    /// <returns>One prediction batch per model output.</returns>
    /// <example><code>
    /// public override IReadOnlyList&lt;KTensor&gt; PredictStep(StepData data) => [Ops.Multiply(Apply(data.X), 2.0)];
    /// </code></example>
    public virtual IReadOnlyList<KTensor> PredictStep(StepData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Forward(data.Inputs, training: false);
    }

    /// <summary>
    /// The loss to minimize for one batch (Keras's <c>compute_loss</c>): the compiled loss of each output (weighted by the
    /// compiled loss weights and the sample weights) plus the model's regularization penalties and the terms its layers
    /// added during the latest call (<see cref="Layers.Layer.Losses"/>). The built-in steps call it when it is overridden.
    /// </summary>
    /// <param name="x">The inputs (unused by the built-in computation; there for overrides).</param>
    /// <param name="y">The targets, one per output.</param>
    /// <param name="yPred">The predictions, one per output (with their masks, as the model returned them).</param>
    /// <param name="sampleWeight">One entry per output, null where unweighted; null for none.</param>
    /// <exception cref="InvalidOperationException">The model was compiled without a loss (Keras: "No loss to compute").</exception>
    /// <example><code>Tensor loss = ComputeLoss([x], [y], [yPred], null);</code></example>
    public virtual Tensor ComputeLoss(IReadOnlyList<Tensor>? x, IReadOnlyList<Tensor>? y, IReadOnlyList<KTensor> yPred,
        IReadOnlyList<Tensor?>? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(yPred);
        RequireCompiled(nameof(ComputeLoss));
        if (Objectives.HasLoss && (y is null || y.Count != yPred.Count))
            throw new ArgumentException($"ComputeLoss needs one target per output ({yPred.Count}); got {y?.Count ?? 0}.", nameof(y));
        var w = sampleWeight?.ToArray() ?? new Tensor?[yPred.Count];
        long batchSize = yPred[0].Value.dim() == 0 ? 1 : yPred[0].Value.size(0);
        return TotalLoss(y?.ToArray() ?? [], yPred, w, batchSize, RegularizedWeights);
    }

    /// <summary>
    /// The compiled loss plus the penalties and the latest call's terms; without a compiled loss, those terms alone (Keras 3
    /// trains a model compiled without a loss on its <c>losses</c>), and when there are none, Keras's "No loss to compute".
    /// </summary>
    private Tensor TotalLoss(IReadOnlyList<Tensor> y, IReadOnlyList<KTensor> predictions, Tensor?[] w, long batchSize,
        IReadOnlyList<Variable> regularized)
    {
        if (Objectives.HasLoss) return AddCallLosses(AddPenalties(Objectives.ComputeLoss(y, predictions, w, batchSize), regularized));
        if (regularized.Count == 0 && CallLosses.Count == 0) throw NoLossToCompute();
        var p = predictions[0].Value;
        return AddCallLosses(AddPenalties(zeros([], p.dtype, p.device), regularized));
    }

    /// <summary>The loss for a model with one input and one output; see the list overload.</summary>
    /// <example><code>Tensor loss = ComputeLoss(x, y, yPred, sampleWeight);</code></example>
    public Tensor ComputeLoss(Tensor? x, Tensor? y, KTensor yPred, Tensor? sampleWeight = null) =>
        ComputeLoss(x is null ? null : [x], y is null ? null : [y], [yPred], [sampleWeight]);

    /// <summary>
    /// Updates the compiled metrics with one batch and returns <see cref="GetMetricsResult"/> (Keras's
    /// <c>compute_metrics</c>). Metrics given to Compile as <c>weightedMetrics</c> use <paramref name="sampleWeight"/>.
    /// Metrics of your own (a <see cref="Mean"/> loss tracker) are updated by your step, not here.
    /// </summary>
    /// <param name="x">The inputs (unused by the built-in computation).</param>
    /// <param name="y">The targets, one per output.</param>
    /// <param name="yPred">The predictions, one per output.</param>
    /// <param name="sampleWeight">One entry per output, null where unweighted; null for none.</param>
    /// <example><code>return ComputeMetrics([x], [y], [yPred], null);</code></example>
    public virtual Dictionary<string, double> ComputeMetrics(IReadOnlyList<Tensor>? x, IReadOnlyList<Tensor> y, IReadOnlyList<KTensor> yPred,
        IReadOnlyList<Tensor?>? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(yPred);
        RequireCompiled(nameof(ComputeMetrics));
        if (y.Count != yPred.Count) throw new ArgumentException($"ComputeMetrics needs one target per output ({yPred.Count}); got {y.Count}.", nameof(y));
        Objectives.UpdateMetrics(y, yPred, sampleWeight ?? new Tensor?[y.Count]);
        return GetMetricsResult();
    }

    /// <summary>Updates the compiled metrics for a model with one input and output; see the list overload.</summary>
    /// <example><code>return ComputeMetrics(x, y, yPred, sampleWeight);</code></example>
    public Dictionary<string, double> ComputeMetrics(Tensor? x, Tensor y, KTensor yPred, Tensor? sampleWeight = null) =>
        ComputeMetrics(x is null ? null : [x], [y], [yPred], [sampleWeight]);

    /// <summary>The current result of each of <see cref="Metrics"/>, by name (Keras's <c>get_metrics_result</c>).</summary>
    /// <example><code>Dictionary&lt;string, double&gt; logs = model.GetMetricsResult();</code></example>
    public Dictionary<string, double> GetMetricsResult()
    {
        var logs = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var m in Metrics) logs[m.Name] = m.Result();
        return logs;
    }

    private InvalidOperationException NoLossToCompute() =>
        new($"No loss to compute for model '{Name}': it was compiled without a loss and adds none itself (AddLoss, regularizers). " +
            "Give Compile a loss, e.g. loss: \"categorical_crossentropy\" (valid names: " + string.Join(", ", OnnxKeras.Losses.LossRegistry.Names.Order()) +
            "), or override TrainStep (and TestStep) to compute one yourself.");

    private bool Overrides(string method, Type parameter) =>
        GetType().GetMethod(method, [parameter])!.DeclaringType != typeof(Model);

    /// <summary>Fit's step: the built-in one, or the overridden <see cref="TrainStep(StepData)"/> whose logs become the tracker's.</summary>
    private void RunTrainStep(Tensor[] batch, LossTracker tracker, Tensor? classWeights)
    {
        try
        {
            RunTrainStepCore(batch, tracker, classWeights);
        }
        finally
        {
            // After the step, so a model built by its first batch is measured (docs/training.md, "Devices and threads").
            ApplyAutomaticThreads(batch);
        }
    }

    /// <summary>The automatic libtorch thread count for this model at the batch's size, unless the application set one.</summary>
    private void ApplyAutomaticThreads(Tensor[] batch)
    {
        if (batch.Length > 0 && batch[0].dim() > 0) ThreadDefaults.Apply(this, batch[0].size(0), ref automaticThreads);
    }

    private (long Batch, int Threads) automaticThreads = (-1, 0);

    private void RunTrainStepCore(Tensor[] batch, LossTracker tracker, Tensor? classWeights)
    {
        if (!(overridesTrainStep ??= Overrides(nameof(TrainStep), typeof(StepData))))
        {
            TrainStep(batch, tracker, classWeights);
            return;
        }
        var (x, y, w) = Unpack(batch, requireY: false);
        if (classWeights is not null && y is not null) w[0] = ApplyClassWeights(y[0], w[0], classWeights);
        trainStepTracker = tracker;
        try
        {
            tracker.StepLogs = new(TrainStep(new StepData(x, y, y is null ? null : w)) ?? [], StringComparer.Ordinal);
        }
        finally
        {
            trainStepTracker = null;
        }
    }

    /// <summary>Evaluate's step (under no_grad): the built-in one, or the overridden <see cref="TestStep(StepData)"/>.</summary>
    private void RunTestStep(Tensor[] batch, LossTracker tracker)
    {
        if (!(overridesTestStep ??= Overrides(nameof(TestStep), typeof(StepData))))
        {
            var (x, y, w) = Unpack(batch, requireY: true);
            TestStepCore(x, y!, w, tracker);
            return;
        }
        var (xs, ys, ws) = Unpack(batch, requireY: false);
        testStepTracker = tracker;
        try
        {
            tracker.StepLogs = new(TestStep(new StepData(xs, ys, ys is null ? null : ws)) ?? [], StringComparer.Ordinal);
        }
        finally
        {
            testStepTracker = null;
        }
    }

    /// <summary>Predict's step: the model's outputs, or those of the overridden <see cref="PredictStep(StepData)"/>.</summary>
    private IReadOnlyList<KTensor> RunPredictStep(Tensor[] x) =>
        (overridesPredictStep ??= Overrides(nameof(PredictStep), typeof(StepData))) ? PredictStep(new StepData(x)) : Forward(x, training: false);

    /// <summary>The loss of the built-in steps: the compiled one with penalties, or an overridden <see cref="ComputeLoss(IReadOnlyList{Tensor}?,
    /// IReadOnlyList{Tensor}?, IReadOnlyList{KTensor}, IReadOnlyList{Tensor?}?)"/>. Null when the built-in computation applies.</summary>
    private Tensor? OverriddenLoss(Tensor[] x, Tensor[] y, IReadOnlyList<KTensor> predictions, Tensor?[] w)
    {
        bool overridden = overridesComputeLoss ??= GetType().GetMethod(nameof(ComputeLoss),
            [typeof(IReadOnlyList<Tensor>), typeof(IReadOnlyList<Tensor>), typeof(IReadOnlyList<KTensor>), typeof(IReadOnlyList<Tensor?>)])!
            .DeclaringType != typeof(Model);
        if (!overridden) return null;
        return ComputeLoss(x, y, predictions, w);
    }

    /// <summary>Resets the metrics an override of <see cref="Metrics"/> lists (Keras resets <c>model.metrics</c> each epoch).</summary>
    private void ResetListedMetrics()
    {
        if (!(overridesMetrics ??= GetType().GetProperty(nameof(Metrics))!.GetMethod!.DeclaringType != typeof(Model))) return;
        foreach (var m in Metrics) m.ResetState();
    }
}
