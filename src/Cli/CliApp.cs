using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli;

/// <summary>
/// The <c>onnxkeras</c> command line: <c>inspect</c>, <c>predict</c>, <c>serve</c> and <c>export-triton</c>. The logic lives here, not in <c>Main</c>, so
/// that tests run commands in-process.
/// </summary>
public sealed class CliApp
{
    /// <summary>Exit code for success.</summary>
    public const int Ok = 0;

    /// <summary>Exit code for a failure while doing the work (unreadable model or input, shape mismatch, ...).</summary>
    public const int Failure = 1;

    /// <summary>Exit code for a malformed command line.</summary>
    public const int Usage = 2;

    private const string Help = """
        onnxkeras: inspect ONNX models and run them with ONNX Runtime.

        Usage:
          onnxkeras inspect <model.onnx>
          onnxkeras predict <model.onnx> --input <file.csv|file.npy> [options]
          onnxkeras predict <model.onnx> --input <name>=<file> --input <name>=<file> [options]
          onnxkeras serve <model.onnx> --port <n> [serve options]
          onnxkeras export-triton <model.onnx> --repo <dir> [--name <name>] [--max-batch-size <n>]
                                  [--max-queue-delay-us <n>] [--gpu-instances <n>]

        predict options:
          --input, -i <[name=]file>   input data: .csv (rows of numbers, optional header row) or .npy
                                      (float32/float64/int32/int64, C order); name= is needed for multi-input models
          --output, -o <file>         write the result here (default: standard output)
          --format <csv|json>         output format (default: from the --output extension, else csv)
          --outputs <a,b>             compute only these outputs
          --batch-size <n>            run at most n rows per ONNX Runtime call
          --device <cpu|auto|cuda>    execution device (default cpu)
          --threads <n>               intra-op threads (default: ONNX Runtime's)

        serve options (an Open Inference Protocol / KServe v2 REST server; stops on Ctrl+C or SIGTERM):
          --port <n>                  TCP port (0 picks a free one; the address is printed)
          --host <ip>                 address to listen on (default 127.0.0.1, loopback only)
          --grpc-port <n>             also serve the protocol's gRPC service (HTTP/2, no TLS) on this port
          --name <name>               model name in URLs (default: the file name without extension)
          --max-batch-size <b>        dynamic batching: run up to b queued rows as one batch (default 1: off)
          --max-delay-ms <d>          how long a batch waits for more requests (default 2)
          --max-request-bytes <n>     larger bodies get HTTP 413 (default 67108864)
          --max-concurrency <n>       more concurrent infer requests get HTTP 503 (default 256)
          --body-timeout-s <s>        a request body that takes longer gets HTTP 408 (default 60)
          --access-log <file|->       append one JSON line per request to the file (- for standard output)
          --api-key-file <file>       require 'Authorization: Bearer <key>' (the file's first line) on every route but
                                      /v2/health; the environment variable ONNXKERAS_API_KEY does the same
          --device, --threads         as for predict

        export-triton writes <dir>/<name>/1/model.onnx and <dir>/<name>/config.pbtxt (platform onnxruntime_onnx;
        max_batch_size, default 64, when every input and output has a symbolic first dimension, else 0; dynamic
        batching with --max-queue-delay-us, default 100; --gpu-instances n gives KIND_GPU instances, else KIND_CPU).

        CSV output has one line per row (first dimension) and a header of column names (output_index); outputs
        are placed side by side, so they must share the first dimension (use json otherwise). JSON output is
        {"outputs": {"name": {"shape": [...], "data": [nested rows]}}}. NaN and infinities are written as NaN,
        Infinity, -Infinity (as strings in JSON).
        """;

    /// <summary>Runs one command.</summary>
    /// <param name="args">The command-line arguments (without the program name).</param>
    /// <param name="stdout">Receives results.</param>
    /// <param name="stderr">Receives errors and warnings.</param>
    /// <returns><see cref="Ok"/>, <see cref="Failure"/> or <see cref="Usage"/>.</returns>
    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            (args.Length == 0 ? stderr : stdout).WriteLine(Help);
            return args.Length == 0 ? Usage : Ok;
        }
        try
        {
            return args[0] switch
            {
                "inspect" => Inspect(args[1..], stdout),
                "predict" => Predict(args[1..], stdout, stderr),
                "serve" => Serve(args[1..], stdout, stderr),
                "export-triton" => ExportTriton(args[1..], stdout),
                _ => throw new UsageException($"unknown command '{args[0]}'; use inspect, predict, serve or export-triton."),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            stderr.WriteLine("Run 'onnxkeras help' for usage.");
            return Usage;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException
                                      or InvalidOperationException or UnauthorizedAccessException
                                      or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return Failure;
        }
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

    /// <summary>Stops <c>serve</c> (besides Ctrl+C and SIGTERM); lets tests run the command in-process.</summary>
    public CancellationToken ShutdownToken { get; init; }

    private sealed class UsageException(string message) : Exception(message);

    private static ExecutionDevice ParseDevice(string d) => d.ToLowerInvariant() switch
    {
        "cpu" => ExecutionDevice.Cpu,
        "auto" => ExecutionDevice.Auto,
        "cuda" or "gpu" => ExecutionDevice.Cuda,
        _ => throw new UsageException($"--device must be cpu, auto or cuda, not '{d}'."),
    };

    private int Serve(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? modelPath = null, host = null, name = null, apiKeyFile = null, accessLogPath = null;
        double bodyTimeoutS = 60;
        int? port = null, threads = null, grpcPort = null;
        int maxBatch = 1, maxConcurrency = 256;
        double delayMs = 2;
        long maxBytes = 64L * 1024 * 1024;
        var device = ExecutionDevice.Cpu;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--port":
                    var p = Value();
                    port = int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var pn) && pn <= 65535
                        ? pn : throw new UsageException($"--port must be an integer in 0..65535, not '{p}'.");
                    break;
                case "--host": host = Value(); break;
                case "--grpc-port":
                    var gp = Value();
                    grpcPort = int.TryParse(gp, NumberStyles.None, CultureInfo.InvariantCulture, out var gpn) && gpn <= 65535
                        ? gpn : throw new UsageException($"--grpc-port must be an integer in 0..65535, not '{gp}'.");
                    break;
                case "--name": name = Value(); break;
                case "--max-batch-size": maxBatch = PositiveInt(args[i], Value()); break;
                case "--max-delay-ms":
                    var d = Value();
                    delayMs = double.TryParse(d, NumberStyles.Float, CultureInfo.InvariantCulture, out var dv) && dv >= 0 && dv <= 60_000
                        ? dv : throw new UsageException($"--max-delay-ms must be a number in 0..60000, not '{d}'.");
                    break;
                case "--max-request-bytes":
                    var b = Value();
                    maxBytes = long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var bv) && bv > 0
                        ? bv : throw new UsageException($"--max-request-bytes must be a positive integer, not '{b}'.");
                    break;
                case "--max-concurrency": maxConcurrency = PositiveInt(args[i], Value()); break;
                case "--body-timeout-s":
                    var t = Value();
                    bodyTimeoutS = double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var tv) && tv > 0 && tv <= 86_400
                        ? tv : throw new UsageException($"--body-timeout-s must be a number in (0, 86400], not '{t}'.");
                    break;
                case "--api-key-file": apiKeyFile = Value(); break;
                case "--access-log": accessLogPath = Value(); break;
                case "--threads": threads = PositiveInt(args[i], Value()); break;
                case "--device": device = ParseDevice(Value()); break;
                default:
                    if (args[i].StartsWith('-')) throw new UsageException($"unknown option '{args[i]}'.");
                    if (modelPath is not null) throw new UsageException($"unexpected argument '{args[i]}' (the model is '{modelPath}').");
                    modelPath = args[i];
                    break;
            }
        }
        if (modelPath is null) throw new UsageException("serve needs a model file.");
        if (port is null) throw new UsageException("serve needs --port (0 picks a free port).");
        string? apiKey = apiKeyFile is not null ? ReadApiKey(apiKeyFile)
            : Environment.GetEnvironmentVariable("ONNXKERAS_API_KEY") is { Length: > 0 } envKey ? envKey.Trim() : null;
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
        using var model = OnnxModel.Load(modelPath, new InferenceOptions
        {
            Device = device,
            IntraOpThreads = threads ?? 0,
            Log = m => log.WriteLine($"warning: {m}"),
        });
        var options = new Serving.ServerOptions
        {
            Host = host ?? "127.0.0.1",
            Port = port.Value,
            GrpcPort = grpcPort,
            ModelName = name ?? Path.GetFileNameWithoutExtension(modelPath),
            MaxBatchSize = maxBatch,
            MaxBatchDelay = TimeSpan.FromMilliseconds(delayMs),
            MaxRequestBytes = maxBytes,
            MaxConcurrency = maxConcurrency,
            RequestBodyTimeout = TimeSpan.FromSeconds(bodyTimeoutS),
            ApiKey = apiKey,
            AccessLog = accessLog is null ? null : accessLog.WriteLine,
            Log = m => log.WriteLine(m),
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ShutdownToken);
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        Serving.KServeServer server;
        try
        {
            server = Serving.KServeServer.StartAsync(model, options).GetAwaiter().GetResult();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        stdout.WriteLine($"Serving '{server.ModelName}' at {server.BaseAddress} (Open Inference Protocol v2)" +
                         (server.GrpcPort is int bound ? $", gRPC at {server.BaseAddress.Host}:{bound}" : "") + ". Ctrl+C stops.");
        stdout.Flush();
        stop.Token.WaitHandle.WaitOne();
        server.StopAsync().GetAwaiter().GetResult();
        stdout.WriteLine("Stopped.");
        return Ok;
    }

    private static int ExportTriton(string[] args, TextWriter stdout)
    {
        string? modelPath = null, repo = null, name = null;
        int maxBatch = 64, delayUs = 100;
        int? gpus = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--repo": repo = Value(); break;
                case "--name": name = Value(); break;
                case "--max-batch-size": maxBatch = PositiveInt(args[i], Value()); break;
                case "--max-queue-delay-us": delayUs = NonNegativeInt(args[i], Value()); break; // Triton accepts 0 (batch what is queued, no wait)
                case "--gpu-instances": gpus = PositiveInt(args[i], Value()); break;
                default:
                    if (args[i].StartsWith('-')) throw new UsageException($"unknown option '{args[i]}'.");
                    if (modelPath is not null) throw new UsageException($"unexpected argument '{args[i]}' (the model is '{modelPath}').");
                    modelPath = args[i];
                    break;
            }
        }
        if (modelPath is null) throw new UsageException("export-triton needs a model file.");
        if (repo is null) throw new UsageException("export-triton needs --repo <dir>.");
        var folder = Serving.TritonExporter.Export(modelPath, repo, new Serving.TritonExportOptions
        {
            Name = name,
            MaxBatchSize = maxBatch,
            MaxQueueDelayMicroseconds = delayUs,
            GpuInstances = gpus,
        });
        stdout.WriteLine($"Wrote {Path.Combine(folder, "config.pbtxt")} and {Path.Combine(folder, "1", "model.onnx")}.");
        stdout.WriteLine($"Serve with: tritonserver --model-repository={Path.GetFullPath(repo)}");
        return Ok;
    }

    private static int Inspect(string[] args, TextWriter stdout)
    {
        if (args.Length != 1 || args[0].StartsWith('-'))
            throw new UsageException("inspect takes exactly one argument: the model file.");
        var path = Path.GetFullPath(args[0]);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        stdout.Write(ModelInspector.Describe(path));
        return Ok;
    }

    private static int Predict(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? modelPath = null, outputPath = null, format = null;
        int? batchSize = null, threads = null;
        var device = ExecutionDevice.Cpu;
        var inputs = new List<(string? Name, string File)>();
        string[]? outputNames = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--input" or "-i":
                    var v = Value();
                    int eq = v.IndexOf('=');
                    inputs.Add(eq > 0 && !File.Exists(v) ? (v[..eq], v[(eq + 1)..]) : (null, v));
                    break;
                case "--output" or "-o": outputPath = Value(); break;
                case "--format":
                    format = Value().ToLowerInvariant();
                    if (format is not ("csv" or "json")) throw new UsageException($"--format must be csv or json, not '{format}'.");
                    break;
                case "--outputs":
                    outputNames = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--batch-size": batchSize = PositiveInt(args[i], Value()); break;
                case "--threads": threads = PositiveInt(args[i], Value()); break;
                case "--device":
                    device = ParseDevice(Value());
                    break;
                default:
                    if (args[i].StartsWith('-')) throw new UsageException($"unknown option '{args[i]}'.");
                    if (modelPath is not null) throw new UsageException($"unexpected argument '{args[i]}' (the model is '{modelPath}').");
                    modelPath = args[i];
                    break;
            }
        }
        if (modelPath is null) throw new UsageException("predict needs a model file.");
        if (inputs.Count == 0) throw new UsageException("predict needs at least one --input.");
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

    private static int PositiveInt(string option, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new UsageException($"{option} must be a positive integer, not '{value}'.");

    private static int NonNegativeInt(string option, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new UsageException($"{option} must be an integer of 0 or more, not '{value}'.");

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

    private static string Number(float v) => v.ToString(CultureInfo.InvariantCulture);

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
            long width = rows == 0 ? r.Shape.Skip(1).Aggregate(1L, (a, b) => a * b) : r.Data.Length / rows;
            if (r.Rank == 1) header.Add(name);
            else for (long j = 0; j < width; j++) header.Add($"{name}_{j}");
        }
        sb.Append(string.Join(",", header)).Append('\n');
        for (long i = 0; i < rows; i++)
        {
            bool first = true;
            foreach (var (_, r) in list)
            {
                long width = r.Data.Length / rows;
                for (long j = 0; j < width; j++)
                {
                    if (!first) sb.Append(',');
                    sb.Append(Number(r.Data[i * width + j]));
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
            float v = r.Data[k++];
            if (float.IsFinite(v)) w.WriteNumberValue(v);
            else w.WriteStringValue(Number(v));
            return;
        }
        w.WriteStartArray();
        for (long i = 0; i < r.Shape[dim]; i++) WriteNested(w, r, dim + 1, ref k);
        w.WriteEndArray();
    }
}
