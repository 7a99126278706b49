using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

/// <summary>One dimension of a model input or output: a fixed size, or a symbolic one (named or not).</summary>
/// <param name="Value">The fixed size, or null when the dimension is symbolic (chosen by the caller at run time).</param>
/// <param name="Name">The symbolic name (ONNX <c>dim_param</c>, e.g. <c>"batch"</c>), or null for fixed or unnamed
/// dimensions.</param>
public readonly record struct TensorDimension(long? Value, string? Name)
{
    /// <summary>True if the model fixes this dimension's size.</summary>
    public bool IsFixed => Value.HasValue;

    /// <summary>The size, the symbolic name, or <c>?</c> for an unnamed symbolic dimension.</summary>
    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Name ?? "?";
}

/// <summary>Name, element type and shape of a model input or output, as declared in the ONNX graph.</summary>
public sealed class ModelTensorInfo
{
    internal ModelTensorInfo(string name, NodeMetadata meta)
    {
        Name = name;
        IsTensor = meta.IsTensor;
        if (!meta.IsTensor)
        {
            ElementType = TensorElementType.DataTypeMax;
            Dimensions = [];
            return;
        }
        ElementType = meta.ElementDataType;
        var dims = meta.Dimensions;
        var symbols = meta.SymbolicDimensions;
        var list = new TensorDimension[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            string? symbol = i < symbols.Length && !string.IsNullOrEmpty(symbols[i]) ? symbols[i] : null;
            list[i] = dims[i] >= 0 && symbol is null ? new TensorDimension(dims[i], null) : new TensorDimension(null, symbol);
        }
        Dimensions = list;
    }

    /// <summary>The input or output name in the graph.</summary>
    public string Name { get; }

    /// <summary>False for sequence, map or optional values, which this library does not feed or return.</summary>
    public bool IsTensor { get; }

    /// <summary>The element type (<see cref="TensorElementType.Float"/> for Keras models). <see cref="TensorElementType.DataTypeMax"/>
    /// when <see cref="IsTensor"/> is false.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>The declared shape, outermost dimension first.</summary>
    public IReadOnlyList<TensorDimension> Dimensions { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Dimensions.Count;

    /// <summary>The shape with symbolic dimensions as null, e.g. <c>[null, 4]</c> for <c>[batch, 4]</c>.</summary>
    public long?[] Shape => Dimensions.Select(d => d.Value).ToArray();

    /// <summary>The shape written like <c>[batch, 4]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Dimensions) + "]";

    /// <summary>E.g. <c>x: Float [batch, 4]</c>.</summary>
    public override string ToString() => $"{Name}: {ElementType} {ShapeText}";
}
