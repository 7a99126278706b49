using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

/// <summary>
/// One batch as a training, evaluation or prediction step receives it (Keras's <c>data</c> argument of
/// <c>train_step(self, data)</c>): the inputs, the targets and the sample weights, already on the model's device. For a
/// model with one input and one output, deconstruct it like Keras's tuple: <c>var (x, y, sampleWeight) = data;</c>.
/// With several, use <see cref="Inputs"/>, <see cref="Targets"/> and <see cref="SampleWeights"/> (in the order of
/// <see cref="Model.InputNames"/> and <see cref="Model.OutputNames"/>).
/// </summary>
/// <example><code>
/// var (x, y, sampleWeight) = data;
/// if (y is null) throw new ArgumentException("this step needs targets");
/// </code></example>
public sealed class StepData
{
    private static readonly Tensor?[] NoWeights = [];

    /// <summary>A batch of several inputs and outputs; <paramref name="sampleWeights"/> has one entry per target (entries may be null).</summary>
    /// <exception cref="ArgumentException">No inputs, or sample weights without matching targets.</exception>
    public StepData(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor>? targets = null, IReadOnlyList<Tensor?>? sampleWeights = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0) throw new ArgumentException("A step needs at least one input tensor.", nameof(inputs));
        targets ??= [];
        sampleWeights ??= targets.Count == 0 ? NoWeights : new Tensor?[targets.Count];
        if (sampleWeights.Count != targets.Count)
            throw new ArgumentException($"Got {sampleWeights.Count} sample weight entries for {targets.Count} targets; give one per target (null for none).",
                nameof(sampleWeights));
        Inputs = inputs;
        Targets = targets;
        SampleWeights = sampleWeights;
    }

    /// <summary>A batch of one input, with optional targets and sample weights.</summary>
    public StepData(Tensor x, Tensor? y = null, Tensor? sampleWeight = null)
        : this([x], y is null ? null : [y], y is null ? null : [sampleWeight])
    {
        if (y is null && sampleWeight is not null) throw new ArgumentException("Sample weights need targets y.", nameof(sampleWeight));
    }

    /// <summary>The input batches, one per model input.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>The target batches, one per model output; empty when the data has none (prediction, or a GAN's images).</summary>
    public IReadOnlyList<Tensor> Targets { get; }

    /// <summary>The sample weights, one entry per target (null where none was given, or class weights turned into them).</summary>
    public IReadOnlyList<Tensor?> SampleWeights { get; }

    /// <summary>The input, for a model with one input.</summary>
    /// <exception cref="InvalidOperationException">The batch has several inputs.</exception>
    public Tensor X => Inputs.Count == 1 ? Inputs[0]
        : throw new InvalidOperationException($"This batch has {Inputs.Count} inputs: use Inputs.");

    /// <summary>The target, for a model with one output; null when the data has none.</summary>
    /// <exception cref="InvalidOperationException">The batch has several targets.</exception>
    public Tensor? Y => Targets.Count switch
    {
        0 => null,
        1 => Targets[0],
        _ => throw new InvalidOperationException($"This batch has {Targets.Count} targets: use Targets."),
    };

    /// <summary>The sample weights of the single target; null when none were given.</summary>
    public Tensor? SampleWeight => Targets.Count > 1
        ? throw new InvalidOperationException($"This batch has {Targets.Count} targets: use SampleWeights.")
        : SampleWeights.Count == 0 ? null : SampleWeights[0];

    /// <summary>The number of samples in the batch.</summary>
    public long BatchSize => Inputs[0].shape.Length == 0 ? 1 : Inputs[0].shape[0];

    /// <summary>Keras's <c>x, y, sample_weight = data</c> for one input and output.</summary>
    public void Deconstruct(out Tensor x, out Tensor? y, out Tensor? sampleWeight)
    {
        x = X;
        y = Y;
        sampleWeight = SampleWeight;
    }

    /// <summary>Keras's <c>x, y = data</c> for one input and output.</summary>
    public void Deconstruct(out Tensor x, out Tensor? y)
    {
        x = X;
        y = Y;
    }
}
