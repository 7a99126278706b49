using System.Diagnostics;
using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

/// <summary>
/// A layer with training and inference (Keras's <c>Model</c>): <see cref="Compile"/>,
/// <see cref="Fit(Array, Array?, int?, int, int, IEnumerable{Callback}?, double, ValidationData?, bool,
/// IReadOnlyDictionary{int, double}?, Array?, int, int?, int?, int)"/>,
/// <see cref="Evaluate(Array, Array, int?, int, Array?, IEnumerable{Callback}?)"/>, <see cref="Predict(Array, int?, int)"/> and their
/// batch variants. Make a functional model with <c>new Model(inputs, outputs)</c> from <see cref="Keras.Input"/> tensors,
/// subclass it and override <see cref="Layer.Call(KTensor, bool)"/> for a subclassed model (layers held in fields are
/// tracked automatically), or use <see cref="Sequential"/>.
/// </summary>
/// <example><code>
/// var input = Keras.Input(shape: [72]);
/// var hidden = new Dense(32, activation: "relu").Apply(input);
/// var output = new Dense(10, activation: "softmax").Apply(hidden);
/// var model = new Model(input, output);
/// </code></example>
public partial class Model : Layer
{
    private readonly FunctionalGraph? graph;

    /// <summary>For subclassed models: create layers in the constructor and override <see cref="Layer.Call(KTensor, bool)"/>.</summary>
    protected Model() { }

    /// <summary>A functional model from a <see cref="Keras.Input"/> tensor to an output tensor.</summary>
    public Model(KTensor inputs, KTensor outputs, string? name = null) : this([inputs], [outputs], name) { }

    /// <summary>A functional model with several inputs and/or outputs.</summary>
    public Model(IReadOnlyList<KTensor> inputs, IReadOnlyList<KTensor> outputs, string? name = null)
    {
        if (name is not null) Name = name;
        graph = new FunctionalGraph(inputs, outputs, Name);
        EnsureBuilt(graph.Inputs.Select(t => t.Shape).ToList());
    }

    /// <summary>
    /// The layer graph: a functional model's, or a built <see cref="Sequential"/>'s chain; null for a subclassed model
    /// (its computation is C# code, not a graph).
    /// </summary>
    public virtual FunctionalGraph? Graph => graph;

    /// <inheritdoc />
    public override IReadOnlyList<Layer> Sublayers => graph?.Layers ?? base.Sublayers;

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        if (graph is null) base.Build(inputShape);
    }

    /// <inheritdoc />
    public override void Build(IReadOnlyList<Shape> inputShapes)
    {
        if (graph is null) base.Build(inputShapes);
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (graph is null) return base.Call(inputs, training);
        var outs = graph.Run([inputs], training);
        return outs.Count == 1 ? outs[0] : throw new InvalidOperationException($"Model '{Name}' has {outs.Count} outputs; call it with ApplyMany.");
    }

    /// <inheritdoc />
    public override IReadOnlyList<KTensor> Call(IReadOnlyList<KTensor> inputs, bool training = false) =>
        graph is null ? base.Call(inputs, training) : graph.Run(inputs, training);

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes) =>
        graph is null ? base.ComputeOutputShapes(inputShapes) : graph.Outputs.Select(o => new Shape([inputShapes[0][0], .. o.Shape.Dims[1..]])).ToList();

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        graph is null ? base.ComputeOutputShape(inputShape) : ComputeOutputShapes([inputShape])[0];

    /// <summary>Set by callbacks to end <c>Fit</c> after the current batch/epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>The layers of the model, in order.</summary>
    public virtual IReadOnlyList<Layer> Layers => Sublayers;

    /// <summary>The layer named <paramref name="name"/>.</summary>
    public Layer GetLayer(string name) => Layers.FirstOrDefault(l => l.Name == name)
        ?? throw new ArgumentException($"No layer named '{name}' in model '{Name}'. Layers: {string.Join(", ", Layers.Select(l => l.Name))}.");

    /// <summary>Number of inputs (several for a functional model with several <see cref="Keras.Input"/>s).</summary>
    public int NumInputs => graph?.Inputs.Count ?? 1;

    /// <summary>Number of outputs.</summary>
    public int NumOutputs => graph?.Outputs.Count ?? 1;

    /// <summary>
    /// Names of the inputs, used to match named data and as the ONNX graph's input names: the InputLayers' names (the
    /// <see cref="Keras.Input"/> names; a <see cref="Sequential"/>'s InputLayer, auto-named <c>input_layer</c>, ...
    /// when not given). A subclassed model, which has no InputLayer, says <c>input</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A <see cref="Sequential"/> model whose input shape is not known yet
    /// (no InputLayer, no data seen).</exception>
    public IReadOnlyList<string> InputNames
    {
        get
        {
            if (Graph is { } g) return g.Inputs.Select(t => t.Name!).ToList();
            if (this is Sequential s) return s.InputLayer is { } input ? [input.Name]
                : throw new InvalidOperationException($"Sequential model '{Name}' has no input yet, so its input name is unknown: give " +
                    "it an InputLayer (or the first layer an InputShape), or call it on data first.");
            return ["input"];
        }
    }

    /// <summary>
    /// Names of the outputs (the layers that produce them; a layer with several outputs gets <c>_index</c>), used for
    /// per-output losses, metrics, named data and as the ONNX graph's output names. A subclassed model says <c>output</c>.
    /// </summary>
    public IReadOnlyList<string> OutputNames
    {
        get
        {
            var graph = Graph;
            if (graph is null) return this is Sequential { Layers.Count: > 0 } s ? [s.Layers[^1].Name] : ["output"];
            var names = graph.Outputs.Select(t => t.History!.Layer.Name).ToList();
            return names.Select((n, i) => names.Count(m => m == n) > 1 ? $"{n}_{graph.Outputs[i].History!.TensorIndex}" : n).ToList();
        }
    }

    /// <summary>Runs the model forward on device batches (one per input), building it on first use.</summary>
    internal IReadOnlyList<KTensor> Forward(IReadOnlyList<Tensor> xs, bool training)
    {
        EnsureBuiltFor(xs);
        var inputs = xs.Select(x => (KTensor)PrepareInput(x)).ToList();
        return inputs.Count == 1 && graph is null ? [Apply(inputs[0], training)] : ApplyMany(inputs, training);
    }

    /// <summary>Builds an unbuilt model for batches like <paramref name="xs"/> (any batch size).</summary>
    private void EnsureBuiltFor(IReadOnlyList<Tensor> xs)
    {
        if (!Built) EnsureBuilt(xs.Select(x => new Shape([null, .. Shape.Of(x.Sizes()).Dims[1..]])).ToList());
    }

    /// <summary>An input as the model computes on it: on <see cref="Keras.Device"/>, floating point as float32.</summary>
    private static Tensor PrepareInput(Tensor x)
    {
        var t = x.device == Keras.Device ? x : x.to(Keras.Device);
        return t.dtype != ScalarType.Float32 && t.is_floating_point() ? t.to_type(ScalarType.Float32) : t;
    }

    /// <summary>
    /// Builds the model by calling it once on zeros of <paramref name="shapes"/> (Keras's <c>build_from_config</c> for a
    /// subclassed model): the layers its <c>Call</c> uses create their weights. Unknown dimensions are taken as 1.
    /// </summary>
    internal void BuildByCalling(IReadOnlyList<long?[]> shapes)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var xs = shapes.Select(s => zeros(s.Select(d => d ?? 1).ToArray(), ScalarType.Float32, Keras.Device)).ToList();
        Forward(xs, training: false);
        ClearCallLosses();
    }

    /// <summary>Splits a dataset element into inputs, targets and sample weights, by the model's input and output counts.</summary>
    private (Tensor[] X, Tensor[]? Y, Tensor?[] W) Unpack(Tensor[] batch, bool requireY)
    {
        int nIn = NumInputs, nOut = NumOutputs;
        Tensor[] x, y;
        Tensor?[] w;
        if (batch.Length == nIn) (x, y, w) = (batch, [], new Tensor?[nOut]);
        else if (batch.Length == nIn + nOut) (x, y, w) = (batch[..nIn], batch[nIn..], new Tensor?[nOut]);
        else if (batch.Length == nIn + 2 * nOut) (x, y, w) = (batch[..nIn], batch[nIn..(nIn + nOut)], batch[(nIn + nOut)..]);
        else if (nOut > 1 && batch.Length == nIn + nOut + 1)
            (x, y, w) = (batch[..nIn], batch[nIn..(nIn + nOut)], Enumerable.Repeat<Tensor?>(batch[^1], nOut).ToArray());
        else throw new ArgumentException($"Model '{Name}' has {nIn} input(s) and {nOut} output(s): dataset elements must hold the " +
            $"inputs, then the targets, then optionally the sample weights ({nIn}, {nIn + nOut} or {nIn + 2 * nOut} tensors); got " +
            $"{batch.Length}.");
        if (requireY && y.Length == 0)
            throw new ArgumentException("Training and evaluation need targets: dataset elements must be (x, y) or (x, y, sampleWeight).");
        long n = x[0].Sizes()[0];
        // Loops rather than LINQ: this runs for every batch.
        foreach (var t in x) CheckSamples(t, "an input");
        foreach (var t in y) CheckSamples(t, "y");
        foreach (var t in w) if (t is not null) CheckSamples(t, "sampleWeight");
        void CheckSamples(Tensor t, string what)
        {
            if (t.Sizes()[0] != n) throw new ArgumentException($"x has {n} samples but {what} has {t.Sizes()[0]}; they must match.");
        }
        var dev = Keras.Device;
        Tensor Move(Tensor t) => t.device_type == dev.type && (dev.index < 0 || t.device_index == dev.index) ? t : t.to(dev);
        return (x.Select(Move).ToArray(), y.Length == 0 ? null : y.Select(Move).ToArray(), w.Select(t => t is null ? null : Move(t)).ToArray());
    }

    /// <summary>Orders named arrays by the model's input (or output) names.</summary>
    private static Tensor[] ByName(IReadOnlyDictionary<string, Array> data, IReadOnlyList<string> names, string what)
    {
        var unknown = data.Keys.Except(names).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown {what} name(s) {string.Join(", ", unknown)}; the model's {what}s are {string.Join(", ", names)}.");
        var missing = names.Except(data.Keys).ToList();
        if (missing.Count > 0) throw new ArgumentException($"Missing data for {what}(s) {string.Join(", ", missing)}.");
        return names.Select(n => TensorConvert.ToTensor(data[n], $"{what} '{n}'")).ToArray();
    }

    // ------------------------------------------------------------------ Summary

    /// <summary>Prints Keras's summary table: layer (type), output shape, parameter count, and the totals.</summary>
    /// <example><code>
    /// model.Summary();                      // to Console.Out
    /// model.Summary(Console.Error);         // or any TextWriter
    /// </code></example>
    public void Summary(TextWriter? output = null)
    {
        var w = output ?? Console.Out;
        var rows = SummaryRows().ToList();
        const int c1 = 33, c2 = 24, c3 = 15;
        string Line(char l, char m, char r, char f) => l + new string(f, c1) + m + new string(f, c2) + m + new string(f, c3) + r;
        string Row(string a, string b, string c, char sep) => $"{sep} {a.PadRight(c1 - 2)} {sep} {b.PadRight(c2 - 2)} {sep} {c.PadLeft(c3 - 2)} {sep}";
        w.WriteLine($"Model: \"{Name}\"");
        w.WriteLine(Line('┏', '┳', '┓', '━'));
        w.WriteLine(Row("Layer (type)", "Output Shape", "Param #", '┃'));
        w.WriteLine(Line('┡', '╇', '┩', '━'));
        for (int i = 0; i < rows.Count; i++)
        {
            var (layer, shape) = rows[i];
            string p = layer.Built ? layer.CountParams().ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "0 (unbuilt)";
            w.WriteLine(Row($"{layer.Name} ({layer.GetType().Name})", shape?.ToString() ?? "?", p, '│'));
            if (i < rows.Count - 1) w.WriteLine(Line('├', '┼', '┤', '─'));
        }
        w.WriteLine(Line('└', '┴', '┘', '─'));
        long total = Weights.Sum(v => v.Size);
        long trainable = TrainableWeights.Sum(v => v.Size);
        w.WriteLine($" Total params: {Count(total)}");
        w.WriteLine($" Trainable params: {Count(trainable)}");
        w.WriteLine($" Non-trainable params: {Count(total - trainable)}");
        static string Count(long n) => $"{n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} ({FormatBytes(n * 4)})";
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes:0.00} B",
        < 1024 * 1024 => $"{TwoDecimals(bytes / 1024.0)} KB",
        < 1024L * 1024 * 1024 => $"{TwoDecimals(bytes / 1024.0 / 1024)} MB",
        _ => $"{TwoDecimals(bytes / 1024.0 / 1024 / 1024)} GB",
    };

    // Python's "{:.2f}" rounds exact ties to even (9.125 -> 9.12); .NET's "0.00" rounds them away from zero (9.13).
    private static string TwoDecimals(double v) =>
        Math.Round(v, 2, MidpointRounding.ToEven).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The rows of <see cref="Summary"/>: each layer and its output shape (null when unknown).</summary>
    protected virtual IEnumerable<(Layer Layer, Shape? OutputShape)> SummaryRows() =>
        graph is null ? Layers.Select(l => (l, (Shape?)null))
        : Layers.Select(l => (l, (Shape?)(l is InputLayer input
            ? input.Shape.WithBatch()
            : l.InboundNodes.FirstOrDefault(n => graph.Nodes.Contains(n))?.Outputs[0].Shape)));

    // ------------------------------------------------------------------ helpers

    private void RequireCompiled(string what)
    {
        if (!IsCompiled) throw new InvalidOperationException($"You must call Compile() before {what}(): model '{Name}' has no optimizer and loss yet.");
    }

    private InvalidOperationException NotCompiled(string what) => new($"Model '{Name}' has no {what} yet: call Compile() first.");

    private static int CheckBatchSize(int? batchSize) =>
        batchSize is null ? 32
        : batchSize > 0 ? batchSize.Value
        : throw new ArgumentException($"batchSize must be positive; got {batchSize}.", nameof(batchSize));
}
