using OnnxKeras.Data;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

/// <summary>Validation data for Fit: <c>(x, y)</c> arrays or tensors, or a <see cref="Dataset"/> (converts implicitly from each).</summary>
public sealed class ValidationData
{
    private ValidationData(Dataset? dataset, Tensor[]? tensors)
    {
        Dataset = dataset;
        Tensors = tensors;
    }

    internal Dataset? Dataset { get; }
    internal Tensor[]? Tensors { get; }

    /// <summary>From arrays.</summary>
    public static implicit operator ValidationData((Array X, Array Y) data) =>
        new(null, [TensorConvert.ToTensor(data.X, "validationData.x"), TensorConvert.ToTensor(data.Y, "validationData.y")]);

    /// <summary>From tensors.</summary>
    public static implicit operator ValidationData((Tensor X, Tensor Y) data) => new(null, [data.X, data.Y]);

    /// <summary>From a dataset of (x, y) batches.</summary>
    public static implicit operator ValidationData(Dataset dataset) => new(dataset, null);
}
