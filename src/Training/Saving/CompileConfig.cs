using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

namespace OnnxKeras.Saving;

/// <summary>
/// Keras 3's <c>compile_config</c> (optimizer, loss, metrics) in a <c>.keras</c> file, for single-output models.
/// Writing records the optimizer's hyperparameters under Keras's keys (<c>beta_1</c>); reading recompiles the model,
/// and an entry it cannot rebuild leaves the model uncompiled with a warning, as Keras does.
/// </summary>
internal static partial class CompileConfig
{
    [GeneratedRegex(@"(?<=[a-z])(\d+)$")]
    private static partial Regex TrailingDigits();

    /// <summary>A constructor parameter's Keras config key: <c>beta1</c> to <c>beta_1</c>, <c>initialAccumulatorValue</c> to <c>initial_accumulator_value</c>.</summary>
    private static string KerasKey(string parameterName) => TrailingDigits().Replace(Layers.Layer.SnakeCase(parameterName), "_$1");

    public static Dictionary<string, object?>? Serialize(Model model)
    {
        if (!model.IsCompiled || model.NumOutputs != 1) return null;
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
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["optimizer"] = new Dictionary<string, object?> { ["module"] = "keras.optimizers", ["class_name"] = opt.GetType().Name, ["config"] = config, ["registered_name"] = null },
            ["loss"] = model.Loss.Name,
            ["loss_weights"] = null,
            ["metrics"] = model.Metrics.Count == 0 ? null : model.Metrics.Select(m => (object?)m.Name).ToList(),
            ["weighted_metrics"] = null,
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
            Loss loss = config.TryGetValue("loss", out var l) && l is string lossName ? LossRegistry.Get(lossName)
                : throw new ArgumentException("only a single loss given by name is supported");
            var metrics = config.TryGetValue("metrics", out var m) && m is IEnumerable<object?> list
                ? list.Select(x => x is string s ? MetricRegistry.Get(s) : throw new ArgumentException("only metrics given by name are supported")).ToList()
                : null;
            model.Compile(optimizer, loss, metrics);
            return null;
        }
        catch (ArgumentException e)
        {
            var warning = $"'{path}': the model was loaded uncompiled because its compile_config could not be rebuilt: {e.Message}";
            Console.Error.WriteLine($"Warning: {warning}");
            return warning;
        }
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
