namespace OnnxKeras.Optimizers;

/// <summary>Keras's built-in optimizers by name.</summary>
public static class OptimizerRegistry
{
    private static readonly Dictionary<string, Func<Optimizer>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sgd"] = () => new SGD(),
        ["adam"] = () => new Adam(),
        ["adamw"] = () => new AdamW(),
        ["rmsprop"] = () => new RMSprop(),
        ["adagrad"] = () => new Adagrad(),
        ["adadelta"] = () => new Adadelta(),
        ["adamax"] = () => new Adamax(),
        ["nadam"] = () => new Nadam(),
    };

    /// <summary>A new optimizer for a Keras name.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static Optimizer Get(string name) =>
        Factories.TryGetValue(name, out var f) ? f() :
        throw new ArgumentException($"Unknown optimizer '{name}'. Valid names: {string.Join(", ", Factories.Keys.Order())}.", nameof(name));
}
