namespace OnnxKeras.Layers;

/// <summary>
/// Wraps a function of one tensor as a layer (Keras's <c>Lambda</c>). The function is an <see cref="ActivationFunction"/>
/// (a name and a <c>Func&lt;KTensor, KTensor&gt;</c>) built on <see cref="Ops"/>, so it trains and exports to ONNX like
/// any layer. The config names the function as Keras 3 names a registered one
/// (<c>{"class_name": "function", "config": name, "registered_name": "package&gt;name"}</c>); to load it again the
/// function must be registered (<see cref="KerasObjects.Register(ActivationFunction, string?)"/>) or passed in
/// <see cref="CustomObjects"/>, else loading fails naming it. Keras files that hold a Python lambda (its bytecode) are
/// refused: there is no C# form of Python code. The layer has no weights and drops input masks, as Keras's does
/// without <c>mask</c>.
/// </summary>
/// <example><code>
/// var square = new ActivationFunction("square", x =&gt; x * x);
/// KerasObjects.Register(square);
/// var y = new Lambda(square).Apply(Keras.Input([4]));
/// </code></example>
public sealed class Lambda : Layer
{
    /// <summary>Wraps <paramref name="function"/>.</summary>
    /// <param name="function">The function to apply; its name is what the config records.</param>
    /// <param name="outputShape">The per-sample output shape (no batch), or null to infer it by running the function.</param>
    /// <param name="arguments">Keras's keyword arguments for the function: only empty (a C# function takes none).</param>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="arguments"/> is not empty.</exception>
    public Lambda(ActivationFunction function, Shape? outputShape = null, IDictionary<string, object?>? arguments = null)
    {
        Function = function ?? throw new ArgumentNullException(nameof(function));
        if (arguments is { Count: > 0 })
            throw new ArgumentException($"Lambda: arguments are not supported (a C# function takes one tensor); got " +
                $"{string.Join(", ", arguments.Keys)}. Capture the values in the function instead.", nameof(arguments));
        OutputShape = outputShape;
    }

    /// <summary>The wrapped function.</summary>
    public ActivationFunction Function { get; }

    /// <summary>The per-sample output shape given to the constructor, or null when it is inferred.</summary>
    public Shape? OutputShape { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Function.Apply(inputs);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        OutputShape is { } s ? s.WithBatch(inputShape.Rank > 0 ? inputShape[0] : null) : base.ComputeOutputShape(inputShape);

    /// <summary>Keras 3's config: the function in its registered-function form, <c>output_shape</c> when given, and empty <c>arguments</c>.</summary>
    public override LayerConfig GetConfig()
    {
        string? registered = KerasObjects.RegisteredName(Function);
        bool builtIn = registered is null && Activations.Names.Contains(Function.Name);
        var function = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["module"] = builtIn ? "keras.activations" : "builtins",
            ["class_name"] = "function",
            ["config"] = Function.Name,
            ["registered_name"] = builtIn ? null : registered ?? Function.Name,
        };
        var config = base.GetConfig().With("function", function);
        if (OutputShape is not null) config = config.With("output_shape", OutputShape.Dims);
        return config.With("arguments", new Dictionary<string, object?>(StringComparer.Ordinal));
    }
}
