using System.Globalization;
using System.Reflection;
using System.Text.Json;
using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

/// <summary>
/// Model architecture as Keras 3's JSON config (<c>model.to_json()</c>): <c>Sequential</c> with its layer list (an
/// <c>InputLayer</c> first) and <c>Functional</c> with per-layer <c>inbound_nodes</c> of <c>__keras_tensor__</c> references.
/// Reading also accepts Keras 2's forms (<c>inbound_nodes: [[["name", 0, 0, {}]]]</c>, <c>batch_input_shape</c>,
/// a Sequential config that is a bare layer list, class name <c>Model</c>).
/// </summary>
public static class ModelConfig
{
    // ------------------------------------------------------------------ writing

    /// <summary>The model's Keras 3 config as a JSON object tree (dictionaries and lists).</summary>
    public static Dictionary<string, object?> Serialize(Model model)
    {
        if (model is Sequential seq) return SerializeSequential(seq);
        if (model.Graph is not null && model.GetType() == typeof(Model)) return SerializeFunctional(model, model.Graph);
        if (model.Graph is null) return SerializeSubclassed(model);
        throw new NotSupportedException($"Model '{model.Name}' ({model.GetType().Name}) subclasses a functional model; only Sequential, functional and subclassed models (Model with Call overridden) can be serialized.");
    }

    /// <summary>
    /// A subclassed model as Keras 3 writes one: its registered class (<c>module</c> null, <c>class_name</c>,
    /// <c>registered_name</c> <c>package&gt;Name</c>), its <see cref="Layer.GetConfig"/> (the constructor's arguments) and
    /// the input shape it was built for. Loading rebuilds it through the registered class (<see cref="LayerRegistry"/>).
    /// </summary>
    private static Dictionary<string, object?> SerializeSubclassed(Model model)
    {
        var type = model.GetType();
        var registered = LayerRegistry.RegisteredName(type)
            ?? throw new NotSupportedException($"Model '{model.Name}' is a subclassed model of class {type.Name}, which is not registered, so a file could not say which class rebuilds it. Mark the class with [RegisterSerializable(\"{type.Name}\", \"my_package\")] or call LayerRegistry.Register<{type.Name}>() before saving, and override GetConfig to return its constructor's arguments.");
        var config = model.GetConfig();
        // The constructor that loading will call must find its required arguments in the config: check it now, not at load time.
        bool rebuildable = type.GetConstructors().Any(c => c.GetParameters().All(p => p.HasDefaultValue || config.ContainsKey(Layer.SnakeCase(p.Name!))));
        if (!rebuildable)
        {
            var needed = type.GetConstructors().OrderBy(c => c.GetParameters().Length).FirstOrDefault()?.GetParameters().Where(p => !p.HasDefaultValue && !config.ContainsKey(Layer.SnakeCase(p.Name!))).Select(p => Layer.SnakeCase(p.Name!)).ToList();
            throw new NotSupportedException(needed is null
                ? $"Model '{model.Name}' ({type.Name}) has no public constructor, so loading could not rebuild it; give it one."
                : $"Model '{model.Name}' ({type.Name}): GetConfig() lacks {string.Join(", ", needed.Select(n => $"'{n}'"))}, which its constructor needs, so loading could not rebuild it. Override GetConfig to add them: base.GetConfig().With(\"{needed.FirstOrDefault()}\", ...).");
        }
        int sep = registered.IndexOf('>', StringComparison.Ordinal);
        object? build = model.Built && model.BuildInputShapes is { } shapes
            ? new Dictionary<string, object?> { ["input_shape"] = shapes.Count == 1 ? shapes[0].Dims : shapes.Select(x => (object?)x.Dims).ToList() }
            : null;
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["module"] = null,
            ["class_name"] = registered[(sep + 1)..],
            ["config"] = config,
            ["registered_name"] = registered,
            ["build_config"] = build,
        };
    }

    private static Dictionary<string, object?> Wrap(string className, Dictionary<string, object?> config, object? buildConfig) => new(StringComparer.Ordinal)
    {
        ["module"] = "keras",
        ["class_name"] = className,
        ["config"] = config,
        ["registered_name"] = null,
        ["build_config"] = buildConfig,
    };

    private static Dictionary<string, object?> SerializeSequential(Sequential model)
    {
        var layers = new List<object?>();
        var graph = model.Graph;
        if (graph is not null)
        {
            // The Sequential's own InputLayer, its name kept (it is the model's input name, and the ONNX input's).
            layers.Add(LayerRegistry.Serialize(graph.Inputs[0].History!.Layer));
        }
        foreach (var l in model.Layers) layers.Add(SerializeLayer(l));
        var config = new Dictionary<string, object?>(StringComparer.Ordinal) { ["name"] = model.Name, ["trainable"] = model.Trainable, ["dtype"] = "float32", ["layers"] = layers };
        object? build = null;
        if (graph is not null)
        {
            config["build_input_shape"] = graph.Inputs[0].Shape.Dims;
            build = new Dictionary<string, object?> { ["input_shape"] = graph.Inputs[0].Shape.Dims };
        }
        return Wrap("Sequential", config, build);
    }

    private static Dictionary<string, object?> SerializeLayer(Layer l)
    {
        var d = LayerRegistry.Serialize(l);
        if (l.Built && l.BuildInputShapes is { } shapes)
            d["build_config"] = new Dictionary<string, object?> { ["input_shape"] = shapes.Count == 1 ? shapes[0].Dims : shapes.Select(s => (object?)s.Dims).ToList() };
        return d;
    }

    private static Dictionary<string, object?> SerializeFunctional(Model model, FunctionalGraph graph)
    {
        // Node indices count only this graph's calls of each layer, in call order (Keras's node_conversion_map).
        var nodeIndex = new Dictionary<Node, int>();
        foreach (var group in graph.Nodes.GroupBy(n => n.Layer))
        {
            int k = 0;
            foreach (var n in group.Key.InboundNodes.Where(n => group.Contains(n))) nodeIndex[n] = k++;
        }
        object? Ref(KTensor t) => new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["class_name"] = "__keras_tensor__",
            ["config"] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["shape"] = t.Shape.Dims,
                ["dtype"] = "float32",
                ["keras_history"] = new List<object?> { t.History!.Layer.Name, nodeIndex[t.History.Node], t.History.TensorIndex },
            },
        };
        var layers = new List<object?>();
        foreach (var layer in graph.Layers)
        {
            var d = layer is InputLayer ? LayerRegistry.Serialize(layer) : SerializeLayer(layer);
            d["name"] = layer.Name;
            d["inbound_nodes"] = layer is InputLayer ? new List<object?>() : graph.Nodes.Where(n => n.Layer == layer).OrderBy(n => nodeIndex[n]).Select(n => (object?)new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["args"] = n.Inputs.Count == 1 ? new List<object?> { Ref(n.Inputs[0]) } : new List<object?> { n.Inputs.Select(Ref).ToList() },
                ["kwargs"] = new Dictionary<string, object?>(),
            }).ToList();
            layers.Add(d);
        }
        List<object?> Ends(IReadOnlyList<KTensor> ts) => ts.Select(t => (object?)new List<object?> { t.History!.Layer.Name, nodeIndex[t.History.Node], t.History.TensorIndex }).ToList();
        var config = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["name"] = model.Name,
            ["trainable"] = model.Trainable,
            ["layers"] = layers,
            ["input_layers"] = Ends(graph.Inputs),
            ["output_layers"] = Ends(graph.Outputs),
        };
        return Wrap("Functional", config, new Dictionary<string, object?> { ["input_shape"] = graph.Inputs.Count == 1 ? graph.Inputs[0].Shape.Dims : graph.Inputs.Select(i => (object?)i.Shape.Dims).ToList() });
    }

    // ------------------------------------------------------------------ reading

    /// <summary>
    /// The deepest nesting of objects and arrays (the root counts as level 1) that <see cref="ParseJson"/>,
    /// <see cref="FromJson(string)"/> and YAML configs accept: 64, far more than any Keras config uses (a functional
    /// model inside a functional model reaches about 12). Deeper input is refused with <see cref="InvalidDataException"/>
    /// before any recursion could exhaust the stack.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>Parses JSON into config values: objects as dictionaries, arrays as lists, integers as long, other numbers as double.</summary>
    /// <exception cref="ArgumentException">The text is not JSON.</exception>
    /// <exception cref="InvalidDataException">Objects and arrays nest deeper than <see cref="MaxDepth"/> levels.</exception>
    public static object? ParseJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            // The reader itself is not recursive, so it may read deeper than MaxDepth; the conversion below then refuses
            // the config with a message that says why (instead of the reader's generic JsonException).
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = int.MaxValue });
            return Convert(doc.RootElement, 1);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The model config is not valid JSON: {e.Message}", e);
        }
    }

    private static object? Convert(JsonElement e, int depth)
    {
        if (e.ValueKind is (JsonValueKind.Object or JsonValueKind.Array) && depth > MaxDepth)
            throw new InvalidDataException($"The model config nests deeper than {MaxDepth} levels of objects and arrays; a Keras config needs far fewer.");
        return e.ValueKind switch
        {
            JsonValueKind.Object => e.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (d, p) => { d[p.Name] = Convert(p.Value, depth + 1); return d; }),
            JsonValueKind.Array => e.EnumerateArray().Select(x => Convert(x, depth + 1)).ToList(),
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };
    }

    /// <summary>
    /// Rebuilds a model (new layers, fresh weights) from its Keras config JSON. A config written by Keras 2 (its top-level
    /// <c>keras_version</c> 2.x or <c>backend</c>, as Keras 2's <c>to_json</c> records them) keeps Keras 2's meanings:
    /// its <c>hard_sigmoid</c> becomes <c>hard_sigmoid_keras2</c>, <c>clip(0.2x + 0.5, 0, 1)</c>.
    /// </summary>
    public static Model FromJson(string json) => FromJson(json, fileKerasVersion: null);

    /// <summary><see cref="FromJson(string)"/> for a config read from a file that records the writer's Keras version itself (null: the config's own).</summary>
    internal static Model FromJson(string json, string? fileKerasVersion)
    {
        if (ParseJson(json) is not Dictionary<string, object?> root) throw new ArgumentException("A model config must be a JSON object with 'class_name' and 'config'.");
        if ((fileKerasVersion ?? KerasTwo.VersionInConfig(root)) is { } version && KerasTwo.IsBeforeKeras3(version)) KerasTwo.KeepKerasTwoActivations(root);
        return Deserialize(root);
    }

    /// <summary>
    /// The most bytes one weight (float32) may take while a model is built from a config (<see cref="FromJson(string)"/>,
    /// <c>Model.FromYaml</c>, <c>Model.LoadModel</c>): 1 GiB (1,073,741,824 bytes, 268,435,456 values) by default, so that a
    /// small hostile config cannot make libtorch allocate gigabytes. A larger weight is refused with
    /// <see cref="InvalidDataException"/> naming the layer and the shape, before anything is allocated. Raise it to load a
    /// trusted model with a larger weight (one weight never exceeds <see cref="Layer.MaxWeightElements"/> elements).
    /// </summary>
    public static long MaxWeightBytes
    {
        get => maxWeightBytes;
        set => maxWeightBytes = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxWeightBytes must be positive.");
    }

    private static long maxWeightBytes = 1L << 30;

    /// <summary>Rebuilds a model from its config object tree (each weight limited to <see cref="MaxWeightBytes"/>).</summary>
    public static Model Deserialize(IDictionary<string, object?> root)
    {
        var outer = Layer.ConfigWeightByteLimit;
        Layer.ConfigWeightByteLimit = Math.Min(MaxWeightBytes, outer ?? long.MaxValue);
        try
        {
            return DeserializeUnlimited(root);
        }
        finally
        {
            Layer.ConfigWeightByteLimit = outer;
        }
    }

    private static Model DeserializeUnlimited(IDictionary<string, object?> root)
    {
        string className = root.TryGetValue("class_name", out var cn) && cn is string s ? s : throw new ArgumentException("A model config needs a 'class_name' string.");
        root.TryGetValue("config", out var config);
        string? registered = root.TryGetValue("registered_name", out var rn) ? rn as string : null;
        // Keras writes "registered_name": "Functional" for its own classes; a user's class is registered as "package>Name".
        bool userClass = registered is not null && registered.Contains('>', StringComparison.Ordinal);
        return className switch
        {
            "Sequential" when !userClass => ReadSequential(config),
            "Functional" or "Model" when !userClass => ReadFunctional(config as IDictionary<string, object?> ?? throw new ArgumentException("A Functional model config needs a 'config' object.")),
            _ => ReadSubclassed(className, registered, config, root.TryGetValue("build_config", out var bc) ? bc : null),
        };
    }

    /// <summary>
    /// A subclassed model (Keras's <c>deserialize_keras_object</c> then <c>build_from_config</c>): the registered class is
    /// constructed from its config, then built by calling it once on zeros of the recorded input shape, which creates the
    /// weights of the layers it calls, ready for loading.
    /// </summary>
    private static Model ReadSubclassed(string className, string? registered, object? config, object? buildConfig)
    {
        var type = LayerRegistry.Resolve(className, registered);
        if (!typeof(Model).IsAssignableFrom(type))
            throw new ArgumentException($"Class '{className}' is registered as {type.FullName}, a layer; a model file needs a Model subclass.");
        var layerConfig = config is IDictionary<string, object?> d ? d.Aggregate(new LayerConfig(), (acc, kv) => acc.With(kv.Key, kv.Value)) : new LayerConfig();
        var model = (Model)LayerRegistry.FromConfig(type, layerConfig);
        if (buildConfig is IDictionary<string, object?> b && b.TryGetValue("input_shape", out var shape) && shape is IEnumerable<object?> dims)
        {
            var list = dims.ToList();
            var shapes = list.Count > 0 && list.All(x => x is IEnumerable<object?>) ? list.Cast<IEnumerable<object?>>().ToList() : [list];
            model.BuildByCalling(shapes.Select(s => s.Select(x => ConfigValues.Dimension(x, $"the build_config of '{className}'")).ToArray()).ToList());
        }
        return model;
    }

    private static Sequential ReadSequential(object? config)
    {
        IEnumerable<object?> entries;
        string? name = null;
        object? build = null;
        if (config is IDictionary<string, object?> d)
        {
            entries = d.TryGetValue("layers", out var ls) && ls is IEnumerable<object?> list ? list : throw new ArgumentException("A Sequential config needs a 'layers' list.");
            name = d.TryGetValue("name", out var n) ? n as string : null;
            build = d.TryGetValue("build_input_shape", out var b) ? b : null;
        }
        else if (config is IEnumerable<object?> list) entries = list; // Keras 2.0/2.1: the config is the layer list itself
        else throw new ArgumentException("A Sequential config must be an object with 'layers' (or, from Keras 2, a list of layers).");

        var layers = new List<Layer>();
        foreach (var entry in entries)
        {
            if (entry is not IDictionary<string, object?> ld) throw new ArgumentException("Every entry of a Sequential's 'layers' must be an object.");
            var cfg = ld.TryGetValue("config", out var c) ? c as IDictionary<string, object?> : null;
            // Keras 2 put the input shape on the first layer; Keras 3 has an InputLayer (or only a build_config).
            if (layers.Count == 0 && cfg is not null && !IsInputLayer(ld) && cfg.TryGetValue("batch_input_shape", out var bis) && bis is IEnumerable<object?> dims)
                layers.Add(new InputLayer(WithoutBatch(dims)) { Name = $"{cfg["name"]}_input" });
            if (layers.Count == 0 && !IsInputLayer(ld) && ld.TryGetValue("build_config", out var bc) && bc is IDictionary<string, object?> bcd && bcd.TryGetValue("input_shape", out var ish) && ish is IEnumerable<object?> ishape && ishape.All(x => x is null or long))
                layers.Add(new InputLayer(WithoutBatch(ishape)));
            layers.Add(DeserializeLayer(ld));
        }
        if (layers.Count > 0 && layers[0] is not InputLayer && build is IEnumerable<object?> bshape && bshape.All(x => x is null or long))
            layers.Insert(0, new InputLayer(WithoutBatch(bshape)));
        var model = name is null ? new Sequential() : new Sequential { Name = name };
        foreach (var l in layers) model.Add(l);
        return model;
    }

    private static bool IsInputLayer(IDictionary<string, object?> d) => d.TryGetValue("class_name", out var c) && c is "InputLayer";

    private static Shape WithoutBatch(IEnumerable<object?> dims) => new(dims.Skip(1).Select(x => ConfigValues.Dimension(x, "an input shape")).ToArray());

    /// <summary>A layer from <c>{class_name, config, ...}</c>, with Keras's InputLayer forms and nested objects converted.</summary>
    public static Layer DeserializeLayer(IDictionary<string, object?> serialized)
    {
        if (IsInputLayer(serialized))
        {
            var cfg = serialized.TryGetValue("config", out var c) && c is IDictionary<string, object?> d ? d : new Dictionary<string, object?>();
            Shape shape = cfg.TryGetValue("batch_shape", out var bs) && bs is IEnumerable<object?> b ? WithoutBatch(b)
                : cfg.TryGetValue("batch_input_shape", out var bis) && bis is IEnumerable<object?> b2 ? WithoutBatch(b2)
                : cfg.TryGetValue("shape", out var sh) && sh is IEnumerable<object?> s ? new Shape(s.Select(x => ConfigValues.Dimension(x, "an InputLayer's shape")).ToArray())
                : throw new ArgumentException("An InputLayer config needs 'batch_shape' (Keras 3) or 'batch_input_shape' (Keras 2).");
            string dtype = Layer.DtypeFromConfig(cfg, "the InputLayer", InputLayer.InputDtypes);
            return cfg.TryGetValue("name", out var n) && n is string name ? new InputLayer(shape, dtype) { Name = name } : new InputLayer(shape, dtype);
        }
        return LayerRegistry.Deserialize(serialized);
    }

    private static Model ReadFunctional(IDictionary<string, object?> config)
    {
        string? modelName = config.TryGetValue("name", out var mn) ? mn as string : null;
        if (!config.TryGetValue("layers", out var ls) || ls is not IEnumerable<object?> layerEntries) throw new ArgumentException("A Functional config needs a 'layers' list.");
        var entries = layerEntries.Select(e => e as IDictionary<string, object?> ?? throw new ArgumentException("Every entry of a Functional's 'layers' must be an object.")).ToList();
        var layers = new Dictionary<string, Layer>(StringComparer.Ordinal);
        var pending = new List<(string Name, List<List<(string Layer, int Node, int Tensor)>> Nodes)>();
        var tensors = new Dictionary<(string, int, int), KTensor>();
        var nodeCount = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            string name = e.TryGetValue("name", out var n) && n is string s ? s
                : e.TryGetValue("config", out var c) && c is IDictionary<string, object?> cd && cd.TryGetValue("name", out var n2) && n2 is string s2 ? s2
                : throw new ArgumentException("Every layer of a Functional config needs a 'name'.");
            if (layers.ContainsKey(name)) throw new ArgumentException($"The Functional config lists layer '{name}' twice.");
            var layer = DeserializeLayer(e);
            layers[name] = layer;
            if (layer is InputLayer input)
            {
                var t = Node.Input(input, input.Shape.WithBatch(), input.Name);
                tensors[(name, 0, 0)] = t;
                nodeCount[name] = 1;
                continue;
            }
            var nodes = e.TryGetValue("inbound_nodes", out var ib) && ib is IEnumerable<object?> ibl ? ibl.Select(ParseNode).ToList() : [];
            pending.Add((name, nodes));
        }
        // Apply each layer's calls once their inputs exist (Keras's process_node loop).
        var next = pending.ToDictionary(p => p.Name, _ => 0, StringComparer.Ordinal);
        bool progress = true;
        while (progress)
        {
            progress = false;
            foreach (var (name, nodes) in pending)
            {
                while (next[name] < nodes.Count && nodes[next[name]].All(r => tensors.ContainsKey(r)))
                {
                    var args = nodes[next[name]].Select(r => tensors[r]).ToList();
                    var outs = layers[name].ApplyMany(args);
                    int idx = nodeCount.GetValueOrDefault(name);
                    for (int k = 0; k < outs.Count; k++) tensors[(name, idx, k)] = outs[k];
                    nodeCount[name] = idx + 1;
                    next[name]++;
                    progress = true;
                }
            }
        }
        var stuck = pending.FirstOrDefault(p => next[p.Name] < p.Nodes.Count);
        if (stuck.Name is not null)
        {
            var missing = stuck.Nodes[next[stuck.Name]].First(r => !tensors.ContainsKey(r));
            throw new ArgumentException($"The Functional config cannot be rebuilt: layer '{stuck.Name}' is called on output {missing.Item3} of call {missing.Item2} of layer '{missing.Item1}', which no layer produces.");
        }
        List<KTensor> Ends(string key)
        {
            if (!config.TryGetValue(key, out var v) || v is not IEnumerable<object?> list) throw new ArgumentException($"A Functional config needs '{key}'.");
            var items = list.ToList();
            // A single [name, 0, 0] triple instead of a list of them.
            if (items.Count == 3 && items[0] is string) items = [items];
            return items.Select(x =>
            {
                var r = ParseRef(x);
                return tensors.TryGetValue(r, out var t) ? t : throw new ArgumentException($"'{key}' refers to output {r.Tensor} of call {r.Node} of layer '{r.Layer}', which the config does not produce.");
            }).ToList();
        }
        return new Model(Ends("input_layers"), Ends("output_layers"), modelName);
    }

    /// <summary>One inbound node: Keras 3 <c>{"args": [...], "kwargs": {}}</c> or Keras 2 <c>[["name", node, tensor, {}], ...]</c>.</summary>
    private static List<(string Layer, int Node, int Tensor)> ParseNode(object? node)
    {
        var refs = new List<(string, int, int)>();
        if (node is IDictionary<string, object?> d)
        {
            if (d.TryGetValue("args", out var args)) Collect(args, refs);
        }
        else if (node is IEnumerable<object?> list)
        {
            foreach (var item in list) refs.Add(ParseRef(item));
        }
        else throw new ArgumentException("An inbound node must be an object with 'args' (Keras 3) or a list of [name, node, tensor] references (Keras 2).");
        return refs;

        static void Collect(object? v, List<(string, int, int)> into)
        {
            if (v is IDictionary<string, object?> t && t.TryGetValue("class_name", out var c) && c is "__keras_tensor__")
            {
                var cfg = t["config"] as IDictionary<string, object?> ?? throw new ArgumentException("A __keras_tensor__ needs a config.");
                into.Add(ParseRef(cfg["keras_history"]));
            }
            else if (v is IEnumerable<object?> l)
            {
                foreach (var x in l) Collect(x, into);
            }
        }
    }

    private static (string Layer, int Node, int Tensor) ParseRef(object? v)
    {
        if (v is IEnumerable<object?> l && l.ToList() is { Count: >= 3 } items && items[0] is string name)
            return (name, Index(items[1], $"the node index of a reference to '{name}'"), Index(items[2], $"the tensor index of a reference to '{name}'"));
        throw new ArgumentException("A tensor reference must be [layer_name, node_index, tensor_index].");
    }

    private static int Index(object? v, string what) =>
        v is null ? throw new ArgumentException($"A tensor reference needs {what}.") : (int)ConfigValues.Convert(v, typeof(int), what)!;

    // ------------------------------------------------------------------ nested objects

    /// <summary>An initializer from Keras's <c>{class_name, config}</c> form (Keras 2 and 3), e.g. <c>{"class_name": "VarianceScaling", ...}</c>.</summary>
    internal static Initializer InitializerFrom(IDictionary<string, object?> serialized)
    {
        string className = serialized.TryGetValue("class_name", out var c) && c is string s ? s : throw new ArgumentException("A serialized initializer needs a 'class_name'.");
        var config = serialized.TryGetValue("config", out var cfg) && cfg is IDictionary<string, object?> d ? d : new Dictionary<string, object?>();
        var type = typeof(Initializer).Assembly.GetTypes().FirstOrDefault(t => !t.IsAbstract && typeof(Initializer).IsAssignableFrom(t) && t.IsPublic
            && (t.Name == className || t.Name == className + "Initializer"));
        Initializer init;
        try
        {
            init = type is not null ? Construct<Initializer>(type, config) : Initializers.Get(className);
        }
        catch (ArgumentException)
        {
            init = Initializers.Get(className); // an unusual argument (e.g. Keras 2's distribution "normal"): the default of that class
        }
        if (config.TryGetValue("seed", out var seed) && seed is not null && init.Seed is null)
            typeof(Initializer).GetProperty(nameof(Initializer.Seed))!.SetValue(init, ConfigValues.Convert(seed, typeof(long), $"initializer {className}, key 'seed'"));
        return init;
    }

    /// <summary>A regularizer from Keras's <c>{class_name, config}</c> form (<c>L1</c>, <c>L2</c>, <c>L1L2</c>).</summary>
    internal static Regularizer RegularizerFrom(IDictionary<string, object?> serialized)
    {
        string className = serialized.TryGetValue("class_name", out var c) && c is string s ? s : throw new ArgumentException("A serialized regularizer needs a 'class_name'.");
        var config = serialized.TryGetValue("config", out var cfg) && cfg is IDictionary<string, object?> d ? d : new Dictionary<string, object?>();
        double Get(string k) => config.TryGetValue(k, out var v) && v is not null ? (double)ConfigValues.Convert(v, typeof(double), $"regularizer {className}, key '{k}'")! : 0.0;
        return className switch
        {
            "L1" or "l1" => new L1Regularizer(Get("l1")),
            "L2" or "l2" => new L2Regularizer(Get("l2")),
            "L1L2" or "l1_l2" => Get("l1") == 0 && config.ContainsKey("l2") && !config.ContainsKey("l1") ? new L2Regularizer(Get("l2")) : new L1L2Regularizer(Get("l1"), Get("l2")),
            _ => throw new ArgumentException($"Unknown regularizer class '{className}'; supported: L1, L2, L1L2."),
        };
    }

    private static T Construct<T>(Type type, IDictionary<string, object?> config)
    {
        var ctor = type.GetConstructors().OrderByDescending(k => k.GetParameters().Length).First();
        var args = ctor.GetParameters().Select(p =>
        {
            string key = Layer.SnakeCase(p.Name!);
            return config.TryGetValue(key, out var v) && v is not null ? ConfigValues.Convert(v, p.ParameterType, $"{type.Name}.{key}")
                : p.HasDefaultValue ? p.DefaultValue : throw new ArgumentException($"Config for {type.Name} lacks '{key}'.");
        }).ToArray();
        try
        {
            return (T)ctor.Invoke(args);
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentException a)
        {
            throw a;
        }
    }
}
