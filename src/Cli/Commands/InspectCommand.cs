using System.CommandLine;
using static OnnxKeras.Cli.Commands.CommandGuard;
using static OnnxKeras.Cli.Commands.CommandOptions;

namespace OnnxKeras.Cli.Commands;

/// <summary><c>onnxkeras inspect</c>: describes a model file without running it.</summary>
internal static class InspectCommand
{
    /// <summary>The <c>inspect</c> command; its action writes to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    internal static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("inspect", "Describe a model: IR version, producer, opsets, inputs and outputs with shapes, " +
                                             "operator counts, parameters, metadata (read from the file, not through ONNX Runtime)");
        var model = ModelArgument();
        var json = new Option<bool>("--json") { Description = "Print the same facts as one JSON object" };
        command.Arguments.Add(model);
        command.Options.Add(json);
        command.SetAction(r => Guard(stderr, command, () =>
        {
            var path = Path.GetFullPath(r.GetValue(model)!);
            if (!File.Exists(path))
                throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
            stdout.Write(r.GetValue(json) ? ModelInspector.DescribeJson(path) : ModelInspector.Describe(path));
            return CliApp.Ok;
        }));
        return command;
    }
}
