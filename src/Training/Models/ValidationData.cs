using OnnxKeras.Data;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

/// <summary>
/// Validation data for Fit: <c>(x, y)</c> arrays or tensors, named arrays (<c>(xDict, yDict)</c>, for models with several
/// inputs or outputs), or a <see cref="Dataset"/> (converts implicitly from each).
/// Arrays are converted when Fit starts and released when it ends.
/// </summary>
public sealed class ValidationData
{
    private readonly Array[]? arrays;
    private readonly Tensor[]? tensors;
    private (Dictionary<string, Array> X, Dictionary<string, Array> Y)? named;

    private ValidationData(Dataset? dataset, Array[]? arrays, Tensor[]? tensors)
    {
        Dataset = dataset;
        this.arrays = arrays;
        this.tensors = tensors;
    }

    internal Dataset? Dataset { get; }

    /// <summary>The (x, y) tensors; <paramref name="owned"/> lists the ones created here, which the caller disposes.</summary>
    internal Tensor[] Tensors(List<Tensor> owned, Func<Dictionary<string, Array>, Dictionary<string, Array>, Tensor[]> byName)
    {
        if (tensors is not null) return tensors;
        if (named is { } n)
        {
            var ordered = byName(n.X, n.Y);
            owned.AddRange(ordered);
            return ordered;
        }
        var converted = new[] { TensorConvert.ToTensor(arrays![0], "validationData.x"), TensorConvert.ToTensor(arrays[1], "validationData.y") };
        owned.AddRange(converted);
        return converted;
    }

    /// <summary>From arrays.</summary>
    public static implicit operator ValidationData((Array X, Array Y) data) => new(null, [data.X, data.Y], null);

    /// <summary>From tensors.</summary>
    public static implicit operator ValidationData((Tensor X, Tensor Y) data) => new(null, null, [data.X, data.Y]);

    /// <summary>From named arrays: inputs by <see cref="Model.InputNames"/>, targets by <see cref="Model.OutputNames"/>.</summary>
    public static implicit operator ValidationData((Dictionary<string, Array> X, Dictionary<string, Array> Y) data)
    {
        ArgumentNullException.ThrowIfNull(data.X, "validationData.x");
        ArgumentNullException.ThrowIfNull(data.Y, "validationData.y");
        return new(null, null, null) { named = data };
    }

    /// <summary>From a dataset of (x, y) batches.</summary>
    public static implicit operator ValidationData(Dataset dataset) => new(dataset, null, null);
}
