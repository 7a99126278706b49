using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Shifts and scales features to mean 0 and variance 1 (Keras 3's <c>keras.layers.Normalization</c>):
/// <c>(x - mean) / max(sqrt(variance), 1e-7)</c>, or with <see cref="Invert"/> <c>mean + x * max(sqrt(variance), 1e-7)</c>.
/// The statistics are kept per position of the <see cref="Axis"/> axes and computed over all the others, either given
/// (<c>mean</c>, <c>variance</c>: written in the config, no weights) or learned by <see cref="Adapt(Array)"/> (the
/// population mean and variance of the data, stored as the non-trainable weights <c>mean</c>, <c>variance</c> and
/// <c>count</c>, saved in .keras and weight files as Keras stores them). Before any Adapt the layer is the identity
/// (mean 0, variance 1). Inputs are cast to float32. It exports to ONNX as Sub and Div (Mul and Add when inverted) with
/// the statistics as constants, so the exported model takes raw features.
/// </summary>
/// <example><code>
/// var norm = new Normalization();
/// norm.Adapt(new float[,] { { 0, 7 }, { 2, 9 } });   // mean (1, 8), variance (1, 1)
/// var model = new Sequential(new InputLayer([2]), norm, new Dense(1));
/// </code></example>
public sealed partial class Normalization : Layer
{
    /// <summary>Keras's <c>backend.epsilon()</c>: the smallest standard deviation divided by.</summary>
    public const double Epsilon = 1e-7;

    private Variable? adaptMean, adaptVariance;
    private Tensor? fixedMean, fixedVariance;
    private long[] keep = [], broadcast = [], statShape = [];

    /// <summary>Creates the layer with one kept axis (Keras's <c>axis=-1</c>: one mean and variance per feature).</summary>
    /// <param name="axis">The axis whose positions get their own statistics; negative counts from the end.</param>
    /// <param name="mean">The mean, a single value or one per position of <paramref name="axis"/>; null to learn it with Adapt.</param>
    /// <param name="variance">The variance, shaped as <paramref name="mean"/>; given exactly when the mean is.</param>
    /// <param name="invert">Apply the inverse: turn normalized values back into raw ones.</param>
    /// <exception cref="ArgumentException">Only one of mean and variance, different lengths, or a negative or non-finite value.</exception>
    public Normalization(int axis = -1, double[]? mean = null, double[]? variance = null, bool invert = false)
        : this([axis], mean, variance, invert)
    {
    }

    /// <summary>Creates the layer with several kept axes, or none (null or empty: one mean and variance for all values, Keras's <c>axis=None</c>).</summary>
    /// <inheritdoc cref="Normalization(int, double[], double[], bool)"/>
    public Normalization(int[]? axis, double[]? mean = null, double[]? variance = null, bool invert = false)
    {
        axis ??= [];
        if (axis.Distinct().Count() != axis.Length)
            throw new ArgumentException($"Normalization: axis has repeated entries: [{string.Join(", ", axis)}].", nameof(axis));
        if ((mean is null) != (variance is null))
            throw new ArgumentException("Normalization: when setting values directly, both mean and variance must be set; " +
                $"got {(mean is null ? "only variance" : "only mean")}.");
        if (mean is not null)
        {
            if (mean.Length == 0 || mean.Length != variance!.Length)
                throw new ArgumentException($"Normalization: mean and variance must have the same non-zero length; got {mean.Length} and {variance!.Length}.");
            if (mean.Length > 1 && axis.Length == 0)
                throw new ArgumentException("Normalization: with no axis (one statistic for all values) mean must be a single value; " +
                    $"got {mean.Length}.", nameof(mean));
            if (mean.Any(v => !double.IsFinite(v))) throw new ArgumentException("Normalization: mean must be finite.", nameof(mean));
            if (variance.Any(v => !double.IsFinite(v) || v < 0))
                throw new ArgumentException("Normalization: variance must be finite and non-negative.", nameof(variance));
        }
        Axis = (int[])axis.Clone();
        Mean = (double[]?)mean?.Clone();
        Variance = (double[]?)variance?.Clone();
        Invert = invert;
    }

    /// <summary>The kept axes (empty: statistics over all values).</summary>
    public IReadOnlyList<int> Axis { get; }

    /// <summary>The mean given to the constructor, or null when it is learned by Adapt.</summary>
    public IReadOnlyList<double>? Mean { get; }

    /// <summary>The variance given to the constructor, or null when it is learned by Adapt.</summary>
    public IReadOnlyList<double>? Variance { get; }

    /// <summary>Whether the layer de-normalizes.</summary>
    public bool Invert { get; }

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An axis out of range, a kept axis of unknown size, or a mean that does not fit it.</exception>
    public override void Build(Shape inputShape)
    {
        int rank = inputShape.Rank;
        if (Axis.Any(a => a < -rank || a >= rank))
            throw new ArgumentException($"Layer '{Name}' (Normalization): all axis values must be in [-{rank}, {rank}) for inputs of rank " +
                $"{rank}; got [{string.Join(", ", Axis)}].");
        keep = Axis.Select(a => (long)(a < 0 ? a + rank : a)).Distinct().Order().ToArray();
        foreach (var d in keep)
        {
            if (inputShape[(int)d] is null)
                throw new ArgumentException($"Layer '{Name}' (Normalization): the kept axis {d} must have a known size; got input shape {inputShape}.");
        }
        broadcast = Enumerable.Range(0, rank).Select(d => keep.Contains(d) ? inputShape[d]!.Value : 1).ToArray();
        statShape = keep.Select(d => inputShape[(int)d]!.Value).ToArray();
        if (Mean is null)
        {
            adaptMean = AddWeight("mean", Shape.Of(statShape), new Zeros(), trainable: false);
            adaptVariance = AddWeight("variance", Shape.Of(statShape), new Ones(), trainable: false);
            AddWeight("count", Shape.Of(), new Zeros(), trainable: false); // Keras keeps it for older files; Adapt leaves it 0 as Keras does
            return;
        }
        // Keras aligns a vector of statistics with the last kept axis; a single value applies everywhere.
        var expanded = Enumerable.Repeat(1L, rank).ToArray();
        if (Mean.Count > 1)
        {
            long last = keep[^1];
            if (broadcast[last] != Mean.Count)
                throw new ArgumentException($"Layer '{Name}' (Normalization): mean and variance have {Mean.Count} values, but " +
                    $"axis {last} of input shape {inputShape} has {broadcast[last]}.");
            expanded[last] = Mean.Count;
        }
        fixedMean = Constant(Mean, expanded);
        fixedVariance = Constant(Variance!, expanded);
    }

    private static Tensor Constant(IReadOnlyList<double> values, long[] shape)
    {
        using var scope = NewDisposeScope();
        return tensor(values.Select(v => (float)v).ToArray(), shape, ScalarType.Float32).to(Keras.Device).MoveToOuterDisposeScope().DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var x = Ops.Cast(inputs, "float32");
        // Weights and constants only: these fold into constants in the ONNX export.
        KTensor mean = adaptMean is not null ? Ops.Reshape(adaptMean, broadcast) : new KTensor(fixedMean!);
        KTensor variance = adaptVariance is not null ? Ops.Reshape(adaptVariance, broadcast) : new KTensor(fixedVariance!);
        var std = Ops.Maximum(Ops.Sqrt(variance), new KTensor(tensor((float)Epsilon, device: mean.Value.device)));
        return Invert ? Ops.Add(mean, Ops.Multiply(x, std)) : Ops.Divide(Ops.Subtract(x, mean), std);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("axis", Axis.ToArray()).With("invert", Invert).With("mean", Mean?.ToArray()).With("variance", Variance?.ToArray());
}
