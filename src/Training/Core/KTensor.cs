using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// The value that flows between layers, the counterpart of a Keras tensor. It is either <b>eager</b> (it holds a
/// TorchSharp tensor: training and Predict) or <b>symbolic</b> (it holds only a shape and the layer call that
/// produced it: the functional API's <see cref="Keras.Input"/> and the graph built from it). Layers compute on it
/// only through <see cref="Ops"/>, which keeps layer code independent of the backend that runs it.
/// </summary>
/// <remarks>An eager KTensor does not own its native tensor beyond the current dispose scope: the training loop
/// runs each step in <c>torch.NewDisposeScope()</c>.</remarks>
public sealed class KTensor
{
    private readonly Tensor? value;
    private readonly Shape? symbolicShape;

    /// <summary>Wraps an eager TorchSharp tensor.</summary>
    public KTensor(Tensor value) => this.value = value ?? throw new ArgumentNullException(nameof(value));

    private KTensor(Shape shape, string? name, KerasHistory? history)
    {
        symbolicShape = shape;
        Name = name;
        History = history;
    }

    private KTensor(Tensor example, IOpTracer tracer, string symbol)
    {
        value = example;
        Tracer = tracer;
        Symbol = symbol;
    }

    /// <summary>
    /// A traced tensor for a symbolic interpreter of <see cref="Ops"/> (ONNX export): <paramref name="example"/> is data
    /// of the right shape that ops compute on, <paramref name="symbol"/> is the tracer's name for the value.
    /// </summary>
    internal static KTensor Traced(Tensor example, IOpTracer tracer, string symbol) => new(example, tracer, symbol);

    /// <summary>
    /// Keras's <c>_keras_mask</c>: for a sequence [batch, time, ...], a boolean [batch, time] tensor that is false at the
    /// timesteps to skip (set by <see cref="Layers.Masking"/> or <c>Embedding(maskZero: true)</c> and propagated by layers
    /// that support masking; recurrent layers consume it). Null when the tensor carries no mask.
    /// </summary>
    public KTensor? Mask { get; private init; }

    /// <summary>
    /// The same value (eager or traced) carrying <paramref name="mask"/> instead of its current mask (Keras's
    /// <c>backend.set_keras_mask</c>, without changing this tensor). Use it to pass an explicit mask to a layer:
    /// <c>lstm.Apply(x.WithMask(mask))</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor is symbolic: masks of the functional API flow when the model runs.</exception>
    public KTensor WithMask(KTensor? mask)
    {
        if (IsSymbolic)
            throw new InvalidOperationException($"{this} is symbolic: masks are carried by eager and traced tensors; in a functional " +
                "model they propagate when it runs.");
        if (ReferenceEquals(mask, Mask)) return this;
        return Tracer is null ? new KTensor(value!) { Mask = mask } : new KTensor(value!, Tracer, Symbol!) { Mask = mask };
    }

    /// <summary>The tracer of a traced tensor, else null.</summary>
    internal IOpTracer? Tracer { get; }

    /// <summary>The tracer's name for a traced tensor (its value name in the exported graph), else null.</summary>
    internal string? Symbol { get; }

    /// <summary>A symbolic tensor of <paramref name="shape"/> (batch dimension included, usually null).</summary>
    internal static KTensor Symbolic(Shape shape, string? name, KerasHistory? history) => new(shape, name, history);

    /// <summary>True for a symbolic tensor of the functional API (no data).</summary>
    public bool IsSymbolic => value is null;

    /// <summary>The eager TorchSharp tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is symbolic.</exception>
    public Tensor Value => value ?? throw new InvalidOperationException(
        $"{this} is symbolic (from Keras.Input): it has a shape but no data. Call layers on it to build a model, then new Model(inputs, outputs).");

    /// <summary>The shape: for eager tensors with the batch dimension known, for symbolic ones usually with batch null.</summary>
    public Shape Shape => symbolicShape ?? Shape.Of(value!.Sizes());

    /// <summary>Number of dimensions.</summary>
    public int Rank => symbolicShape?.Rank ?? (int)value!.dim();

    /// <summary>Name of a symbolic input (from <see cref="Keras.Input"/>), else null.</summary>
    public string? Name { get; }

    /// <summary>For a symbolic tensor: the layer call that produced it.</summary>
    internal KerasHistory? History { get; }

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
    public static KTensor operator *(KTensor a, double b) => Ops.Multiply(a, b);

    /// <summary>Scales by a constant.</summary>
    public static KTensor operator *(double b, KTensor a) => Ops.Multiply(a, b);

    /// <summary>Negation.</summary>
    public static KTensor operator -(KTensor a) => Ops.Negative(a);

    /// <inheritdoc />
    public override string ToString() => IsSymbolic
        ? $"<KerasTensor shape={Shape}{(Name is null ? "" : $", name={Name}")}{(History is null ? "" : $", from {History.Layer.Name}")}>"
        : $"KTensor(shape={Shape}, dtype={value!.dtype})";
}

/// <summary>Where a symbolic tensor came from: output <see cref="TensorIndex"/> of call <see cref="Node"/> of <see cref="Layer"/>.</summary>
internal sealed record KerasHistory(Layers.Layer Layer, Layers.Node Node, int TensorIndex);
