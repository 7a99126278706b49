using OnnxKeras.Data;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

/// <summary>
/// Validation data for Fit: <c>(x, y)</c> arrays or tensors, or a <see cref="Dataset"/> (converts implicitly from each).
/// Arrays are converted when Fit starts and released when it ends.
/// </summary>
public sealed class ValidationData
{
    private readonly Array[]? arrays;
    private readonly Tensor[]? tensors;

    private ValidationData(Dataset? dataset, Array[]? arrays, Tensor[]? tensors)
    {
        Dataset = dataset;
        this.arrays = arrays;
        this.tensors = tensors;
    }

    internal Dataset? Dataset { get; }

    /// <summary>The (x, y) tensors; <paramref name="owned"/> lists the ones created here, which the caller disposes.</summary>
    internal Tensor[] Tensors(List<Tensor> owned)
    {
        if (tensors is not null) return tensors;
        var converted = new[] { TensorConvert.ToTensor(arrays![0], "validationData.x"), TensorConvert.ToTensor(arrays[1], "validationData.y") };
        owned.AddRange(converted);
        return converted;
    }

    /// <summary>From arrays.</summary>
    public static implicit operator ValidationData((Array X, Array Y) data) => new(null, [data.X, data.Y], null);

    /// <summary>From tensors.</summary>
    public static implicit operator ValidationData((Tensor X, Tensor Y) data) => new(null, null, [data.X, data.Y]);

    /// <summary>From a dataset of (x, y) batches.</summary>
    public static implicit operator ValidationData(Dataset dataset) => new(dataset, null, null);
}
