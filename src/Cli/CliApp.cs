using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli;

/// <summary>
/// The <c>onnxkeras</c> command line: <c>inspect</c>, <c>predict</c>, <c>serve</c> and <c>export-triton</c>. The logic lives here, not in <c>Main</c>, so
/// that tests run commands in-process. Parsing, help and usage errors are System.CommandLine's; each command's action
/// turns failures into <see cref="Failure"/> or <see cref="Usage"/> with a one-line <c>error: ...</c> on standard error.
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

    private const string PredictNotes = """
        CSV output has one line per row (first dimension) and a header of column names (output_index); outputs are
        placed side by side, so they must share the first dimension (use json otherwise). JSON output is
        {"outputs": {"name": {"shape": [...], "data": [nested rows]}}}. NaN and infinities are written as NaN,
        Infinity, -Infinity (as strings in JSON).
        """;

    private const string ServeNotes = """
        An Open Inference Protocol (KServe v2 REST, optionally gRPC) server for one model. Ctrl+C or SIGTERM stops it
        after the requests in flight finish.
        """;

    private const string ExportTritonNotes = """
        Writes <repo>/<name>/1/model.onnx and <repo>/<name>/config.pbtxt (platform onnxruntime_onnx). max_batch_size
        is --max-batch-size when every input and output has a symbolic first dimension, else 0 (no batching).
        """;

    /// <summary>Stops <c>serve</c> (besides Ctrl+C and SIGTERM); lets tests run the command in-process.</summary>
    public CancellationToken ShutdownToken { get; init; }

    /// <summary>A command line that parsed but makes no sense (exit code <see cref="Usage"/>).</summary>
    private sealed class UsageException(string message) : Exception(message);

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
                return UsageError(stderr, parsed.CommandResult.Command, $"unknown option '{unknown}'.");
            if (parsed.Errors.Count > 0)
                return UsageError(stderr, parsed.CommandResult.Command, parsed.Errors[0].Message);
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

    private static int UsageError(TextWriter stderr, Command command, string message)
    {
        stderr.WriteLine($"error: {message.ReplaceLineEndings(" ")}");
        stderr.WriteLine($"Run '{CommandPath(command)} --help' for usage.");
        return Usage;
    }

    private static string CommandPath(Command command) =>
        command.Parents.OfType<Command>().FirstOrDefault() is { } parent ? $"{CommandPath(parent)} {command.Name}" : command.Name;

    /// <summary>An exception's message on one line, without the <c> (Parameter 'x')</c> that <see cref="ArgumentException"/>
    /// appends (<see cref="ArgumentOutOfRangeException"/> puts its "Actual value was ..." after it).</summary>
    private static string MessageOf(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        return message.ReplaceLineEndings(" ");
    }

    /// <summary>Runs a command's work: a usage problem found late is exit 2, any other failure exit 1, each as one line
    /// on standard error (never a stack trace).</summary>
    private static int Guard(TextWriter stderr, Command command, Func<int> work)
    {
        try
        {
            return work();
        }
        catch (UsageException e)
        {
            return UsageError(stderr, command, e.Message);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException
                                      or InvalidOperationException or UnauthorizedAccessException or FormatException
                                      or OverflowException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            stderr.WriteLine($"error: {MessageOf(e)}");
            return Failure;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug rather than bad input; still one line, naming the exception's type to report it by.
            stderr.WriteLine($"error: unexpected {e.GetType().Name}: {MessageOf(e)}");
            return Failure;
        }
    }

    private delegate bool TryParse<T>(string text, out T value);

    /// <summary>An option whose value is checked when parsed: a bad value is a usage error saying
    /// "<c>NAME must be RULE, not 'VALUE'.</c>".</summary>
    private static Option<T> Checked<T>(string name, string helpName, string description, string rule, TryParse<T> parse,
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

    private static Option<T> WithDefault<T>(Option<T> option, T value)
    {
        option.DefaultValueFactory = _ => value;
        return option;
    }

    private static Option<int> PositiveInt(string name, string helpName, string description) =>
        Checked(name, helpName, description, "a positive integer",
                (string t, out int v) => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v) && v > 0);

    private static Option<int> PortOption(string name, string description) =>
        Checked(name, "n", description, "an integer in 0..65535",
                (string t, out int v) => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v) && v <= 65535);

    /// <summary>The option's value if it was given, else null.</summary>
    private static int? Given(ParseResult r, Option<int> option) => r.GetResult(option) is { Implicit: false } ? r.GetValue(option) : null;

    private static Argument<string> ModelArgument() => new("model.onnx") { Description = "The ONNX model file" };

    /// <summary><c>--device</c>: null when not given (cpu; a default value would show in help as <c>Cpu</c>).</summary>
    private static Option<ExecutionDevice?> DeviceOption()
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

    private static Option<int> ThreadsOption() => PositiveInt("--threads", "n", "Intra-op threads (default: ONNX Runtime's)");

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

        root.Subcommands.Add(InspectCommand(stdout, stderr));
        var predict = PredictCommand(stdout, stderr);
        notes[predict] = PredictNotes;
        root.Subcommands.Add(predict);
        var serve = ServeCommand(stdout, stderr);
        notes[serve] = ServeNotes;
        root.Subcommands.Add(serve);
        var exportTriton = ExportTritonCommand(stdout, stderr);
        notes[exportTriton] = ExportTritonNotes;
        root.Subcommands.Add(exportTriton);

        var helpCommand = new Command("help", "Show help for onnxkeras or one of its commands");
        var which = new Argument<string?>("command") { Arity = ArgumentArity.ZeroOrOne, Description = "The command to describe" };
        helpCommand.Arguments.Add(which);
        helpCommand.SetAction(r =>
        {
            string? name = r.GetValue(which);
            var target = name is null ? root : root.Subcommands.FirstOrDefault(c => c.Name == name && c != helpCommand);
            if (target is null)
                return UsageError(stderr, root, $"unknown command '{name}'; use inspect, predict, serve or export-triton.");
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

    private static Command InspectCommand(TextWriter stdout, TextWriter stderr)
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
            return Ok;
        }));
        return command;
    }

    private static Command PredictCommand(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("predict", "Run a model on CSV or .npy input and write its outputs as CSV or JSON");
        var model = ModelArgument();
        var input = new Option<string[]>("--input", "-i")
        {
            Description = "Input data: .csv (rows of numbers, optional header row) or .npy (float32/float64/int32/int64, " +
                          "C order); name= is needed for multi-input models; repeat per input",
            HelpName = "[name=]file",
            Required = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<string?>("--output", "-o") { Description = "Write the result to this file (default: standard output)", HelpName = "file" };
        var format = Checked("--format", "csv|json", "Output format (default: json if --output ends in .json, else csv)", "csv or json",
            (string t, out string? v) =>
            {
                v = t.ToLowerInvariant();
                return v is "csv" or "json";
            });
        format.CompletionSources.Add("csv", "json");
        var outputs = Checked("--outputs", "a,b", "Compute only these outputs", "a comma-separated list of output names",
            (string t, out string[]? v) =>
            {
                v = t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return v.Length > 0;
            });
        var batchSize = PositiveInt("--batch-size", "n", "Run at most n rows per ONNX Runtime call");
        var device = DeviceOption();
        var threads = ThreadsOption();
        command.Arguments.Add(model);
        foreach (var o in new Option[] { input, output, format, outputs, batchSize, device, threads }) command.Options.Add(o);
        command.SetAction(r => Guard(stderr, command, () => Predict(
            r.GetValue(model)!, r.GetValue(input)!, r.GetValue(output), r.GetValue(format),
            r.GetResult(outputs) is { Implicit: false } ? r.GetValue(outputs) : null, // not given: null, not System.CommandLine's empty array
            Given(r, batchSize), r.GetValue(device) ?? ExecutionDevice.Cpu, Given(r, threads), stdout, stderr)));
        return command;
    }

    private Command ServeCommand(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("serve", "Serve a model, or every model of a Triton-style repository, over the Open Inference Protocol (KServe v2 REST; gRPC with --grpc-port)");
        var model = ModelArgument();
        model.Arity = ArgumentArity.ZeroOrOne;
        var repository = new Option<string?>("--model-repository")
        {
            Description = "Serve every <name>/<version>/model.onnx of this folder (the layout export-triton writes) instead of one model file",
            HelpName = "dir",
        };
        var port = PortOption("--port", "TCP port (0 picks a free one; the address is printed)");
        port.Required = true;
        var host = new Option<string>("--host") { Description = "Address to listen on (loopback only unless changed)", HelpName = "ip", DefaultValueFactory = _ => "127.0.0.1" };
        var grpcPort = PortOption("--grpc-port", "Also serve the protocol's gRPC service (HTTP/2, no TLS) on this port");
        var name = new Option<string?>("--name") { Description = "Model name in URLs (default: the file name without extension)", HelpName = "name" };
        var maxBatch = WithDefault(PositiveInt("--max-batch-size", "b", "Dynamic batching: run up to b queued rows as one batch (1: off)"), 1);
        var maxDelay = WithDefault(Checked("--max-delay-ms", "d", "How long a batch waits for more requests", "a number in 0..60000",
            (string t, out double v) => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && v >= 0 && v <= 60_000), 2.0);
        var maxBytes = WithDefault(Checked("--max-request-bytes", "n", "Larger request bodies get HTTP 413", "a positive integer",
            (string t, out long v) => long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v) && v > 0), 64L * 1024 * 1024);
        var maxConcurrency = WithDefault(PositiveInt("--max-concurrency", "n", "More concurrent infer requests get HTTP 503"), 256);
        var bodyTimeout = WithDefault(Checked("--body-timeout-s", "s", "A request body that takes longer gets HTTP 408", "a number in (0, 86400]",
            (string t, out double v) => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && v > 0 && v <= 86_400), 60.0);
        var apiKeyFile = new Option<string?>("--api-key-file")
        {
            Description = "Require 'Authorization: Bearer <key>' (the file's first line) on every route but /v2/health; " +
                          "without it the environment variable ONNXKERAS_API_KEY, if set, does the same",
            HelpName = "file",
        };
        var accessLog = new Option<string?>("--access-log") { Description = "Append one JSON line per request to this file (- for standard output)", HelpName = "file|-" };
        var device = DeviceOption();
        var threads = ThreadsOption();
        command.Arguments.Add(model);
        foreach (var o in new Option[] { port, host, grpcPort, name, repository, maxBatch, maxDelay, maxBytes, maxConcurrency, bodyTimeout, apiKeyFile, accessLog, device, threads })
            command.Options.Add(o);
        command.SetAction(r => Guard(stderr, command, () =>
        {
            string? modelPath = r.GetValue(model), repositoryPath = r.GetValue(repository);
            if ((modelPath is null) == (repositoryPath is null))
                throw new UsageException("serve needs a model file or --model-repository <dir>, not both.");
            if (repositoryPath is not null && r.GetValue(name) is not null)
                throw new UsageException("--name applies to a single model file; a repository's folders name its models.");
            string? apiKeyPath = r.GetValue(apiKeyFile), accessLogPath = r.GetValue(accessLog);
            string? apiKey = apiKeyPath is not null ? ReadApiKey(apiKeyPath)
                : Environment.GetEnvironmentVariable("ONNXKERAS_API_KEY") is { Length: > 0 } envKey ? envKey.Trim() : null;
            Serving.ServerOptions Options(Action<string>? accessLogLine, Action<string> logLine) => new()
            {
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                GrpcPort = Given(r, grpcPort),
                ModelName = r.GetValue(name) ?? (modelPath is null ? null : Path.GetFileNameWithoutExtension(modelPath)),
                MaxBatchSize = r.GetValue(maxBatch),
                MaxBatchDelay = TimeSpan.FromMilliseconds(r.GetValue(maxDelay)),
                MaxRequestBytes = r.GetValue(maxBytes),
                MaxConcurrency = r.GetValue(maxConcurrency),
                RequestBodyTimeout = TimeSpan.FromSeconds(r.GetValue(bodyTimeout)),
                ApiKey = apiKey,
                AccessLog = accessLogLine,
                Log = logLine,
            };
            return Serve(modelPath, repositoryPath, Options, accessLogPath, r.GetValue(device) ?? ExecutionDevice.Cpu, Given(r, threads), stdout, stderr);
        }));
        return command;
    }

    private static Command ExportTritonCommand(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("export-triton", "Write a Triton model repository entry (config.pbtxt and 1/model.onnx) for a model");
        var model = ModelArgument();
        var repo = new Option<string>("--repo") { Description = "The model repository folder", HelpName = "dir", Required = true };
        var name = new Option<string?>("--name") { Description = "The model's folder and name (default: the file name without extension)", HelpName = "name" };
        var maxBatch = WithDefault(PositiveInt("--max-batch-size", "n", "Triton's max_batch_size (used when all first dimensions are symbolic)"), 64);
        // Triton accepts 0 (batch what is queued, no wait).
        var delayUs = WithDefault(Checked("--max-queue-delay-us", "n", "dynamic_batching's max_queue_delay_microseconds (0: batch only what is queued)",
            "an integer of 0 or more", (string t, out int v) => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v)), 100);
        var gpus = PositiveInt("--gpu-instances", "n", "KIND_GPU instances (default: one KIND_CPU instance)");
        command.Arguments.Add(model);
        foreach (var o in new Option[] { repo, name, maxBatch, delayUs, gpus }) command.Options.Add(o);
        command.SetAction(r => Guard(stderr, command, () =>
        {
            string repoPath = r.GetValue(repo)!;
            var folder = Serving.TritonExporter.Export(r.GetValue(model)!, repoPath, new Serving.TritonExportOptions
            {
                Name = r.GetValue(name),
                MaxBatchSize = r.GetValue(maxBatch),
                MaxQueueDelayMicroseconds = r.GetValue(delayUs),
                GpuInstances = Given(r, gpus),
            });
            stdout.WriteLine($"Wrote {Path.Combine(folder, "config.pbtxt")} and {Path.Combine(folder, "1", "model.onnx")}.");
            stdout.WriteLine($"Serve with: tritonserver --model-repository={Path.GetFullPath(repoPath)}");
            return Ok;
        }));
        return command;
    }

    /// <summary>The API key of <c>serve --api-key-file</c>: the file's first line, trimmed; a missing file, an empty key or
    /// one with white space inside is a usage error.</summary>
    private static string ReadApiKey(string path)
    {
        string? line;
        try
        {
            using var reader = new StreamReader(path);
            line = reader.ReadLine();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--api-key-file '{path}' cannot be read: {e.Message}");
        }
        string key = line?.Trim() ?? "";
        if (key.Length == 0 || key.Length > 4096 || key.Any(char.IsWhiteSpace))
            throw new UsageException($"--api-key-file '{path}' must hold the key on its first line (no spaces, at most 4096 characters).");
        return key;
    }

    /// <summary>Runs the server until Ctrl+C, SIGTERM or <see cref="ShutdownToken"/>; <paramref name="makeOptions"/> gets the
    /// access log and log writers.</summary>
    private int Serve(string? modelPath, string? repositoryPath, Func<Action<string>?, Action<string>, Serving.ServerOptions> makeOptions, string? accessLogPath,
                      ExecutionDevice device, int? threads, TextWriter stdout, TextWriter stderr)
    {
        var log = TextWriter.Synchronized(stderr);
        TextWriter? accessLog = null;
        if (accessLogPath == "-") accessLog = TextWriter.Synchronized(stdout);
        else if (accessLogPath is not null)
        {
            try
            {
                accessLog = TextWriter.Synchronized(new StreamWriter(accessLogPath, append: true) { AutoFlush = true });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--access-log '{accessLogPath}' cannot be opened: {e.Message}");
            }
        }
        using var accessLogOwner = accessLogPath is not null and not "-" ? accessLog : null;
        var inferenceOptions = new InferenceOptions
        {
            Device = device,
            IntraOpThreads = threads ?? 0,
            Log = m => log.WriteLine($"warning: {m}"),
        };
        using var model = modelPath is null ? null : OnnxModel.Load(modelPath, inferenceOptions);
        using var repository = repositoryPath is null ? null : Serving.ModelRepository.Load(repositoryPath, inferenceOptions);
        var options = makeOptions(accessLog is null ? null : accessLog.WriteLine, m => log.WriteLine(m));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ShutdownToken);
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        Serving.KServeServer server;
        try
        {
            server = (model is not null ? Serving.KServeServer.StartAsync(model, options) : Serving.KServeServer.StartAsync(repository!.Models, options))
                .GetAwaiter().GetResult();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(MessageOf(e));
        }
        stdout.WriteLine($"Serving {string.Join(", ", server.Models.Select(m => $"'{m.Name}' version {m.Version}"))} at {server.BaseAddress} (Open Inference Protocol v2)" +
                         (server.GrpcPort is int bound ? $", gRPC at {server.BaseAddress.Host}:{bound}" : "") + ". Ctrl+C stops.");
        stdout.Flush();
        stop.Token.WaitHandle.WaitOne();
        server.StopAsync().GetAwaiter().GetResult();
        stdout.WriteLine("Stopped.");
        return Ok;
    }

    private static int Predict(string modelPath, IReadOnlyList<string> inputArgs, string? outputPath, string? format, string[]? outputNames,
                               int? batchSize, ExecutionDevice device, int? threads, TextWriter stdout, TextWriter stderr)
    {
        var inputs = new List<(string? Name, string File)>();
        foreach (var v in inputArgs)
        {
            int eq = v.IndexOf('=');
            inputs.Add(eq > 0 && !File.Exists(v) ? (v[..eq], v[(eq + 1)..]) : (null, v));
        }
        format ??= outputPath is not null && Path.GetExtension(outputPath).Equals(".json", StringComparison.OrdinalIgnoreCase) ? "json" : "csv";

        using var model = OnnxModel.Load(modelPath, new InferenceOptions
        {
            Device = device,
            IntraOpThreads = threads ?? 0,
            Log = m => stderr.WriteLine($"warning: {m}"),
        });

        var feeds = new Dictionary<string, TensorInput>();
        foreach (var (name, file) in inputs)
        {
            ModelTensorInfo info;
            if (name is null)
            {
                if (model.Inputs.Count != 1)
                    throw new UsageException(
                        $"the model has {model.Inputs.Count} inputs ({string.Join(", ", model.Inputs.Select(x => x.Name))}); " +
                        "name each: --input name=file.");
                info = model.Inputs[0];
            }
            else
            {
                info = model.Inputs.FirstOrDefault(x => x.Name == name)
                       ?? throw new ArgumentException($"The model has no input named '{name}'. Its inputs are: {string.Join("; ", model.Inputs)}.");
            }
            if (feeds.ContainsKey(info.Name)) throw new UsageException($"input '{info.Name}' is given twice.");
            feeds[info.Name] = ToTensor(info, ArrayFiles.Read(file), file);
        }

        var results = model.Predict(feeds, outputNames, batchSize);
        string text = format == "json" ? ToJson(results) : ToCsv(results);
        if (outputPath is null)
        {
            stdout.Write(text);
        }
        else
        {
            var full = Path.GetFullPath(outputPath);
            var temp = full + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            File.WriteAllText(temp, text, new UTF8Encoding(false));
            File.Move(temp, full, overwrite: true);
        }
        return Ok;
    }

    /// <summary>Converts file data to the input's element type and shape. A [rows, columns] CSV or array feeds a
    /// higher-rank input whose dimensions after the first are fixed and multiply to the column count.</summary>
    private static TensorInput ToTensor(ModelTensorInfo info, NumericArray array, string file)
    {
        long[] shape = array.Shape;
        if (info.Rank > 2 && shape.Length == 2 && info.Dimensions.Skip(1).All(d => d.IsFixed)
            && info.Dimensions.Skip(1).Aggregate(1L, (a, d) => a * d.Value!.Value) == shape[1])
            shape = [shape[0], .. info.Dimensions.Skip(1).Select(d => d.Value!.Value)];
        else if (info.Rank == 1 && shape.Length == 2 && shape[1] == 1)
            shape = [shape[0]];
        switch (info.ElementType)
        {
            case TensorElementType.Float:
                return new TensorInput(array.Values.Select(v => (float)v).ToArray(), shape);
            case TensorElementType.Int64 or TensorElementType.Int32:
                if (!array.IsInteger)
                    throw new InvalidDataException($"Input '{info.Name}' takes {info.ElementType} values but '{file}' holds non-integers.");
                return info.ElementType == TensorElementType.Int64
                    ? new TensorInput(array.Values.Select(v => (long)v).ToArray(), shape)
                    : new TensorInput(array.Values.Select(v => checked((int)v)).ToArray(), shape);
            default:
                throw new NotSupportedException($"Input '{info.Name}' is {info.ElementType}; predict feeds float32, int64 and int32 inputs.");
        }
    }

    private static string ToCsv(IReadOnlyDictionary<string, DenseTensorResult> results)
    {
        var list = results.ToList();
        if (list.Any(r => r.Value.Rank == 0) || list.Select(r => r.Value.Shape[0]).Distinct().Count() > 1)
            throw new InvalidOperationException(
                $"CSV needs outputs that share a first (row) dimension, but the shapes are {string.Join(", ", list.Select(r => $"{r.Key} {r.Value}"))}; " +
                "use --format json or --outputs.");
        long rows = list[0].Value.Shape[0];
        var sb = new StringBuilder();
        var header = new List<string>();
        foreach (var (name, r) in list)
        {
            long width = rows == 0 ? r.Shape.Skip(1).Aggregate(1L, (a, b) => a * b) : r.Values.Length / rows;
            if (r.Rank == 1) header.Add(name);
            else for (long j = 0; j < width; j++) header.Add($"{name}_{j}");
        }
        sb.Append(string.Join(",", header)).Append('\n');
        for (long i = 0; i < rows; i++)
        {
            bool first = true;
            foreach (var (_, r) in list)
            {
                long width = r.Values.Length / rows;
                for (long j = 0; j < width; j++)
                {
                    if (!first) sb.Append(',');
                    sb.Append(Serving.InferCodec.ElementText(r.Values, i * width + j));
                    first = false;
                }
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string ToJson(IReadOnlyDictionary<string, DenseTensorResult> results)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteStartObject("outputs");
            foreach (var (name, r) in results)
            {
                w.WriteStartObject(name);
                w.WriteStartArray("shape");
                foreach (var d in r.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WritePropertyName("data");
                int k = 0;
                WriteNested(w, r, 0, ref k);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteNested(Utf8JsonWriter w, DenseTensorResult r, int dim, ref int k)
    {
        if (dim == r.Rank)
        {
            Serving.InferCodec.WriteElement(w, r.Values, k++);
            return;
        }
        w.WriteStartArray();
        for (long i = 0; i < r.Shape[dim]; i++) WriteNested(w, r, dim + 1, ref k);
        w.WriteEndArray();
    }
}
