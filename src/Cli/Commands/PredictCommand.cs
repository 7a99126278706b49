using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Inference;
using static OnnxKeras.Cli.Commands.CommandGuard;
using static OnnxKeras.Cli.Commands.CommandOptions;

namespace OnnxKeras.Cli.Commands;

/// <summary><c>onnxkeras predict</c>: runs a model on CSV or .npy input and writes its outputs as CSV or JSON.</summary>
internal static class PredictCommand
{
    /// <summary>Printed after <c>predict</c>'s help.</summary>
    internal const string Notes = """
        CSV output has one line per row (first dimension) and a header of column names (output_index); outputs are
        placed side by side, so they must share the first dimension (use json otherwise). JSON output is
        {"outputs": {"name": {"shape": [...], "data": [nested rows]}}}. NaN and infinities are written as NaN,
        Infinity, -Infinity (as strings in JSON).
        """;

    /// <summary>The <c>predict</c> command; its action writes to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    internal static Command Create(TextWriter stdout, TextWriter stderr)
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
        string text = format == "json" ? PredictOutput.ToJson(results) : PredictOutput.ToCsv(results);
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
        return CliApp.Ok;
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
}
