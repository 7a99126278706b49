using System.Collections;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Base of every layer, with Keras's contract: the constructor stores the config; <see cref="Build(Shape)"/>
/// creates the weights with <see cref="AddWeight"/> and runs lazily on the first call; <see cref="Call(KTensor, bool)"/>
/// computes with <see cref="Ops"/>; <see cref="ComputeOutputShape"/> and <see cref="GetConfig"/> describe it.
/// Invoke a layer with <see cref="Apply(KTensor, bool)"/> (Keras's <c>layer(x)</c>), which builds it and checks the input.
/// </summary>
/// <example><code>
/// public sealed class MyLayer(int outputDim) : Layer
/// {
///     private Variable? kernel;
///     public override void Build(Shape inputShape) => kernel = AddWeight("kernel", [inputShape[^1]!.Value, outputDim], "uniform");
///     public override KTensor Call(KTensor inputs, bool training = false) => Ops.MatMul(inputs, kernel!);
///     public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(outputDim);
/// }
/// </code></example>
public abstract partial class Layer : IDisposable
{
    private static readonly Dictionary<string, int> NameCounters = new(StringComparer.Ordinal);
    private readonly List<Variable> variables = [];
    private string? name;
    private bool trainable = true;
    private bool disposed;

    /// <summary>The layer's unique name; by default the snake_case class name with a counter (<c>dense</c>, <c>dense_1</c>, ...).</summary>
    public string Name
    {
        get => name ??= UniqueName(SnakeCase(GetType().Name));
        init => name = string.IsNullOrWhiteSpace(value) ? throw new ArgumentException("A layer name cannot be empty.") : value;
    }

    /// <summary>Keras's <c>input_shape</c> argument: the per-sample input shape (without batch), which lets a model build before it sees data.</summary>
    public Shape? InputShape { get; init; }

    /// <summary>Whether the layer's weights are updated by training (Keras's <c>trainable</c>; applies to sublayers too).</summary>
    public bool Trainable
    {
        get => trainable;
        set
        {
            trainable = value;
            foreach (var v in variables) v.Trainable = value && v.DeclaredTrainable;
            foreach (var l in Sublayers) l.Trainable = value;
        }
    }

    /// <summary>True once <see cref="Build(Shape)"/> has run.</summary>
    public bool Built { get; protected set; }

    /// <summary>The input shape the layer was built for (batch dimension null).</summary>
    public Shape? BuildInputShape { get; private set; }

    /// <summary>Optional constraint on the inputs checked by <see cref="Apply(KTensor, bool)"/> (set in <see cref="Build(Shape)"/>).</summary>
    protected InputSpec? InputSpec { get; set; }

    /// <summary>Creates the layer's weights for <paramref name="inputShape"/> (batch dimension null). Called once, lazily.</summary>
    public virtual void Build(Shape inputShape) { }

    /// <summary>Build for a layer called on several inputs (merge layers); the default accepts exactly one.</summary>
    public virtual void Build(IReadOnlyList<Shape> inputShapes)
    {
        if (inputShapes.Count != 1) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes one input; got {inputShapes.Count}.");
        Build(inputShapes[0]);
    }

    /// <summary>The computation, with <see cref="Ops"/>. <paramref name="training"/> selects training behaviour (Dropout, BatchNormalization).</summary>
    public virtual KTensor Call(KTensor inputs, bool training = false) =>
        throw new NotSupportedException($"Layer '{Name}' ({GetType().Name}) does not override Call(KTensor); a custom layer must " +
            "implement its computation there.");

    /// <summary>The computation for several inputs and/or outputs (merge layers, RNNs with states). The default runs
    /// the single-input <see cref="Call(KTensor, bool)"/>.</summary>
    public virtual IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false)
    {
        if (inputs.Count != 1) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes one input; got {inputs.Count}.");
        return [Call(inputs[0], training)];
    }

    /// <summary>
    /// Output shape for an input shape (batch dimension may be null). The default infers it by running the layer once on
    /// zeros (unknown dimensions tried at two sizes), so custom layers need not override it; built-in layers compute it directly.
    /// </summary>
    public virtual Shape ComputeOutputShape(Shape inputShape) => InferOutputShapes([inputShape])[0];

    /// <summary>Output shapes for several inputs; the default handles one input through <see cref="ComputeOutputShape(Shape)"/>, else infers them.</summary>
    public virtual IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes) =>
        inputShapes.Count == 1 ? [ComputeOutputShape(inputShapes[0])] : InferOutputShapes(inputShapes);

    /// <summary>The constructor arguments as Keras config (snake_case keys). Subclasses add theirs to the base config.</summary>
    /// <remarks>The base entries are <c>name</c>, <c>trainable</c>, <c>dtype</c> and, when set,
    /// <c>activity_regularizer</c> (as Keras 3's <c>Layer.get_config</c>).</remarks>
    public virtual LayerConfig GetConfig()
    {
        var config = new LayerConfig().With("name", Name).With("trainable", Trainable).With("dtype", "float32");
        return ActivityRegularizer is null ? config : config.With("activity_regularizer", ActivityRegularizer);
    }

    /// <summary>
    /// Calls the layer (Keras's <c>layer(x)</c>): builds it on first use from the input's shape, checks the input against
    /// the layer's spec, and runs <see cref="Call(KTensor, bool)"/>. On a symbolic tensor (functional API) it records the
    /// call and returns a symbolic output with the inferred shape. Errors name the layer and the shapes.
    /// </summary>
    public KTensor Apply(KTensor inputs, bool training = false)
    {
        if (inputs.IsSymbolic || inputs.Tracer is not null) return Single(ApplyMany([inputs], training));
        ObjectDisposedException.ThrowIf(disposed, this);
        var shape = inputs.Shape;
        if (!Built) EnsureBuilt(new Shape([null, .. shape.Dims[1..]]));
        InputSpec?.Check(this, shape);
        try
        {
            return RunEager(() => WithOutputMasks([inputs], [Call(inputs, training)]))[0];
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) failed on input of shape {shape}: {FirstLine(e.Message)}", e);
        }
    }

    /// <summary>Calls a layer on several inputs (e.g. <c>new Add().Apply([a, b])</c>) that has one output.</summary>
    public KTensor Apply(IReadOnlyList<KTensor> inputs, bool training = false) => Single(ApplyMany(inputs, training));

    /// <summary>Calls a layer on several inputs and returns all its outputs (e.g. an RNN with <c>returnState</c>).</summary>
    public IReadOnlyList<KTensor> ApplyMany(IReadOnlyList<KTensor> inputs, bool training = false) => ApplyCore(inputs, null, training);

    /// <summary>
    /// Calls a layer with Keras's keyword call arguments as well (<c>mha(q, v, attention_mask=m, use_causal_mask=True)</c>):
    /// <paramref name="kwargs"/> holds booleans, numbers, strings or tensors (symbolic when the inputs are), which the
    /// layer's <see cref="CallWithKwargs"/> reads; a functional
    /// model records them in the call's node and its config. Returns all outputs.
    /// </summary>
    public IReadOnlyList<KTensor> ApplyWithKwargs(IReadOnlyList<KTensor> inputs, IReadOnlyDictionary<string, object?> kwargs, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(kwargs);
        return ApplyCore(inputs, kwargs.Count == 0 ? null : kwargs, training);
    }

    /// <summary>
    /// The computation with keyword call arguments (see <see cref="ApplyWithKwargs"/>).
    /// The default takes none: with an empty <paramref name="kwargs"/> it runs <see cref="Call(IReadOnlyList{KTensor}, bool)"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">A keyword argument the layer does not take.</exception>
    public virtual IReadOnlyList<KTensor> CallWithKwargs(IReadOnlyList<KTensor> inputs, IReadOnlyDictionary<string, object?> kwargs, bool training)
    {
        ArgumentNullException.ThrowIfNull(kwargs);
        if (kwargs.Count > 0)
            throw new NotSupportedException($"Layer '{Name}' ({GetType().Name}) takes no keyword call arguments; got {string.Join(", ", kwargs.Keys)}.");
        return Call(inputs, training);
    }

    /// <summary>Output shapes for a call with keyword arguments; the default takes none (see
    /// <see cref="CallWithKwargs"/>).</summary>
    /// <exception cref="NotSupportedException">A keyword argument the layer does not take.</exception>
    public virtual IReadOnlyList<Shape> ComputeOutputShapesWithKwargs(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> kwargs)
    {
        ArgumentNullException.ThrowIfNull(kwargs);
        if (kwargs.Count > 0)
            throw new NotSupportedException($"Layer '{Name}' ({GetType().Name}) takes no keyword call arguments; got {string.Join(", ", kwargs.Keys)}.");
        return ComputeOutputShapes(inputShapes);
    }

    /// <summary>Whether Keras calls the layer with its tensors as separate positional arguments (<c>call(query, value, key)</c>)
    /// rather than one list (<c>call(inputs)</c>): how a functional config writes the call's <c>args</c>.</summary>
    internal virtual bool CallTakesSeparateArgs => false;

    /// <summary>Whether the layer reads keyword call arguments, so a functional config's <c>kwargs</c> are passed to it
    /// (other layers ignore them, as before).</summary>
    internal virtual bool TakesKwargs => false;

    private IReadOnlyList<KTensor> ApplyCore(IReadOnlyList<KTensor> inputs, IReadOnlyDictionary<string, object?>? kwargs, bool training)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (inputs.Count == 0) throw new ArgumentException($"Layer '{Name}' was called with no inputs.");
        bool symbolic = inputs[0].IsSymbolic;
        if (inputs.Any(t => t.IsSymbolic != symbolic))
            throw new ArgumentException($"Layer '{Name}' was called on a mix of symbolic (Keras.Input) and eager tensors.");
        var shapes = inputs.Select(t => t.Shape).ToList();
        if (!Built) EnsureBuilt(shapes.Select(s => new Shape([null, .. s.Dims[1..]])).ToList());
        if (InputSpec is not null) foreach (var s in shapes) InputSpec.Check(this, s);
        if (kwargs is not null && kwargs.Values.OfType<KTensor>().Any(t => t.IsSymbolic != symbolic))
            throw new ArgumentException($"Layer '{Name}' was called on a mix of symbolic (Keras.Input) and eager tensors.");
        if (symbolic)
        {
            return kwargs is null ? Node.Record(this, inputs, ComputeOutputShapes(shapes))
                : Node.Record(this, inputs, kwargs, ComputeOutputShapesWithKwargs(shapes, kwargs));
        }
        IReadOnlyList<KTensor> Run() => kwargs is null ? Call(inputs, training) : CallWithKwargs(inputs, kwargs, training);
        var tracer = inputs.FirstOrDefault(t => t.Tracer is not null)?.Tracer;
        if (tracer is not null)
        {
            var traced = tracer.CallLayer(this, inputs, Run);
            SettleSublayers();
            return WithOutputMasks(inputs, traced);
        }
        try
        {
            return RunEager(() => WithOutputMasks(inputs, Run()));
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) failed on inputs of shapes {string.Join(", ", shapes)}: {FirstLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// Whether the layer handles masks (Keras's <c>supports_masking</c>): it may read its inputs' <see cref="KTensor.Mask"/>
    /// in <see cref="Call(KTensor, bool)"/>, and its outputs get the masks from <see cref="ComputeMask"/> (by default the
    /// first input's mask, which suits layers that act on each timestep alone, like Dense). Layers that do not support
    /// masking drop the mask, as in Keras: downstream layers then see none.
    /// </summary>
    public virtual bool SupportsMasking => false;

    /// <summary>
    /// The mask of each output (Keras's <c>compute_mask</c>) from the inputs and their masks (null where an input has none);
    /// outputs beyond the returned list get no mask. Used only when <see cref="SupportsMasking"/>; the default passes the
    /// first input's mask on to the first output.
    /// </summary>
    public virtual IReadOnlyList<KTensor?> ComputeMask(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor?> masks) => [masks.Count > 0 ? masks[0] : null];

    /// <summary>Keras's <c>_set_mask_metadata</c>: outputs that carry no mask yet get <see cref="ComputeMask"/>'s, when the layer supports masking.</summary>
    private IReadOnlyList<KTensor> WithOutputMasks(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor> outputs)
    {
        if (!SupportsMasking)
        {
            // An input returned as is keeps its value but, as in Keras, not its mask past a layer that does not support masking.
            return outputs.Any(o => o.Mask is not null && inputs.Any(i => ReferenceEquals(i, o)))
                ? outputs.Select(o => inputs.Any(i => ReferenceEquals(i, o)) ? o.WithMask(null) : o).ToList()
                : outputs;
        }
        // Loops rather than LINQ: this runs for every layer call of every training step.
        bool allMasked = true;
        foreach (var o in outputs) allMasked &= o.Mask is not null;
        if (allMasked) return outputs;
        var inputMasks = new KTensor?[inputs.Count];
        for (int i = 0; i < inputMasks.Length; i++) inputMasks[i] = inputs[i].Mask;
        var masks = ComputeMask(inputs, inputMasks);
        bool noMask = true;
        foreach (var m in masks) noMask &= m is null;
        if (noMask) return outputs;
        return outputs.Select((o, k) => o.Mask is null && k < masks.Count && masks[k] is { } m ? o.WithMask(m) : o).ToList();
    }

    private KTensor Single(IReadOnlyList<KTensor> outputs) => outputs.Count == 1 ? outputs[0]
        : throw new InvalidOperationException($"Layer '{Name}' returns {outputs.Count} outputs; use ApplyMany to get them all.");

    /// <summary>The calls of this layer on symbolic tensors (one per use in functional models; several for a shared layer).</summary>
    public IReadOnlyList<Node> InboundNodes => inboundNodes;

    private readonly List<Node> inboundNodes = [];

    internal void AddInboundNode(Node node) => inboundNodes.Add(node);

    /// <summary>Runs the layer once on zeros to learn its output shapes (Keras's compute_output_spec).</summary>
    private IReadOnlyList<Shape> InferOutputShapes(IReadOnlyList<Shape> inputShapes)
    {
        bool unknownInner = inputShapes.Any(s => s.Skip(1).Any(d => d is null));
        var first = RunOnZeros(inputShapes, 5);
        var second = unknownInner ? RunOnZeros(inputShapes, 7) : first;
        bool batchUnknown = inputShapes.Any(s => s.Rank > 0 && s[0] is null);
        return first.Select((shape, k) => new Shape(shape.Select((d, i) =>
            (i == 0 && batchUnknown) || second[k][i] != d ? null : (long?)d).ToArray())).ToList();
    }

    private List<long[]> RunOnZeros(IReadOnlyList<Shape> inputShapes, long unknown)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var inputs = inputShapes
            .Select(s => (KTensor)zeros(s.Select((d, i) => d ?? (i == 0 ? 2 : unknown)).ToArray(), ScalarType.Float32, Keras.Device)).ToList();
        if (!Built) EnsureBuilt(inputShapes.Select(s => new Shape([null, .. s.Dims[1..]])).ToList());
        try
        {
            var outputs = Call(inputs, false);
            SettleSublayers();
            ClearCallLosses(); // terms a custom Call added on these zeros belong to no step
            return outputs.Select(o => o.Value.shape).ToList();
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) cannot take inputs of shape " +
                $"{string.Join(", ", inputShapes)}: {FirstLine(e.Message)}", e);
        }
    }

    /// <summary>Builds the layer for <paramref name="inputShape"/> if it is not built yet.</summary>
    public void EnsureBuilt(Shape inputShape) => EnsureBuilt([inputShape]);

    /// <summary>Builds the layer for several input shapes if it is not built yet.</summary>
    public void EnsureBuilt(IReadOnlyList<Shape> inputShapes)
    {
        if (Built) return;
        if (inputShapes.Any(s => s.Rank == 0)) throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) cannot take a scalar input.");
        if (inputShapes.Count == 1) Build(inputShapes[0]);
        else Build(inputShapes);
        BuildInputShape = inputShapes[0];
        BuildInputShapes = inputShapes;
        Built = true;
        BuildSublayersByRunning(inputShapes);
    }

    /// <summary>All input shapes the layer was built for (several for merge layers).</summary>
    public IReadOnlyList<Shape>? BuildInputShapes { get; private set; }


    /// <summary>Releases the native memory of the weights.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var v in variables) v.Dispose();
        foreach (var l in Sublayers) l.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString() => $"<{GetType().Name} name={Name}, built={Built}>";

    internal static string SnakeCase(string s)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsUpper(c))
            {
                // Keras's to_snake_case: "_" before a capitalized word or after a lowercase letter, so Conv2DTranspose -> conv2d_transpose.
                bool prevLower = i > 0 && char.IsLower(s[i - 1]);
                bool nextLower = i + 1 < s.Length && char.IsLower(s[i + 1]);
                if (i > 0 && s[i - 1] != '_' && (prevLower || nextLower)) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static string UniqueName(string prefix)
    {
        lock (NameCounters)
        {
            NameCounters.TryGetValue(prefix, out int n);
            NameCounters[prefix] = n + 1;
            return n == 0 ? prefix : $"{prefix}_{n}";
        }
    }

    private static string FirstLine(string s)
    {
        int i = s.IndexOf('\n');
        return i < 0 ? s : s[..i];
    }
}
