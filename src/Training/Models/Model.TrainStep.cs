using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

// One training step (shared by Fit and TrainOnBatch): forward, loss with penalties and class weights, backward, update.
public partial class Model
{
    private bool warnedNoTrainableWeights;

    /// <summary>
    /// The variables a training step updates and the regularized ones, gathered once per Fit (as Keras builds its train
    /// function once; change <see cref="OnnxKeras.Layers.Layer.Trainable"/> between Fit calls, not inside one).
    /// </summary>
    private sealed record StepPlan(IReadOnlyList<Variable> Trainable, IReadOnlyList<Variable> Regularized)
    {
        /// <summary>Whether the variables' gradients are already views of the optimizer's flat buffer in this Fit.</summary>
        public bool GradientViewsBound { get; set; }
    }

    private StepPlan? plan;

    private StepPlan PlanStep()
    {
        return new StepPlan(TrainableWeights, RegularizedWeights);
    }

    private void TrainStep(Tensor[] batch, LossTracker tracker, Tensor? classWeights)
    {
        var (x, y, w) = Unpack(batch, requireY: true);
        if (classWeights is not null) w[0] = ApplyClassWeights(y![0], w[0], classWeights);
        TrainStepCore(x, y!, w, tracker);
    }

    /// <summary>The built-in training step on an unpacked batch (class weights already folded into <paramref name="w"/>).</summary>
    private void TrainStepCore(Tensor[] x, Tensor[] y, Tensor?[] w, LossTracker tracker)
    {
        if (TryCompiledStep(x, y, w, tracker)) return;
        var predictions = Forward(x, training: true);
        plan ??= PlanStep(); // after the first forward pass, which builds a model that had not seen data yet
        long batchSize = x[0].size(0); // Unpack checked that every input has a batch axis
        var total = OverriddenLoss(x, y, predictions, w)
            ?? TotalLoss(y, predictions, w, batchSize, plan.Regularized);
        var trainable = plan.Trainable;
        if (trainable.Count > 0)
        {
            plan.GradientViewsBound = Optimizer.PrepareGradients(trainable, plan.GradientViewsBound);
            total.backward();
            Optimizer.Apply(trainable);
        }
        else if (!warnedNoTrainableWeights)
        {
            // Keras warns and goes on (the loss and metrics are still computed); backward would fail here.
            warnedNoTrainableWeights = true;
            Console.Error.WriteLine($"Model '{Name}' does not have any trainable weights: training leaves it unchanged.");
        }
        using (no_grad())
        {
            tracker.Add(total, batchSize); // under no_grad: no detached copy needed
            Objectives.UpdateMetrics(y, predictions, w);
        }
    }

    /// <summary>The loss plus the regularization penalties of <paramref name="regularized"/> (Keras adds <c>model.losses</c>).</summary>
    private static Tensor AddPenalties(Tensor loss, IReadOnlyList<Variable> regularized)
    {
        foreach (var v in regularized) loss = loss + v.Regularizer!.Compute(v).Value;
        return loss;
    }

    private static Tensor? ClassWeightTensor(IReadOnlyDictionary<int, double>? classWeight)
    {
        if (classWeight is null || classWeight.Count == 0) return null;
        if (classWeight.Keys.Any(k => k < 0)) throw new ArgumentException("classWeight keys must be class indices >= 0.");
        var table = new float[classWeight.Keys.Max() + 1];
        Array.Fill(table, 1f);
        foreach (var (k, v) in classWeight) table[k] = (float)v;
        return tensor(table, ScalarType.Float32, Keras.Device);
    }

    private static Tensor? ApplyClassWeights(Tensor y, Tensor? w, Tensor? classWeights)
    {
        if (classWeights is null) return w;
        // Keras raises when both are given (array adapter, tf.data adapter and train_on_batch alike).
        if (w is not null)
            throw new ArgumentException("classWeight and sampleWeight cannot be given at the same time: fold the class weights into the sample weights.");
        // Keras's class of a sample: argmax of one-hot labels, else the label rounded to the nearest integer.
        Tensor labels;
        if (y.is_floating_point() && y.dim() >= 2 && y.shape[^1] > 1) labels = y.argmax(-1);
        else
        {
            var column = y.reshape(y.shape[0], -1)[.., 0];
            labels = (column.is_floating_point() ? column.round() : column).to_type(ScalarType.Int64);
        }
        if (labels.max().item<long>() >= classWeights.shape[0])
            throw new ArgumentException($"classWeight has no entry for class {labels.max().item<long>()}; give a weight for every class that occurs.");
        return classWeights.index_select(0, labels.reshape(-1)).reshape(labels.shape);
    }

    private void ResetMetrics(LossTracker tracker)
    {
        tracker.Reset();
        compiled?.Reset();
        ResetListedMetrics();
    }

    /// <summary>The logs so far: those the latest overridden step returned, else the loss and compiled metrics.</summary>
    private Dictionary<string, double> CurrentLogs(LossTracker tracker) =>
        tracker.StepLogs is { } logs ? new(logs, StringComparer.Ordinal) : Objectives.Logs(tracker);

    /// <summary>One gradient update on a single batch; returns the loss and metrics of that batch (Keras's <c>train_on_batch</c>).</summary>
    /// <example><code>Dictionary&lt;string, double&gt; logs = model.TrainOnBatch(xBatch, yBatch); Console.WriteLine(logs["loss"]);</code></example>
    public Dictionary<string, double> TrainOnBatch(Array x, Array y, Array? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        RequireCompiled(nameof(TrainOnBatch));
        if (sampleWeight is not null && classWeight is not null)
            throw new ArgumentException("classWeight and sampleWeight cannot be given at the same time: fold the class weights into the sample weights.");
        using var xt = TensorConvert.ToTensor(x, nameof(x));
        using var yt = TensorConvert.ToTensor(y, nameof(y));
        using var wt = sampleWeight is null ? null : TensorConvert.ToTensor(sampleWeight, nameof(sampleWeight));
        using var tracker = new LossTracker();
        using var cw = ClassWeightTensor(classWeight);
        ResetMetrics(tracker);
        plan = null;
        using (var scope = NewDisposeScope()) RunTrainStep(wt is null ? [xt, yt] : [xt, yt, wt], tracker, cw);
        StepGarbage.AfterStep(); // a loop of TrainOnBatch calls is a training loop too
        return CurrentLogs(tracker);
    }
}
