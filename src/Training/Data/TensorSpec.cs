using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>
/// The shape and dtype of one tensor of a dataset element (<c>tf.TensorSpec</c>): the output signature of
/// <see cref="Dataset.FromGenerator(Func{IEnumerable{Tensor[]}}, TensorSpec[], bool)"/>. A null dimension matches any size.
/// </summary>
/// <param name="Shape">The element's shape; null dimensions are unknown (for example the batch of a generator of batches).</param>
/// <param name="DType">"float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16", "int32", "int64" or "bool".</param>
/// <example><code>var spec = new TensorSpec(new Shape(null, 4), "float32");   // batches of 4 features</code></example>
public sealed record TensorSpec(Shape Shape, string DType = "float32")
{
    /// <summary>The TorchSharp type of <see cref="DType"/>.</summary>
    /// <exception cref="ArgumentException">An unknown dtype name.</exception>
    public ScalarType ScalarType => ToScalarType(DType);

    internal static ScalarType ToScalarType(string dtype) => dtype switch
    {
        "float32" => ScalarType.Float32,
        "float64" => ScalarType.Float64,
        "float16" => ScalarType.Float16,
        "bfloat16" => ScalarType.BFloat16,
        "int8" => ScalarType.Int8,
        "uint8" => ScalarType.Byte,
        "int16" => ScalarType.Int16,
        "int32" => ScalarType.Int32,
        "int64" => ScalarType.Int64,
        "bool" => ScalarType.Bool,
        _ => throw new ArgumentException($"TensorSpec: unknown dtype '{dtype}'; use float32, float64, float16, bfloat16, int8, uint8, " +
            "int16, int32, int64 or bool."),
    };

    internal static string DTypeName(ScalarType type) => type switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Int8 => "int8",
        ScalarType.Byte => "uint8",
        ScalarType.Int16 => "int16",
        ScalarType.Int32 => "int32",
        ScalarType.Int64 => "int64",
        ScalarType.Bool => "bool",
        _ => type.ToString(),
    };

    /// <summary>Whether <paramref name="t"/> has this dtype, the same rank and every known dimension; else why not.</summary>
    internal string? Mismatch(Tensor t)
    {
        if (t.dtype != ScalarType) return $"dtype {DTypeName(t.dtype)} where {DType} was expected";
        var dims = t.shape;
        bool fits = dims.Length == Shape.Rank;
        for (int i = 0; fits && i < dims.Length; i++) fits = Shape[i] is not long d || d == dims[i];
        return fits ? null : $"shape {OnnxKeras.Shape.Of(dims)} where {Shape} was expected";
    }
}
