using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// The value that flows between layers, the counterpart of a Keras tensor. Layers compute on it only
/// through <see cref="Ops"/>, which keeps layer code independent of the backend that runs it: today the
/// eager TorchSharp backend (training, Predict); the symbolic backends for shape inference and ONNX export
/// dispatch on the same calls.
/// </summary>
/// <remarks>An eager KTensor does not own its native tensor beyond the current dispose scope: the
/// training loop runs each step in <c>torch.NewDisposeScope()</c>.</remarks>
public sealed class KTensor
{
    /// <summary>Wraps an eager TorchSharp tensor.</summary>
    public KTensor(Tensor value) => Value = value ?? throw new ArgumentNullException(nameof(value));

    /// <summary>The eager TorchSharp tensor.</summary>
    public Tensor Value { get; }

    /// <summary>The shape, with the batch dimension known.</summary>
    public Shape Shape => Shape.Of(Value.shape);

    /// <summary>Number of dimensions.</summary>
    public int Rank => (int)Value.dim();

    /// <summary>Wraps a TorchSharp tensor.</summary>
    public static implicit operator KTensor(Tensor value) => new(value);

    /// <summary>Elementwise sum (broadcasting).</summary>
    public static KTensor operator +(KTensor a, KTensor b) => Ops.Add(a, b);

    /// <summary>Elementwise difference (broadcasting).</summary>
    public static KTensor operator -(KTensor a, KTensor b) => Ops.Subtract(a, b);

    /// <summary>Elementwise product (broadcasting).</summary>
    public static KTensor operator *(KTensor a, KTensor b) => Ops.Multiply(a, b);

    /// <summary>Elementwise quotient (broadcasting).</summary>
    public static KTensor operator /(KTensor a, KTensor b) => Ops.Divide(a, b);

    /// <summary>Scales by a constant.</summary>
    public static KTensor operator *(KTensor a, double b) => Ops.Scale(a, b);

    /// <summary>Scales by a constant.</summary>
    public static KTensor operator *(double b, KTensor a) => Ops.Scale(a, b);

    /// <summary>Negation.</summary>
    public static KTensor operator -(KTensor a) => Ops.Negative(a);

    /// <inheritdoc />
    public override string ToString() => $"KTensor(shape={Shape}, dtype={Value.dtype})";
}
