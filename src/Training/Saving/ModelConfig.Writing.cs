using System.Globalization;
using System.Reflection;
using System.Text.Json;
using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Saving;

// Writing: Keras 3 configs of Sequential, functional and subclassed models.
public static partial class ModelConfig
{
    /// <summary>The model's Keras 3 config as a JSON object tree (dictionaries and lists).</summary>
    public static Dictionary<string, object?> Serialize(Model model)
    {
        if (model is Sequential seq) return SerializeSequential(seq);
        if (model.Graph is not null && model.GetType() == typeof(Model)) return SerializeFunctional(model, model.Graph);
        if (model.Graph is null) return SerializeSubclassed(model);
        throw new NotSupportedException($"Model '{model.Name}' ({model.GetType().Name}) subclasses a functional model; only Sequential, " +
            "functional and subclassed models (Model with Call overridden) can be serialized.");
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
            ?? throw new NotSupportedException($"Model '{model.Name}' is a subclassed model of class {type.Name}, which is not " +
                "registered, so a file could not say which class rebuilds it. Mark the class with " +
                $"[RegisterSerializable(\"{type.Name}\", \"my_package\")] or call LayerRegistry.Register<{type.Name}>() before saving, " +
                "and override GetConfig to return its constructor's arguments.");
        var config = model.GetConfig();
        // The constructor that loading will call must find its required arguments in the config: check it now, not at load time.
        bool rebuildable = type.GetConstructors().Any(c => c.GetParameters().All(p => p.HasDefaultValue || config.ContainsKey(Layer.SnakeCase(p.Name!))));
        if (!rebuildable)
        {
            var needed = type.GetConstructors().OrderBy(c => c.GetParameters().Length).FirstOrDefault()?.GetParameters()
                .Where(p => !p.HasDefaultValue && !config.ContainsKey(Layer.SnakeCase(p.Name!))).Select(p => Layer.SnakeCase(p.Name!)).ToList();
            throw new NotSupportedException(needed is null
                ? $"Model '{model.Name}' ({type.Name}) has no public constructor, so loading could not rebuild it; give it one."
                : $"Model '{model.Name}' ({type.Name}): GetConfig() lacks {string.Join(", ", needed.Select(n => $"'{n}'"))}, which its " +
                    "constructor needs, so loading could not rebuild it. Override GetConfig to add them: " +
                    $"base.GetConfig().With(\"{needed.FirstOrDefault()}\", ...).");
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
        var config = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["name"] = model.Name,
            ["trainable"] = model.Trainable,
            ["dtype"] = "float32",
            ["layers"] = layers,
        };
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
        {
            // Keras 3 builds a layer whose build takes several named shapes (MultiHeadAttention.build(query_shape,
            // value_shape, key_shape)) from a shapes_dict.
            d["build_config"] = l is MultiHeadAttention
                ? new Dictionary<string, object?>
                {
                    ["shapes_dict"] = shapes.Select((s, i) => (Key: new[] { "query_shape", "value_shape", "key_shape" }[i], Dims: s.Dims))
                        .ToDictionary(p => p.Key, p => (object?)p.Dims, StringComparer.Ordinal),
                }
                : new Dictionary<string, object?>
                {
                    ["input_shape"] = shapes.Count == 1 ? shapes[0].Dims : shapes.Select(s => (object?)s.Dims).ToList(),
                };
        }
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
            d["inbound_nodes"] = layer is InputLayer ? new List<object?>() : graph.Nodes.Where(n => n.Layer == layer).OrderBy(n => nodeIndex[n])
                .Select(n => (object?)new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["args"] = TakesInitialState(layer) ? new List<object?> { Ref(n.Inputs[0]) }
                        : n.ArgCount == 1 || layer.CallTakesSeparateArgs ? n.Inputs.Take(n.ArgCount).Select(Ref).ToList()
                        : new List<object?> { n.Inputs.Take(n.ArgCount).Select(Ref).ToList() },
                    // An RNN's inputs after the sequence are its initial states, Keras's initial_state keyword argument; other
                    // layers' keyword arguments (MultiHeadAttention's attention_mask, use_causal_mask, ...) are kept in the node.
                    ["kwargs"] = n.Inputs.Count > 1 && TakesInitialState(layer)
                        ? new Dictionary<string, object?> { ["initial_state"] = n.Inputs.Skip(1).Select(Ref).ToList() }
                        : n.Kwargs.ToDictionary(kv => kv.Key, kv => kv.Value is KTensor t ? Ref(t) : kv.Value, StringComparer.Ordinal),
                }).ToList();
            layers.Add(d);
        }
        List<object?> Ends(IReadOnlyList<KTensor> ts) =>
            ts.Select(t => (object?)new List<object?> { t.History!.Layer.Name, nodeIndex[t.History.Node], t.History.TensorIndex }).ToList();
        var config = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["name"] = model.Name,
            ["trainable"] = model.Trainable,
            ["layers"] = layers,
            ["input_layers"] = Ends(graph.Inputs),
            ["output_layers"] = Ends(graph.Outputs),
        };
        return Wrap("Functional", config, new Dictionary<string, object?>
        {
            ["input_shape"] = graph.Inputs.Count == 1 ? graph.Inputs[0].Shape.Dims : graph.Inputs.Select(i => (object?)i.Shape.Dims).ToList(),
        });
    }

    private static bool TakesInitialState(Layer layer) => layer is RecurrentLayer or Bidirectional;
}
