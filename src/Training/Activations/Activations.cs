namespace OnnxKeras;

/// <summary>
/// An activation function with the name Keras serializes it under. Converts implicitly from a Keras
/// name (<c>"relu"</c>) and from a <c>Func&lt;KTensor, KTensor&gt;</c> delegate, so
/// <c>new Dense(32, activation: "relu")</c> and <c>new Dense(32, activation: (Func&lt;KTensor, KTensor&gt;)Ops.Relu)</c>
/// both work. C# applies no user-defined conversion to a bare method group or lambda, so
/// <c>activation: Ops.Relu</c> does not compile: cast it to <c>Func&lt;KTensor, KTensor&gt;</c> or use
/// <c>new ActivationFunction("my_relu", Ops.Relu)</c>.
/// </summary>
public sealed class ActivationFunction
{
    /// <summary>Creates a named activation.</summary>
    public ActivationFunction(string name, Func<KTensor, KTensor> function)
    {
        Name = name;
        Function = function;
    }

    /// <summary>The Keras identifier, e.g. <c>relu</c>; <c>custom</c> for an unnamed delegate.</summary>
    public string Name { get; }

    /// <summary>The function.</summary>
    public Func<KTensor, KTensor> Function { get; }

    /// <summary>Applies the function.</summary>
    public KTensor Apply(KTensor x) => Function(x);

    /// <summary>Looks up a Keras activation name.</summary>
    public static implicit operator ActivationFunction(string name) => Activations.Get(name);

    /// <summary>Wraps a delegate (serialized as <c>custom</c>).</summary>
    public static implicit operator ActivationFunction(Func<KTensor, KTensor> function) => new("custom", function);

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Keras's built-in activations, by name (<see cref="Get"/>) or as members.</summary>
public static class Activations
{
    /// <summary><c>x</c>.</summary>
    public static readonly ActivationFunction Linear = new("linear", x => x);
    /// <summary><c>max(x, 0)</c>.</summary>
    public static readonly ActivationFunction Relu = new("relu", Ops.Relu);
    /// <summary><c>1 / (1 + exp(-x))</c>.</summary>
    public static readonly ActivationFunction Sigmoid = new("sigmoid", Ops.Sigmoid);
    /// <summary><c>tanh(x)</c>.</summary>
    public static readonly ActivationFunction Tanh = new("tanh", Ops.Tanh);
    /// <summary>Softmax over the last axis.</summary>
    public static readonly ActivationFunction Softmax = new("softmax", x => Ops.Softmax(x));
    /// <summary>ELU with alpha 1.</summary>
    public static readonly ActivationFunction Elu = new("elu", x => Ops.Elu(x));
    /// <summary>SELU.</summary>
    public static readonly ActivationFunction Selu = new("selu", Ops.Selu);
    /// <summary>Exact GELU (Keras's default, <c>approximate=False</c>).</summary>
    public static readonly ActivationFunction Gelu = new("gelu", x => Ops.Gelu(x));
    /// <summary><c>x * sigmoid(x)</c>.</summary>
    public static readonly ActivationFunction Silu = new("silu", Ops.Silu);
    /// <summary><c>log(exp(x) + 1)</c>.</summary>
    public static readonly ActivationFunction Softplus = new("softplus", Ops.Softplus);
    /// <summary><c>x / (|x| + 1)</c>.</summary>
    public static readonly ActivationFunction Softsign = new("softsign", Ops.Softsign);
    /// <summary>Leaky ReLU with Keras 3's default slope 0.2.</summary>
    public static readonly ActivationFunction LeakyRelu = new("leaky_relu", x => Ops.LeakyRelu(x, 0.2));
    /// <summary>Keras 3 hard sigmoid <c>clip(x / 6 + 0.5, 0, 1)</c>.</summary>
    public static readonly ActivationFunction HardSigmoid = new("hard_sigmoid", Ops.HardSigmoid);
    /// <summary>
    /// Keras 2's hard sigmoid <c>clip(0.2 x + 0.5, 0, 1)</c> (Keras 3 changed it to <c>x / 6 + 0.5</c>); used when loading
    /// files written by Keras 2, whose LSTM/GRU layers default to it as recurrent activation. Saved configs write it as
    /// Keras's registered-function object <c>onnxkeras&gt;hard_sigmoid_keras2</c>, which Keras 3 loads once the function
    /// is registered there and otherwise refuses (docs/formats.md); <see cref="Get"/> also accepts that name.
    /// </summary>
    public static readonly ActivationFunction HardSigmoidKeras2 = new("hard_sigmoid_keras2", x => Ops.Clip(Ops.Add(Ops.Multiply(x, 0.2), 0.5), 0, 1));

    /// <summary><c>exp(x)</c>.</summary>
    public static readonly ActivationFunction Exponential = new("exponential", Ops.Exp);

    private static readonly Dictionary<string, ActivationFunction> ByName = new(StringComparer.Ordinal)
    {
        ["linear"] = Linear,
        ["relu"] = Relu,
        ["sigmoid"] = Sigmoid,
        ["tanh"] = Tanh,
        ["softmax"] = Softmax,
        ["elu"] = Elu,
        ["selu"] = Selu,
        ["gelu"] = Gelu,
        ["swish"] = new("swish", Ops.Silu),
        ["silu"] = Silu,
        ["softplus"] = Softplus,
        ["softsign"] = Softsign,
        ["leaky_relu"] = LeakyRelu,
        ["hard_sigmoid"] = HardSigmoid,
        ["hard_sigmoid_keras2"] = HardSigmoidKeras2,
        ["exponential"] = Exponential,
    };

    /// <summary>All names <see cref="Get"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <summary>Looks up an activation by its Keras name; <c>null</c> or empty means linear.</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the valid names.</exception>
    public static ActivationFunction Get(string? name)
    {
        if (string.IsNullOrEmpty(name)) return Linear;
        if (ByName.TryGetValue(name, out var a)) return a;
        if (name == Saving.KerasTwo.RegisteredHardSigmoid) return HardSigmoidKeras2;
        throw new ArgumentException($"Unknown activation '{name}'. Valid names: {string.Join(", ", ByName.Keys.Order())}.", nameof(name));
    }
}
