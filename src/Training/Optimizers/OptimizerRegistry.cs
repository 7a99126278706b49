namespace OnnxKeras.Optimizers;

/// <summary>Orders in which a weights file may store an optimizer's state (see <see cref="Optimizer.RestoreState(long, IReadOnlyList{Saving.StoredArray}, OptimizerStateSource, string)"/>).</summary>
internal enum OptimizerStateLayout
{
    /// <summary>Keras 3's: per <c>add_optimizer_variables</c> call, interleaved per model variable (<c>m0, v0, m1, v1, ...</c>).</summary>
    Keras,

    /// <summary>Each kind for all variables, then the next kind, in Keras's kind order (some Keras 3 releases after 3.9).</summary>
    KerasGrouped,

    /// <summary>OnnxKeras files written before the state followed Keras's order: grouped, in OnnxKeras's old kind order.</summary>
    OnnxKerasV1,
}

/// <summary>What a weights file says about the order of its optimizer state.</summary>
internal enum OptimizerStateSource
{
    /// <summary>Nothing: a Keras file, or an OnnxKeras weights file from before; the order is inferred from the shapes.</summary>
    Unknown,

    /// <summary>An OnnxKeras file that marks its state as written in Keras's order.</summary>
    KerasOrder,

    /// <summary>An OnnxKeras <c>.keras</c> file without that mark: the grouped order OnnxKeras wrote before.</summary>
    OnnxKerasV1,
}

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
