using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
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
internal static partial class CompileConfig
{
    [GeneratedRegex(@"(?<=[a-z])(\d+)$")]
    private static partial Regex TrailingDigits();

    /// <summary>A constructor parameter's Keras config key: <c>beta1</c> to <c>beta_1</c>, <c>initialAccumulatorValue</c> to <c>initial_accumulator_value</c>.</summary>
    private static string KerasKey(string parameterName) => TrailingDigits().Replace(Layers.Layer.SnakeCase(parameterName), "_$1");

    public static Dictionary<string, object?>? Serialize(Model model)
    {
        if (!model.IsCompiled || model.Compiled is not { } compiled) return null;
        var opt = model.Optimizer;
        var config = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in opt.GetConfig()) config[k] = v;
        var ctor = opt.GetType().GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        foreach (var p in ctor.GetParameters())
        {
            string key = KerasKey(p.Name!);
            if (config.ContainsKey(key)) continue;
            var prop = opt.GetType().GetProperty(char.ToUpperInvariant(p.Name![0]) + p.Name[1..], BindingFlags.Public | BindingFlags.Instance);
            if (prop is null) continue;
            var value = prop.GetValue(opt);
            config[key] = value is LearningRate lr ? lr.ToConfig() : value;
        }
        var names = model.OutputNames;
        bool several = names.Count > 1;
        object? Metrics(bool weighted)
        {
            var chosen = compiled.RequestedMetrics.Where(m => m.Weighted == weighted).ToList();
            if (chosen.Count == 0) return null;
            if (!several) return chosen.Select(m => (object?)m.Name).ToList();
            // Several outputs: a dict of metric lists by output name, as Keras's compile(metrics={"a": [...]}) stores it.
            return chosen.GroupBy(m => m.Output).OrderBy(g => g.Key)
                .ToDictionary(g => names[g.Key], g => (object?)g.Select(m => (object?)m.Name).ToList(), StringComparer.Ordinal);
        }
        var losses = compiled.Losses;
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["optimizer"] = new Dictionary<string, object?> { ["module"] = "keras.optimizers", ["class_name"] = opt.GetType().Name, ["config"] = config, ["registered_name"] = null },
            ["loss"] = several
                ? Enumerable.Range(0, names.Count).ToDictionary(k => names[k], k => (object?)losses[k].Name, StringComparer.Ordinal)
                : losses[0].Name,
            ["loss_weights"] = compiled.LossWeights.All(w => w == 1.0) ? null : compiled.LossWeights.Select(w => (object?)w).ToList(),
            ["metrics"] = Metrics(weighted: false),
            ["weighted_metrics"] = Metrics(weighted: true),
            ["run_eagerly"] = false,
            ["steps_per_execution"] = 1,
            ["jit_compile"] = false,
        };
    }

    /// <summary>Compiles <paramref name="model"/> from a compile_config; returns a warning instead of failing when it cannot.</summary>
    public static string? Apply(Model model, IDictionary<string, object?> config, string path)
    {
        try
        {
            Optimizer? optimizer = config.TryGetValue("optimizer", out var o) ? o switch
            {
                string name => OptimizerRegistry.Get(name),
                IDictionary<string, object?> d => OptimizerFrom(d),
                null => null,
                _ => throw new ArgumentException("the optimizer entry is neither a name nor an object"),
            } : null;
            var names = model.OutputNames;
            int n = names.Count;
            config.TryGetValue("loss", out var l);
            Loss? loss = null;
            Dictionary<string, Loss>? outputLosses = null;
            switch (l)
            {
                case string lossName:
                    loss = LossRegistry.Get(lossName);
                    break;
                case IDictionary<string, object?> byName:
                    outputLosses = byName.ToDictionary(kv => kv.Key, kv => LossRegistry.Get(kv.Value as string ?? throw new ArgumentException("only losses given by name are supported")));
                    break;
                case IEnumerable<object?> list:
                    var inOrder = list.ToList();
                    if (inOrder.Count != n) throw new ArgumentException($"the loss list has {inOrder.Count} entries for {n} output(s)");
                    outputLosses = Enumerable.Range(0, n).ToDictionary(k => names[k], k => LossRegistry.Get(inOrder[k] as string ?? throw new ArgumentException("only losses given by name are supported")));
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
            model.Compile(optimizer, loss, n == 1 ? metrics?[names[0]] : null, lossWeights, n == 1 ? weighted?[names[0]] : null,
                outputLosses: outputLosses, outputMetrics: n > 1 ? metrics : null, outputWeightedMetrics: n > 1 ? weighted : null);
            return null;
        }
        catch (ArgumentException e)
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
        string name => [MetricRegistry.Get(name)],
        IEnumerable<object?> list => list.Select(x => x is string name ? MetricRegistry.Get(name) : throw new ArgumentException("only metrics given by name are supported")).ToArray(),
        _ => throw new ArgumentException("only metrics given by name are supported"),
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
        if (entries.Count != names.Count) throw new ArgumentException($"{key} has {entries.Count} entries for {names.Count} outputs (give one per output, or a dict by output name)");
        return Enumerable.Range(0, names.Count).ToDictionary(k => names[k], k => MetricsFrom(entries[k]), StringComparer.Ordinal);
    }

    private static Optimizer OptimizerFrom(IDictionary<string, object?> serialized)
    {
        string className = serialized.TryGetValue("class_name", out var c) && c is string s ? s : throw new ArgumentException("the optimizer has no class_name");
        var type = typeof(Optimizer).Assembly.GetTypes().FirstOrDefault(t => t.IsPublic && !t.IsAbstract && typeof(Optimizer).IsAssignableFrom(t) && t.Name.Equals(className, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"unknown optimizer class '{className}'");
        var config = serialized.TryGetValue("config", out var cfg) && cfg is IDictionary<string, object?> d ? d : new Dictionary<string, object?>();
        var ctor = type.GetConstructors().OrderByDescending(k => k.GetParameters().Length).First();
        var args = ctor.GetParameters().Select(p =>
        {
            string key = KerasKey(p.Name!);
            if (!config.TryGetValue(key, out var v)) config.TryGetValue(Layers.Layer.SnakeCase(p.Name!), out v);
            if (v is null) return p.HasDefaultValue ? p.DefaultValue : throw new ArgumentException($"the optimizer config lacks '{key}'");
            if (p.ParameterType == typeof(LearningRate))
                return v is IConvertible ? (LearningRate)System.Convert.ToDouble(v, CultureInfo.InvariantCulture) : throw new ArgumentException("learning-rate schedules in compile_config are not supported");
            return Layers.ConfigValues.Convert(v, p.ParameterType, $"{type.Name}.{key}");
        }).ToArray();
        try
        {
            return (Optimizer)ctor.Invoke(args);
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentException a)
        {
            throw a;
        }
    }
}
