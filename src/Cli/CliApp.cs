using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;
using OnnxKeras.Cli.Commands;

namespace OnnxKeras.Cli;

/// <summary>
/// The <c>onnxkeras</c> command line: <c>inspect</c>, <c>predict</c>, <c>serve</c> and <c>export-triton</c>. The logic
/// lives here and in <c>Commands/</c>, not in <c>Main</c>, so that tests run commands in-process. Parsing, help and
/// usage errors are System.CommandLine's; each command's action turns failures into <see cref="Failure"/> or
/// <see cref="Usage"/> with a one-line <c>error: ...</c> on standard error.
/// </summary>
public sealed class CliApp
{
    /// <summary>Exit code for success.</summary>
    public const int Ok = 0;

    /// <summary>Exit code for a failure while doing the work (unreadable model or input, shape mismatch, ...).</summary>
    public const int Failure = 1;

    /// <summary>Exit code for a malformed command line.</summary>
    public const int Usage = 2;

    /// <summary>Printed at the end of every help text and in docs/cli.md.</summary>
    private const string ExitCodeHelp = """
        Exit codes:
          0  success
          1  failure while doing the work: unreadable model or input, shape mismatch, ... (the message names it)
          2  bad command line: unknown command or option, missing or invalid value
        """;

    /// <summary>Stops <c>serve</c> (besides Ctrl+C and SIGTERM); lets tests run the command in-process.</summary>
    public CancellationToken ShutdownToken { get; init; }

    /// <summary>Runs one command.</summary>
    /// <param name="args">The command-line arguments (without the program name).</param>
    /// <param name="stdout">Receives results, help and the version.</param>
    /// <param name="stderr">Receives errors and warnings.</param>
    /// <returns><see cref="Ok"/>, <see cref="Failure"/> or <see cref="Usage"/>.</returns>
    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var root = BuildCommands(stdout, stderr);
        // No response files: a model path may start with '@'.
        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Action is not HelpWithNotes)
        {
            if (UnknownOption(parsed) is string unknown)
                return CommandGuard.UsageError(stderr, parsed.CommandResult.Command, $"unknown option '{unknown}'.");
            if (parsed.Errors.Count > 0)
                return CommandGuard.UsageError(stderr, parsed.CommandResult.Command, parsed.Errors[0].Message);
        }
        return parsed.Invoke(new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            EnableDefaultExceptionHandler = false, // the actions report their own failures
            ProcessTerminationTimeout = null, // serve handles SIGINT and SIGTERM itself
        });
    }

    /// <summary>The version <c>--version</c> prints: the assembly's informational version.</summary>
    private static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CliApp).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>
    /// A token that looks like an option (<c>-x</c>, <c>--xyz</c>) but is neither a known option nor an option's value,
    /// before any <c>--</c>. System.CommandLine would take it as the model argument or call it an unrecognised argument.
    /// </summary>
    private static string? UnknownOption(ParseResult parsed)
    {
        var optionValues = new HashSet<object>(ReferenceEqualityComparer.Instance);
        for (SymbolResult? r = parsed.CommandResult; r is not null; r = r.Parent)
            if (r is CommandResult command)
                foreach (var option in command.Children.OfType<OptionResult>())
                    foreach (var token in option.Tokens) optionValues.Add(token);
        foreach (var token in parsed.Tokens)
        {
            if (token.Type == TokenType.DoubleDash) break;
            if (token.Type == TokenType.Argument && token.Value is ['-', _, ..] && !optionValues.Contains(token))
                return token.Value.Split('=', 2)[0];
        }
        return null;
    }

    /// <summary>The command tree; its actions write to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    private Command BuildCommands(TextWriter stdout, TextWriter stderr)
    {
        // A plain Command rather than RootCommand: RootCommand takes its name and version from the entry assembly, which
        // is the test host when tests run the CLI in-process.
        var root = new Command("onnxkeras", "Inspect ONNX models and run them with ONNX Runtime: predict from CSV/.npy files, serve them " +
                                            "over the Open Inference Protocol, write Triton model repositories.");
        var notes = new Dictionary<Command, string>();
        var helpOption = new HelpOption(); // --help, -h, -?; recursive: every command has it
        helpOption.Action = new HelpWithNotes((HelpAction)helpOption.Action!, notes);
        var versionOption = new Option<bool>("--version") { Description = "Show the version and exit" };
        root.Options.Add(helpOption);
        root.Options.Add(versionOption);

        root.Subcommands.Add(InspectCommand.Create(stdout, stderr));
        var predict = PredictCommand.Create(stdout, stderr);
        notes[predict] = PredictCommand.Notes;
        root.Subcommands.Add(predict);
        var serve = ServeCommand.Create(stdout, stderr, ShutdownToken);
        notes[serve] = ServeCommand.Notes;
        root.Subcommands.Add(serve);
        var exportTriton = ExportTritonCommand.Create(stdout, stderr);
        notes[exportTriton] = ExportTritonCommand.Notes;
        root.Subcommands.Add(exportTriton);

        var helpCommand = new Command("help", "Show help for onnxkeras or one of its commands");
        var which = new Argument<string?>("command") { Arity = ArgumentArity.ZeroOrOne, Description = "The command to describe" };
        helpCommand.Arguments.Add(which);
        helpCommand.SetAction(r =>
        {
            string? name = r.GetValue(which);
            var target = name is null ? root : root.Subcommands.FirstOrDefault(c => c.Name == name && c != helpCommand);
            if (target is null)
                return CommandGuard.UsageError(stderr, root, $"unknown command '{name}'; use inspect, predict, serve or export-triton.");
            return WriteHelp(target, stdout);
        });
        root.Subcommands.Add(helpCommand);

        root.SetAction(r =>
        {
            if (r.GetValue(versionOption))
            {
                stdout.WriteLine(Version);
                return Ok;
            }
            WriteHelp(root, stderr); // no command: usage on standard error, exit 2
            return Usage;
        });
        return root;
    }

    /// <summary>Writes a command's help (as <c>onnxkeras [command] --help</c> does) to <paramref name="writer"/>.</summary>
    private static int WriteHelp(Command command, TextWriter writer)
    {
        var path = new List<string>();
        for (var c = command; c.Parents.OfType<Command>().FirstOrDefault() is { } parent; c = parent) path.Insert(0, c.Name);
        var root = command;
        while (root.Parents.OfType<Command>().FirstOrDefault() is { } parent) root = parent;
        path.Add("--help");
        return root.Parse(path).Invoke(new InvocationConfiguration { Output = writer, Error = writer, ProcessTerminationTimeout = null });
    }

    /// <summary>System.CommandLine's help, then the command's notes and the exit codes.</summary>
    private sealed class HelpWithNotes(HelpAction help, IReadOnlyDictionary<Command, string> notes) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            help.MaxWidth = HelpWidth();
            int code = help.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            if (notes.TryGetValue(parseResult.CommandResult.Command, out var text))
            {
                output.WriteLine("Notes:");
                foreach (var line in text.Split('\n')) output.WriteLine("  " + line);
                output.WriteLine();
            }
            output.WriteLine(ExitCodeHelp);
            return code;
        }
    }

    private static int HelpWidth()
    {
        try
        {
            return Console.IsOutputRedirected ? 100 : Math.Clamp(Console.WindowWidth, 60, 120);
        }
        catch (IOException)
        {
            return 100;
        }
    }
}
