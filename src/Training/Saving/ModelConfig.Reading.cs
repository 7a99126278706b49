using System.Globalization;
using System.Reflection;
using System.Text.Json;
using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

// Reading: Sequential, functional and subclassed models and their layers, in Keras 3's and Keras 2's forms.
public static partial class ModelConfig
{
    private static Model DeserializeUnlimited(IDictionary<string, object?> root)
    {
        if (!root.TryGetValue("class_name", out var cn) || cn is not string className)
            throw new ArgumentException("A model config needs a 'class_name' string.");
        var layer = DeserializeLayer(root);
        if (layer is Model model) return model;
        layer.Dispose();
        throw new ArgumentException($"Class '{className}' is registered as {layer.GetType().FullName}, a layer; a model file needs a Model subclass.");
    }

    /// <summary>
    /// A layer or model from <c>{class_name, config, registered_name, build_config}</c>: Keras's InputLayer forms, a
    /// Sequential or functional model (nested ones too), or a class resolved through the current custom objects and the
    /// registry (<see cref="LayerRegistry.Resolve(string, string?)"/>) and constructed from its config. A subclassed model
    /// is then built (Keras's <c>build_from_config</c>) by calling it once on zeros of the recorded input shape, which
    /// creates the weights of the layers it calls, ready for loading.
    /// </summary>
    /// <exception cref="ArgumentException">No class of that name is known, or the structure is not a layer's.</exception>
    /// <exception cref="InvalidDataException">A key the class does not take, or a value of the wrong type.</exception>
    public static Layer DeserializeLayer(IDictionary<string, object?> serialized)
    {
        ArgumentNullException.ThrowIfNull(serialized);
        if (IsInputLayer(serialized)) return ReadInputLayer(serialized);
        string className = serialized.TryGetValue("class_name", out var cn) && cn is string s
            ? s
            : throw new ArgumentException("A serialized layer needs a 'class_name' string.");
        serialized.TryGetValue("config", out var config);
        string? registered = serialized.TryGetValue("registered_name", out var rn) ? rn as string : null;
        // Keras writes "registered_name": "Functional" for its own classes; a user's class is registered as "package>Name".
        bool userClass = (registered is not null && registered.Contains('>', StringComparison.Ordinal))
            || KerasObjects.LookupType(registered, className, ObjectKind.Layer) is not null;
        if (!userClass && className == "Sequential") return ReadSequential(config);
        if (!userClass && className is "Functional" or "Model")
            return ReadFunctional(config as IDictionary<string, object?> ?? throw new ArgumentException("A Functional model config needs a 'config' object."));
        var type = LayerRegistry.Resolve(className, registered);
        var layerConfig = config switch
        {
            null => new LayerConfig(),
            IDictionary<string, object?> d => d.Aggregate(new LayerConfig(), (acc, kv) => acc.With(kv.Key, kv.Value)),
            _ => throw new ArgumentException($"The config of serialized layer '{className}' must be an object; got {ConfigConstructor.Repr(config)}."),
        };
        var layer = LayerRegistry.FromConfig(type, layerConfig);
        if (layer is Model model && model.Graph is null && serialized.TryGetValue("build_config", out var bc) && bc is IDictionary<string, object?> b
            && b.TryGetValue("input_shape", out var shape) && shape is IEnumerable<object?> dims)
        {
            var list = dims.ToList();
            var shapes = list.Count > 0 && list.All(x => x is IEnumerable<object?>) ? list.Cast<IEnumerable<object?>>().ToList() : [list];
            model.BuildByCalling(shapes.Select(x => x.Select(d => ConfigValues.Dimension(d, $"the build_config of '{className}'")).ToArray()).ToList());
        }
        return layer;
    }

    private static Sequential ReadSequential(object? config)
    {
        IEnumerable<object?> entries;
        string? name = null;
        object? build = null;
        if (config is IDictionary<string, object?> d)
        {
            entries = d.TryGetValue("layers", out var ls) && ls is IEnumerable<object?> list
                ? list
                : throw new ArgumentException("A Sequential config needs a 'layers' list.");
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
            if (layers.Count == 0 && cfg is not null && !IsInputLayer(ld) && cfg.TryGetValue("batch_input_shape", out var bis)
                && bis is IEnumerable<object?> dims)
                layers.Add(new InputLayer(WithoutBatch(dims)) { Name = $"{cfg["name"]}_input" });
            if (layers.Count == 0 && !IsInputLayer(ld) && ld.TryGetValue("build_config", out var bc) && bc is IDictionary<string, object?> bcd
                && bcd.TryGetValue("input_shape", out var ish) && ish is IEnumerable<object?> ishape && ishape.All(x => x is null or long))
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

    private static InputLayer ReadInputLayer(IDictionary<string, object?> serialized)
    {
        var cfg = serialized.TryGetValue("config", out var c) && c is IDictionary<string, object?> d ? d : new Dictionary<string, object?>();
        Shape shape = cfg.TryGetValue("batch_shape", out var bs) && bs is IEnumerable<object?> b ? WithoutBatch(b)
            : cfg.TryGetValue("batch_input_shape", out var bis) && bis is IEnumerable<object?> b2 ? WithoutBatch(b2)
            : cfg.TryGetValue("shape", out var sh) && sh is IEnumerable<object?> s
                ? new Shape(s.Select(x => ConfigValues.Dimension(x, "an InputLayer's shape")).ToArray())
            : throw new ArgumentException("An InputLayer config needs 'batch_shape' (Keras 3) or 'batch_input_shape' (Keras 2).");
        string dtype = Layer.DtypeFromConfig(cfg, "the InputLayer", InputLayer.InputDtypes);
        return cfg.TryGetValue("name", out var n) && n is string name ? new InputLayer(shape, dtype) { Name = name } : new InputLayer(shape, dtype);
    }

    private static Model ReadFunctional(IDictionary<string, object?> config)
    {
        string? modelName = config.TryGetValue("name", out var mn) ? mn as string : null;
        if (!config.TryGetValue("layers", out var ls) || ls is not IEnumerable<object?> layerEntries)
            throw new ArgumentException("A Functional config needs a 'layers' list.");
        var entries = layerEntries.Select(e => e as IDictionary<string, object?> ?? throw new ArgumentException(
            "Every entry of a Functional's 'layers' must be an object.")).ToList();
        var layers = new Dictionary<string, Layer>(StringComparer.Ordinal);
        var pending = new List<(string Name, List<ParsedNode> Nodes)>();
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
                while (next[name] < nodes.Count && nodes[next[name]].AllRefs.All(r => tensors.ContainsKey(r)))
                {
                    var node = nodes[next[name]];
                    var args = node.Args.Select(r => tensors[r]).ToList();
                    var layer = layers[name];
                    var kwargs = layer.TakesKwargs ? node.Kwargs.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key,
                        kv => kv.Value is ValueTuple<string, int, int> r ? tensors[r] : kv.Value, StringComparer.Ordinal) : new Dictionary<string, object?>();
                    var outs = layer.ApplyWithKwargs(args, kwargs);
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
            var missing = stuck.Nodes[next[stuck.Name]].AllRefs.First(r => !tensors.ContainsKey(r));
            throw new ArgumentException($"The Functional config cannot be rebuilt: layer '{stuck.Name}' is called on output " +
                $"{missing.Item3} of call {missing.Item2} of layer '{missing.Item1}', which no layer produces.");
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
                return tensors.TryGetValue(r, out var t) ? t : throw new ArgumentException($"'{key}' refers to output {r.Tensor} of call " +
                    $"{r.Node} of layer '{r.Layer}', which the config does not produce.");
            }).ToList();
        }
        return new Model(Ends("input_layers"), Ends("output_layers"), modelName);
    }

    /// <summary>A parsed inbound node: the positional tensor references and the keyword arguments (a tensor as its reference).</summary>
    private sealed record ParsedNode(List<(string Layer, int Node, int Tensor)> Args, Dictionary<string, object?> Kwargs)
    {
        public IEnumerable<(string Layer, int Node, int Tensor)> AllRefs => Args.Concat(Kwargs.Values.OfType<ValueTuple<string, int, int>>());
    }

    /// <summary>One inbound node: Keras 3 <c>{"args": [...], "kwargs": {}}</c> or Keras 2 <c>[["name", node, tensor, {}], ...]</c>.</summary>
    private static ParsedNode ParseNode(object? node)
    {
        var refs = new List<(string, int, int)>();
        var kwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (node is IDictionary<string, object?> d)
        {
            if (d.TryGetValue("args", out var args)) Collect(args, refs);
            if (d.TryGetValue("kwargs", out var kw) && kw is IDictionary<string, object?> kwd)
            {
                foreach (var (key, value) in kwd)
                {
                    // An RNN's initial states follow its input sequence (Keras's RNN.call(sequences, initial_state=...)).
                    if (key == "initial_state")
                    {
                        Collect(value, refs);
                        continue;
                    }
                    var found = new List<(string, int, int)>();
                    Collect(value, found);
                    kwargs[key] = found.Count == 1 ? found[0] : value;
                }
            }
        }
        else if (node is IEnumerable<object?> list)
        {
            foreach (var item in list) refs.Add(ParseRef(item));
        }
        else throw new ArgumentException("An inbound node must be an object with 'args' (Keras 3) or a list of [name, node, tensor] references (Keras 2).");
        return new ParsedNode(refs, kwargs);

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
}
