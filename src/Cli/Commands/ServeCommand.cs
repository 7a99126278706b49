using System.CommandLine;
using System.Globalization;
using OnnxKeras.Inference;
using static OnnxKeras.Cli.Commands.CommandGuard;
using static OnnxKeras.Cli.Commands.CommandOptions;

namespace OnnxKeras.Cli.Commands;

/// <summary><c>onnxkeras serve</c>: serves a model, or a Triton-style repository, over the Open Inference Protocol.</summary>
internal static class ServeCommand
{
    /// <summary>Printed after <c>serve</c>'s help.</summary>
    internal const string Notes = """
        An Open Inference Protocol (KServe v2 REST, optionally gRPC) server for one model. Ctrl+C or SIGTERM stops it
        after the requests in flight finish.
        """;

    /// <summary>The <c>serve</c> command; its action writes to <paramref name="stdout"/> and <paramref name="stderr"/> and also stops
    /// on <paramref name="shutdownToken"/>.</summary>
    internal static Command Create(TextWriter stdout, TextWriter stderr, CancellationToken shutdownToken)
    {
        var command = new Command("serve",
            "Serve a model, or every model of a Triton-style repository, over the Open Inference Protocol (KServe v2 REST; gRPC with --grpc-port)");
        var model = ModelArgument();
        model.Arity = ArgumentArity.ZeroOrOne;
        var repository = new Option<string?>("--model-repository")
        {
            Description = "Serve every <name>/<version>/model.onnx of this folder (the layout export-triton writes) instead of one model file",
            HelpName = "dir",
        };
        var port = PortOption("--port", "TCP port (0 picks a free one; the address is printed)");
        port.Required = true;
        var host = new Option<string>("--host")
        {
            Description = "Address to listen on (loopback only unless changed)",
            HelpName = "ip",
            DefaultValueFactory = _ => "127.0.0.1",
        };
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
        var accessLog = new Option<string?>("--access-log")
        {
            Description = "Append one JSON line per request to this file (- for standard output)",
            HelpName = "file|-",
        };
        var device = DeviceOption();
        var threads = ThreadsOption();
        command.Arguments.Add(model);
        foreach (var o in new Option[] { port, host, grpcPort, name, repository, maxBatch, maxDelay, maxBytes, maxConcurrency, bodyTimeout,
            apiKeyFile, accessLog, device, threads })
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
            return Serve(modelPath, repositoryPath, Options, accessLogPath, r.GetValue(device) ?? ExecutionDevice.Cpu, Given(r, threads),
                shutdownToken, stdout, stderr);
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

    /// <summary>Runs the server until Ctrl+C, SIGTERM or <paramref name="shutdownToken"/>
    /// (<see cref="CliApp.ShutdownToken"/>); <paramref name="makeOptions"/> gets the access log and log writers.</summary>
    private static int Serve(string? modelPath, string? repositoryPath,
        Func<Action<string>?, Action<string>, Serving.ServerOptions> makeOptions, string? accessLogPath, ExecutionDevice device, int? threads,
        CancellationToken shutdownToken, TextWriter stdout, TextWriter stderr)
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
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(shutdownToken);
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
        stdout.WriteLine($"Serving {string.Join(", ", server.Models.Select(m => $"'{m.Name}' version {m.Version}"))} at {server.BaseAddress} " +
                         "(Open Inference Protocol v2)" +
                         (server.GrpcPort is int bound ? $", gRPC at {server.BaseAddress.Host}:{bound}" : "") + ". Ctrl+C stops.");
        stdout.Flush();
        stop.Token.WaitHandle.WaitOne();
        server.StopAsync().GetAwaiter().GetResult();
        stdout.WriteLine("Stopped.");
        return CliApp.Ok;
    }
}
