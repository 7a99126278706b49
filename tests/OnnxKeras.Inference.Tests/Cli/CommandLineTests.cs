using System.Reflection;
using System.Text.Json;
using OnnxKeras.Cli;
using Xunit;

using static OnnxKeras.Inference.Tests.Cli.CliRunner;

namespace OnnxKeras.Inference.Tests.Cli;

/// <summary>The onnxkeras command line itself: help, version, POSIX option forms, usage errors and inspect --json.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>Every option of each command, as docs/cli.md lists them.</summary>
    public static TheoryData<string, string[]> CommandOptions => new()
    {
        { "inspect", ["--json"] },
        { "predict", ["--input", "-i", "--output", "-o", "--format", "--outputs", "--batch-size", "--device", "--threads"] },
        {
            "serve", ["--port", "--host", "--grpc-port", "--name", "--max-batch-size", "--max-delay-ms", "--max-request-bytes",
                      "--max-concurrency", "--body-timeout-s", "--api-key-file", "ONNXKERAS_API_KEY", "--access-log", "--device", "--threads",
                      "--model-repository"]
        },
        { "export-triton", ["--repo", "--name", "--max-batch-size", "--max-queue-delay-us", "--gpu-instances"] },
    };

    /// <summary>An error for the user: one "error:" line naming the problem, never a .NET stack trace or parameter suffix.</summary>
    private static void AssertCleanError(string err)
    {
        Assert.StartsWith("error: ", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", err, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter '", err, StringComparison.Ordinal);
    }

    /// <summary>A usage error: the error line and a hint to run --help, nothing else.</summary>
    private static void AssertUsageError(string err, string command)
    {
        AssertCleanError(err);
        var lines = err.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal($"Run 'onnxkeras {command}--help' for usage.", lines[1]);
    }

    [Fact]
    public void RootHelpListsTheCommandsTheOptionsAndTheExitCodes()
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, output, err) = Run(flag);
            Assert.Equal(CliApp.Ok, code);
            Assert.Equal("", err);
            Assert.Contains("Usage:", output, StringComparison.Ordinal);
            foreach (var command in new[] { "inspect", "predict", "serve", "export-triton", "help", "--version", "--help" })
                Assert.Contains(command, output, StringComparison.Ordinal);
            Assert.Contains("Exit codes:", output, StringComparison.Ordinal);
            Assert.Contains("  2  bad command line", output, StringComparison.Ordinal);
        }
        // `onnxkeras help` prints the same; no arguments prints it on standard error as a usage error.
        Assert.Equal(Run("--help"), Run("help"));
        var (noArgsCode, noArgsOut, noArgsErr) = Run();
        Assert.Equal(CliApp.Usage, noArgsCode);
        Assert.Equal("", noArgsOut);
        Assert.Equal(Run("--help").Out, noArgsErr);
    }

    [Theory]
    [MemberData(nameof(CommandOptions))]
    public void EachCommandsHelpNamesEveryOption(string command, string[] options)
    {
        var (code, output, err) = Run(command, "--help");
        Assert.Equal(CliApp.Ok, code);
        Assert.Equal("", err);
        // serve's model file is optional (--model-repository instead).
        Assert.Contains(command == "serve" ? "onnxkeras serve [<model.onnx>] [options]" : $"onnxkeras {command} <model.onnx> [options]", output, StringComparison.Ordinal);
        foreach (var option in options)
            Assert.Contains(option, output, StringComparison.Ordinal);
        Assert.Contains("Exit codes:", output, StringComparison.Ordinal);
        // -h and `help <command>` print the same; help wins over a missing required option.
        Assert.Equal((code, output, err), Run(command, "-h"));
        Assert.Equal((code, output, err), Run("help", command));
        Assert.Equal((code, output, err), Run(command, "model.onnx", "--help"));
    }

    [Fact]
    public void HelpShowsTheDefaults()
    {
        // Descriptions wrap with the width, so white space is collapsed; an option's default follows its description.
        static string Flat(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " ");
        var serve = Flat(Run("serve", "--help").Out);
        foreach (var (option, value) in new[]
        {
            ("--host <ip>", "127.0.0.1"), ("--max-batch-size <b>", "1"), ("--max-delay-ms <d>", "2"), ("--max-request-bytes <n>", "67108864"),
            ("--max-concurrency <n>", "256"), ("--body-timeout-s <s>", "60"), ("--device <cpu|auto|cuda>", "cpu"),
        })
            Assert.Matches(System.Text.RegularExpressions.Regex.Escape(option) + @" [^\[]*\[default: " + System.Text.RegularExpressions.Regex.Escape(value) + @"\]", serve);
        Assert.Contains("--port <n> (REQUIRED)", serve, StringComparison.Ordinal);
        var triton = Flat(Run("export-triton", "--help").Out);
        Assert.Matches(@"--max-batch-size <n> [^\[]*\[default: 64\]", triton);
        Assert.Matches(@"--max-queue-delay-us <n> [^\[]*\[default: 100\]", triton);
        Assert.Contains("--repo <dir> (REQUIRED)", triton, StringComparison.Ordinal);
    }

    [Fact]
    public void VersionPrintsTheInformationalVersion()
    {
        var (code, output, err) = Run("--version");
        Assert.Equal(CliApp.Ok, code);
        Assert.Equal("", err);
        var expected = typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(expected + Environment.NewLine, output);
        Assert.Matches(@"^\d+\.\d+\.\d+", output);
    }

    [Fact]
    public void OptionValuesMayFollowAnEqualsSignAndDoubleDashEndsOptions()
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        var csv = dir.File("x.csv", "1,2,3\n"u8.ToArray());
        var expected = Run("predict", model, "--input", csv, "--threads", "1");
        Assert.Equal(CliApp.Ok, expected.Code);
        // [1, 2, 3] -> h = [1 + 3, 2 - 3 + 0.5] = [4, -0.5] -> relu [4, 0] -> softmax.
        var row = expected.Out.Split('\n')[1].Split(',').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), row[0], 1e-6);
        Assert.Equal(expected, Run("predict", model, "--input=" + csv, "--threads=1"));
        Assert.Equal(expected, Run("predict", "--input=" + csv, "--threads", "1", "--", model));
        var outPath = Path.Combine(dir.Path, "y.csv");
        Assert.Equal((CliApp.Ok, "", ""), Run("predict", model, "-i", csv, "-o", outPath, "--threads", "1"));
        Assert.Equal(expected.Out, File.ReadAllText(outPath));
    }

    [Fact]
    public void RepeatedOptionsAndNamedInputsWithTheEqualsForm()
    {
        var model = dir.File("am.onnx", TestModels.AddMul());
        var a = dir.File("a.csv", "1,2\n"u8.ToArray());
        var b = dir.File("b.csv", "0.5,-1\n"u8.ToArray());
        // sum = a + b = [1.5, 1], prod = a * b = [0.5, -2].
        Assert.Equal((CliApp.Ok, "sum_0,sum_1,prod_0,prod_1\n1.5,1,0.5,-2\n", ""),
                     Run("predict", model, "--input=a=" + a, "-i", "b=" + b));
    }

    [Fact]
    public void UnknownOptionsAreUsageErrorsNamingThem()
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        var csv = dir.File("x.csv", "1,2,3\n"u8.ToArray());
        foreach (var args in new[]
        {
            new[] { "predict", model, "-i", csv, "--bogus" },
            ["predict", "--bogus", model, "-i", csv],
            ["predict", model, "-i", csv, "--bogus=3"],
        })
        {
            var (code, output, err) = Run(args);
            Assert.Equal(CliApp.Usage, code);
            Assert.Equal("", output);
            AssertUsageError(err, "predict ");
            Assert.Contains("'--bogus'", err, StringComparison.Ordinal);
        }
        var (rootCode, _, rootErr) = Run("--bogus");
        Assert.Equal(CliApp.Usage, rootCode);
        AssertUsageError(rootErr, "");
        Assert.Contains("'--bogus'", rootErr, StringComparison.Ordinal);
        var (commandCode, _, commandErr) = Run("frobnicate");
        Assert.Equal(CliApp.Usage, commandCode);
        AssertUsageError(commandErr, "");
        Assert.Contains("'frobnicate'", commandErr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingOrInvalidValuesAreUsageErrors()
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        var csv = dir.File("x.csv", "1,2,3\n"u8.ToArray());
        foreach (var (args, names, command) in new[]
        {
            (new[] { "predict", model, "-i" }, "'-i'", "predict "),
            (["predict", model, "-i", csv, "--threads"], "'--threads'", "predict "),
            (["predict", model], "'--input'", "predict "),
            (["serve", model, "--port"], "'--port'", "serve "),
            (["export-triton", model, "--repo"], "'--repo'", "export-triton "),
            (["inspect"], "model.onnx", "inspect "),
            (["predict", model, "-i", csv, "--threads", "0"], "--threads must be a positive integer, not '0'.", "predict "),
            (["predict", model, "-i", csv, "--format", "xml"], "--format must be csv or json, not 'xml'.", "predict "),
            (["predict", model, "-i", csv, "--outputs", ","], "--outputs must be a comma-separated list of output names, not ','.", "predict "),
            (["serve", model, "--port", "65536"], "--port must be an integer in 0..65535, not '65536'.", "serve "),
            (["serve", model, "--port", "0", "--max-delay-ms", "-1"], "--max-delay-ms must be a number in 0..60000, not '-1'.", "serve "),
            (["serve", model, "--port", "0", "--body-timeout-s", "0"], "--body-timeout-s must be a number in (0, 86400], not '0'.", "serve "),
            (["serve", model, "--port", "0", "--max-request-bytes", "0"], "--max-request-bytes must be a positive integer, not '0'.", "serve "),
        })
        {
            var (code, output, err) = Run(args);
            Assert.Equal(CliApp.Usage, code);
            Assert.Equal("", output);
            AssertUsageError(err, command);
            Assert.Contains(names, err, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void RuntimeFailuresAreOneCleanLineWithExit1()
    {
        var model = dir.File("am.onnx", TestModels.AddMul());
        var a = dir.File("a.csv", "1,2\n"u8.ToArray());
        // OnnxModel throws ArgumentException(..., nameof(outputNames)): its " (Parameter 'outputNames')" is not shown.
        var (code, output, err) = Run("predict", model, "-i", "a=" + a, "-i", "b=" + a, "--outputs", "sum,sum");
        Assert.Equal(CliApp.Failure, code);
        Assert.Equal("", output);
        AssertCleanError(err);
        Assert.Equal(1, err.Count(c => c == '\n'));
        Assert.Contains("lists an output twice", err, StringComparison.Ordinal);
        // The same for TritonExporter's ArgumentException(..., nameof(options)).
        (code, output, err) = Run("export-triton", model, "--repo", Path.Combine(dir.Path, "repo"), "--name", "a/b");
        Assert.Equal(CliApp.Failure, code);
        AssertCleanError(err);
        Assert.Contains("'a/b' is not a valid model name", err, StringComparison.Ordinal);
        (code, _, err) = Run("inspect", "--json", dir.File("bad.onnx", [0xff, 0xff, 0xff, 0x01, 0x02]));
        Assert.Equal(CliApp.Failure, code);
        AssertCleanError(err);
        Assert.Contains("bad.onnx", err, StringComparison.Ordinal);
    }

    [Fact]
    public void InspectJsonHasTheFactsOfTheTextOutput()
    {
        var bytes = TestModels.DenseWithMetadata();
        var model = dir.File("dense.onnx", bytes);
        var (code, output, err) = Run("inspect", "--json", model);
        Assert.Equal(CliApp.Ok, code);
        Assert.Equal("", err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(Path.GetFullPath(model), root.GetProperty("path").GetString());
        Assert.Equal(bytes.Length, root.GetProperty("file_bytes").GetInt64());
        Assert.Equal(8, root.GetProperty("ir_version").GetInt64());
        Assert.Equal("onnxkeras", root.GetProperty("producer").GetProperty("name").GetString());
        Assert.Equal("0.1.0", root.GetProperty("producer").GetProperty("version").GetString());
        Assert.Equal("ai.onnxkeras.test", root.GetProperty("domain").GetString());
        Assert.Equal(3, root.GetProperty("model_version").GetInt64());
        Assert.Equal("a tiny dense model", root.GetProperty("description").GetString());
        Assert.Equal("dense", root.GetProperty("graph").GetString());
        var opset = Assert.Single(root.GetProperty("opsets").EnumerateArray());
        Assert.Equal("ai.onnx", opset.GetProperty("domain").GetString());
        Assert.Equal(17, opset.GetProperty("version").GetInt64());
        // x [batch, 3] -> y [batch, 2]; the initializers W and B are not inputs.
        var input = Assert.Single(root.GetProperty("inputs").EnumerateArray());
        Assert.Equal("x", input.GetProperty("name").GetString());
        Assert.Equal("float32", input.GetProperty("element_type").GetString());
        Assert.Equal("[\"batch\",3]", input.GetProperty("shape").GetRawText().Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));
        var outputInfo = Assert.Single(root.GetProperty("outputs").EnumerateArray());
        Assert.Equal("y", outputInfo.GetProperty("name").GetString());
        Assert.Equal("float32", outputInfo.GetProperty("element_type").GetString());
        Assert.Equal("batch", outputInfo.GetProperty("shape")[0].GetString());
        Assert.Equal(2, outputInfo.GetProperty("shape")[1].GetInt64());
        Assert.Equal(3, root.GetProperty("nodes").GetInt32());
        Assert.Equal([("Gemm", 1), ("Relu", 1), ("Softmax", 1)],
                     root.GetProperty("operators").EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())));
        // W [3, 2] + B [2] = 8 float32 parameters = 32 bytes.
        var parameters = root.GetProperty("parameters");
        Assert.Equal(8, parameters.GetProperty("count").GetInt64());
        Assert.Equal(2, parameters.GetProperty("initializers").GetInt32());
        Assert.Equal(32, parameters.GetProperty("bytes").GetInt64());
        Assert.Equal([("keras_config", TestModels.KerasConfigJson), ("keras_version", "3.10.0")],
                     root.GetProperty("metadata").EnumerateArray().Select(m => (m.GetProperty("key").GetString(), m.GetProperty("value").GetString())));
        // Quotes inside metadata values are written as quotes, so the output is readable as well as parseable.
        Assert.Contains("\\\"class_name\\\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public void InspectJsonCountsRepeatedOperatorsAndMarksUnknownDimensions()
    {
        var (code, output, _) = Run("inspect", "--json", dir.File("rc.onnx", TestModels.RowCounter()));
        Assert.Equal(CliApp.Ok, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(7, root.GetProperty("nodes").GetInt32());
        Assert.Equal(1, root.GetProperty("operators").GetProperty("Identity").GetInt32());
        // Two int64 [1] initializers and one float scalar: 3 parameters, 8 + 8 + 4 bytes.
        Assert.Equal(3, root.GetProperty("parameters").GetProperty("count").GetInt64());
        Assert.Equal(20, root.GetProperty("parameters").GetProperty("bytes").GetInt64());
        Assert.Equal(0, root.GetProperty("metadata").GetArrayLength());
        Assert.Equal(0, root.GetProperty("model_version").GetInt64());
        Assert.Equal("onnxkeras-tests", root.GetProperty("producer").GetProperty("name").GetString());

        var unknown = OnnxBuilder.Model(OnnxBuilder.Graph("g", [OnnxBuilder.Node("Relu", ["x"], ["y"])],
            [OnnxBuilder.Value("x", OnnxBuilder.FloatType, null, 4)], [OnnxBuilder.Value("y", OnnxBuilder.FloatType, "n", 4)]));
        (code, output, _) = Run("inspect", "--json", dir.File("unknown.onnx", Google.Protobuf.MessageExtensions.ToByteArray(unknown)));
        Assert.Equal(CliApp.Ok, code);
        using var doc2 = JsonDocument.Parse(output);
        var shape = doc2.RootElement.GetProperty("inputs")[0].GetProperty("shape");
        Assert.Equal(JsonValueKind.Null, shape[0].ValueKind);
        Assert.Equal(4, shape[1].GetInt64());
    }
}
