using System.Globalization;
using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

namespace OnnxKeras.Saving;

/// <summary>
/// Keras 3's <c>compile_config</c> in a <c>.keras</c> file: what <c>compile</c> was given (Keras 3's
/// <c>Trainer.compile</c> stores its arguments as they were passed): <c>optimizer</c>, <c>loss</c> (a name, or with
/// several outputs a dict by output name), <c>loss_weights</c> (a list in output order), <c>metrics</c> (a list, or
/// with several outputs a dict of lists by output name) and <c>weighted_metrics</c> (the metrics that use sample weights).
/// Writing records the optimizer's hyperparameters under Keras's keys (<c>beta_1</c>); reading recompiles the model
/// (also from Keras's list forms of loss and metrics), and an entry it cannot rebuild leaves the model uncompiled with a
/// warning, as Keras does.
/// </summary>
internal static class CompileConfig
{
    public static Dictionary<string, object?>? Serialize(Model model)
    {
        if (!model.IsCompiled || model.Compiled is not { } compiled) return null;
        var opt = model.Optimizer;
        var config = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in opt.GetConfig()) config[k] = v;
        foreach (var (k, v) in ConfigConstructor.ConfigFromProperties(opt)) config.TryAdd(k, v);
        var names = model.OutputNames;
        bool several = names.Count > 1;
        var objects = compiled.RequestedMetricObjects;
        object? Metrics(bool weighted)
        {
            var chosen = compiled.RequestedMetrics.Select((m, i) => (m.Output, Entry: MetricEntry(objects[i], m.Name), m.Weighted))
                .Where(m => m.Weighted == weighted).ToList();
            if (chosen.Count == 0) return null;
            if (!several) return chosen.Select(m => m.Entry).ToList();
            // Several outputs: a dict of metric lists by output name, as Keras's compile(metrics={"a": [...]}) stores it.
            return chosen.GroupBy(m => m.Output).OrderBy(g => g.Key)
                .ToDictionary(g => names[g.Key], g => (object?)g.Select(m => m.Entry).ToList(), StringComparer.Ordinal);
        }
        var losses = compiled.Losses;
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["optimizer"] = ConfigJson.KerasObject("keras.optimizers", opt, opt.GetType().Name, config),
            ["loss"] = losses.Count == 0 ? null
                : several
                ? Enumerable.Range(0, names.Count).ToDictionary(k => names[k], k => LossEntry(losses[k]), StringComparer.Ordinal)
                : LossEntry(losses[0]),
            ["loss_weights"] = compiled.LossWeights.All(w => w == 1.0) ? null : compiled.LossWeights.Select(w => (object?)w).ToList(),
            ["metrics"] = Metrics(weighted: false),
            ["weighted_metrics"] = Metrics(weighted: true),
            ["run_eagerly"] = false,
            ["steps_per_execution"] = 1,
            // The setting as given ("auto" for null); Keras accepts all three when it compiles from the file.
            ["jit_compile"] = model.JitCompile is bool jit ? jit : "auto",
        };
    }

    /// <summary>
    /// A loss as compile_config records it: its Keras name when it is a built-in with its default arguments (what Keras
    /// writes for <c>loss="mse"</c>), otherwise Keras's object form with its arguments (<c>Huber(delta=2.0)</c>).
    /// </summary>
    private static object? LossEntry(Loss loss)
    {
        var config = ConfigConstructor.ConfigFromProperties(loss);
        if (KerasObjects.RegisteredName(loss.GetType()) is null)
        {
            // The loss's own name when the registry has it (mean_squared_error), else the registry's name for its class (huber).
            foreach (var name in LossRegistry.Names.OrderBy(n => n == loss.Name ? 0 : 1))
            {
                var plain = LossRegistry.Get(name);
                if (plain.GetType() == loss.GetType() && ConfigJson.Write(ConfigConstructor.ConfigFromProperties(plain)) == ConfigJson.Write(config))
                    return name;
            }
        }
        config["name"] = loss.Name;
        config["reduction"] = "sum_over_batch_size";
        return ConfigJson.KerasObject("keras.losses", loss, loss.GetType().Name, config);
    }

    /// <summary>
    /// A metric as compile_config records it: its name when it is the built-in of that name with its default arguments
    /// (<c>"accuracy"</c>, <c>"mae"</c>, <c>"precision"</c>), otherwise Keras's object form with its arguments and name.
    /// </summary>
    private static object? MetricEntry(Metric metric, string name)
    {
        if (metric.GetType() == typeof(MeanMetricWrapper)) return name; // a function: by name (built-in, or a custom object)
        var config = ConfigConstructor.ConfigFromProperties(metric);
        config["name"] = name;
        if (MetricRegistry.Names.Contains(name) && KerasObjects.RegisteredName(metric.GetType()) is null)
        {
            using var plain = MetricRegistry.Get(name);
            var plainConfig = ConfigConstructor.ConfigFromProperties(plain);
            plainConfig["name"] = name;
            if (plain.GetType() == metric.GetType() && ConfigJson.Write(plainConfig) == ConfigJson.Write(config)) return name;
        }
        return ConfigJson.KerasObject("keras.metrics", metric, metric.GetType().Name, config);
    }

    private static T Object<T>(object? value, string what) where T : class =>
        (T?)KerasObjects.Deserialize(value, KerasObjects.KindOf(typeof(T))!, what) ?? throw new ArgumentException($"the {what} is null");

    /// <summary>Compiles <paramref name="model"/> from a compile_config; returns a warning instead of failing when it cannot.</summary>
    public static string? Apply(Model model, IDictionary<string, object?> config, string path)
    {
        try
        {
            Optimizer? optimizer = config.TryGetValue("optimizer", out var o) && o is not null ? Object<Optimizer>(o, "optimizer") : null;
            var names = model.OutputNames;
            int n = names.Count;
            config.TryGetValue("loss", out var l);
            Loss? loss = null;
            Dictionary<string, Loss>? outputLosses = null;
            switch (l)
            {
                case null:
                    break; // compiled without a loss (Keras's compile(optimizer) for a custom train step)
                case string or IDictionary<string, object?> when l is string || (l is IDictionary<string, object?> obj && obj.ContainsKey("class_name")):
                    loss = Object<Loss>(l, "loss");
                    break;
                case IDictionary<string, object?> byName:
                    outputLosses = byName.ToDictionary(kv => kv.Key, kv => Object<Loss>(kv.Value, $"loss of output '{kv.Key}'"));
                    break;
                case IEnumerable<object?> list:
                    var inOrder = list.ToList();
                    if (inOrder.Count != n) throw new ArgumentException($"the loss list has {inOrder.Count} entries for {n} output(s)");
                    outputLosses = Enumerable.Range(0, n).ToDictionary(k => names[k], k => Object<Loss>(inOrder[k], $"loss of output '{names[k]}'"));
                    break;
                default:
                    throw new ArgumentException("the loss is neither a name nor names per output");
            }
            double[]? lossWeights = config.TryGetValue("loss_weights", out var lw) ? lw switch
            {
                null => null,
                IDictionary<string, object?> byName => names.Select(o => byName.TryGetValue(o, out var w) && w is not null ? Number(w) : 1.0).ToArray(),
                IEnumerable<object?> list => list.Select(w => Number(w)).ToArray(),
                _ => [Number(lw)],
            } : null;
            var metrics = PerOutputMetrics(config, "metrics", names);
            var weighted = PerOutputMetrics(config, "weighted_metrics", names);
            // Keras stores what its "auto" resolved to (true on TensorFlow and JAX for nearly every model), so a stored true
            // cannot be told from the default: it loads as "auto". false loads as false.
            bool? jit = config.TryGetValue("jit_compile", out var j) ? j switch
            {
                null or "auto" or true => null,
                false => false,
                _ => throw new ArgumentException($"jit_compile must be true, false or \"auto\"; got {j}"),
            } : null;
            model.Compile(optimizer, loss, n == 1 ? metrics?[names[0]] : null, lossWeights, n == 1 ? weighted?[names[0]] : null,
                outputLosses: outputLosses, outputMetrics: n > 1 ? metrics : null, outputWeightedMetrics: n > 1 ? weighted : null, jitCompile: jit);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            var warning = $"'{path}': the model was loaded uncompiled because its compile_config could not be rebuilt: {e.Message}";
            Console.Error.WriteLine($"Warning: {warning}");
            return warning;
        }
    }

    private static double Number(object? value) => value is IConvertible
        ? System.Convert.ToDouble(value, CultureInfo.InvariantCulture)
        : throw new ArgumentException("a loss weight is not a number");

    private static Metric[] MetricsFrom(object? entry) => entry switch
    {
        null => [],
        string or IDictionary<string, object?> => [Object<Metric>(entry, "metric")],
        IEnumerable<object?> list => list.Select(x => Object<Metric>(x, "metric")).ToArray(),
        _ => throw new ArgumentException($"a metric entry is {ConfigConstructor.Repr(entry)}, neither a name nor an object"),
    };

    /// <summary>
    /// A metrics entry by output name, or null when absent: for one output a list of names; for several, a dict by output
    /// name or a list with one entry (a name or a list of names) per output, as Keras's compile accepts.
    /// </summary>
    private static Dictionary<string, Metric[]>? PerOutputMetrics(IDictionary<string, object?> config, string key, IReadOnlyList<string> names)
    {
        if (!config.TryGetValue(key, out var value) || value is null) return null;
        if (value is IDictionary<string, object?> byName)
        {
            var unknown = byName.Keys.Except(names).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"{key} names unknown output(s) {string.Join(", ", unknown)}");
            return byName.ToDictionary(kv => kv.Key, kv => MetricsFrom(kv.Value), StringComparer.Ordinal);
        }
        if (value is not IEnumerable<object?> list) throw new ArgumentException($"{key} is neither a list nor a dict");
        if (names.Count == 1) return new Dictionary<string, Metric[]>(StringComparer.Ordinal) { [names[0]] = MetricsFrom(list) };
        var entries = list.ToList();
        if (entries.Count != names.Count)
            throw new ArgumentException($"{key} has {entries.Count} entries for {names.Count} outputs (give one per output, or a dict by output name)");
        return Enumerable.Range(0, names.Count).ToDictionary(k => names[k], k => MetricsFrom(entries[k]), StringComparer.Ordinal);
    }
}
