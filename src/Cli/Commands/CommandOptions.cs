using System.CommandLine;
using System.Globalization;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Commands;

/// <summary>The options and arguments that several commands share, and the helpers that build checked options.</summary>
internal static class CommandOptions
{
    internal delegate bool TryParse<T>(string text, out T value);

    /// <summary>An option whose value is checked when parsed: a bad value is a usage error saying
    /// "<c>NAME must be RULE, not 'VALUE'.</c>".</summary>
    internal static Option<T> Checked<T>(string name, string helpName, string description, string rule, TryParse<T> parse,
                                        params string[] aliases)
    {
        var option = new Option<T>(name, aliases) { Description = description, HelpName = helpName };
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (parse(text, out var value)) return value;
            result.AddError($"{name} must be {rule}, not '{text}'.");
            return default;
        };
        return option;
    }

    internal static Option<T> WithDefault<T>(Option<T> option, T value)
    {
        option.DefaultValueFactory = _ => value;
        return option;
    }

    internal static Option<int> PositiveInt(string name, string helpName, string description) =>
        Checked(name, helpName, description, "a positive integer",
                (string t, out int v) => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v) && v > 0);

    internal static Option<int> PortOption(string name, string description) =>
        Checked(name, "n", description, "an integer in 0..65535",
                (string t, out int v) => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v) && v <= 65535);

    /// <summary>The option's value if it was given, else null.</summary>
    internal static int? Given(ParseResult r, Option<int> option) => r.GetResult(option) is { Implicit: false } ? r.GetValue(option) : null;

    internal static Argument<string> ModelArgument() => new("model.onnx") { Description = "The ONNX model file" };

    /// <summary><c>--device</c>: null when not given (cpu; a default value would show in help as <c>Cpu</c>).</summary>
    internal static Option<ExecutionDevice?> DeviceOption()
    {
        var option = Checked("--device", "cpu|auto|cuda", "Execution device (gpu is accepted as cuda) [default: cpu]", "cpu, auto or cuda",
            (string t, out ExecutionDevice? v) =>
            {
                (bool ok, v) = t.ToLowerInvariant() switch
                {
                    "cpu" => (true, (ExecutionDevice?)ExecutionDevice.Cpu),
                    "auto" => (true, ExecutionDevice.Auto),
                    "cuda" or "gpu" => (true, ExecutionDevice.Cuda),
                    _ => (false, (ExecutionDevice?)null),
                };
                return ok;
            });
        option.CompletionSources.Add("cpu", "auto", "cuda");
        return option;
    }

    internal static Option<int> ThreadsOption() => PositiveInt("--threads", "n", "Intra-op threads (default: ONNX Runtime's)");
}
