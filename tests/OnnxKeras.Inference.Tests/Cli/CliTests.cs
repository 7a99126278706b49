using System.Text;
using System.Text.Json;
using OnnxKeras.Cli;
using Xunit;

using static OnnxKeras.Inference.Tests.Cli.CliRunner;

namespace OnnxKeras.Inference.Tests.Cli;

/// <summary>The onnxkeras command, run in-process.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>A NumPy .npy file (format 1.0) written by hand.</summary>
    private string Npy(string name, string descr, long[] shape, byte[] data)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange([1, 0]);
        bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(data);
        return dir.File(name, bytes.ToArray());
    }

    private static byte[] Bytes<T>(params T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    [Fact]
    public void InspectDescribesInputsOutputsOpsetsOperatorsParametersAndMetadata()
    {
        var model = dir.File("dense.onnx", TestModels.DenseWithMetadata());
        var (code, output, err) = Run("inspect", model);
        Assert.Equal(0, code);
        Assert.Equal("", err);
        var lines = output.Split('\n');
        Assert.Contains("IR version: 8", lines);
        Assert.Contains("Producer: onnxkeras 0.1.0", lines);
        Assert.Contains("Opsets: ai.onnx 17", lines);
        Assert.Contains("Model version: 3", lines);
        Assert.Contains("  x: float32 [batch, 3]", lines);
        Assert.Contains("  y: float32 [batch, 2]", lines);
        Assert.Contains("Operators (3 nodes):", lines);
        Assert.Contains("  Gemm 1", lines);
        Assert.Contains("  Relu 1", lines);
        Assert.Contains("  Softmax 1", lines);
        // W [3, 2] + B [2] = 8 float32 parameters = 32 bytes.
        Assert.Contains("Parameters: 8 in 2 initializers (32 bytes)", lines);
        Assert.Contains("  keras_config: " + TestModels.KerasConfigJson, lines);
    }

    [Fact]
    public void InspectCountsRepeatedOperators()
    {
        var (code, output, _) = Run("inspect", dir.File("rc.onnx", TestModels.RowCounter()));
        Assert.Equal(0, code);
        Assert.Contains("Operators (7 nodes):", output);
        Assert.Contains("  Identity 1", output);
        Assert.Contains("Parameters: 3 in 3 initializers (20 bytes)", output); // two int64 [1] + one float scalar
        Assert.Contains("  rows: float32 [batch, 1]", output);
        Assert.Contains("Metadata: (none)", output);
    }

    [Fact]
    public void InspectReportsMissingAndCorruptFiles()
    {
        var missing = Path.Combine(dir.Path, "missing.onnx");
        var (code, _, err) = Run("inspect", missing);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains(missing, err);
        var corrupt = dir.File("corrupt.onnx", [0xff, 0xff, 0xff, 0x01, 0x02]);
        (code, _, err) = Run("inspect", corrupt);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains(corrupt, err);
    }

    [Fact]
    public void PredictCsvToCsvMatchesHandComputedDense()
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        var csv = dir.File("x.csv", "a,b,c\n1,2,3\n0,0,0\n"u8.ToArray());
        var (code, output, err) = Run("predict", model, "--input", csv, "--threads", "1");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Equal("y_0,y_1", lines[0]);
        Assert.Equal(3, lines.Length);
        var row0 = lines[1].Split(',').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var row1 = lines[2].Split(',').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        // [1, 2, 3] -> softmax([4, 0]); [0, 0, 0] -> softmax([0, 0.5]).
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), row0[0], 1e-6);
        Assert.Equal(1 / (Math.Exp(4) + 1), row0[1], 1e-6);
        Assert.Equal(1 / (1 + Math.Exp(0.5)), row1[0], 1e-6);
        Assert.Equal(Math.Exp(0.5) / (1 + Math.Exp(0.5)), row1[1], 1e-6);
    }

    [Fact]
    public void PredictNpyToJsonFile()
    {
        var model = dir.File("rank3.onnx", TestModels.Rank3Relu());
        var npy = Npy("x.npy", "<f8", [1, 2, 2], Bytes(-1.0, 2.0, -3.0, 4.5));
        var outPath = Path.Combine(dir.Path, "y.json");
        var (code, output, err) = Run("predict", model, "-i", npy, "-o", outPath);
        Assert.Equal(0, code);
        Assert.Equal("", output + err);
        using var doc = JsonDocument.Parse(File.ReadAllText(outPath));
        var y = doc.RootElement.GetProperty("outputs").GetProperty("y");
        Assert.Equal([1, 2, 2], y.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        var data = y.GetProperty("data");
        Assert.Equal(0, data[0][0][0].GetDouble());
        Assert.Equal(2, data[0][0][1].GetDouble());
        Assert.Equal(0, data[0][1][0].GetDouble());
        Assert.Equal(4.5, data[0][1][1].GetDouble());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
    }

    [Fact]
    public void PredictFloat32NpyAndACsvReshapedToARank3Input()
    {
        var model = dir.File("rank3.onnx", TestModels.Rank3Relu());
        var npy = Npy("x.npy", "<f4", [2, 2, 2], Bytes(1f, -1f, 2f, -2f, 3f, -3f, 4f, -4f));
        var (code, output, _) = Run("predict", model, "--input", npy);
        Assert.Equal(0, code);
        Assert.Equal("y_0,y_1,y_2,y_3\n1,0,2,0\n3,0,4,0\n", output);
        var csv = dir.File("x.csv", "1,-1,2,-2\n3,-3,4,-4\n"u8.ToArray()); // [2, 4] feeds [batch, 2, 2]
        (code, output, _) = Run("predict", model, "--input", csv);
        Assert.Equal(0, code);
        Assert.Equal("y_0,y_1,y_2,y_3\n1,0,2,0\n3,0,4,0\n", output);
    }

    [Fact]
    public void PredictMultiInputWithNamesAndOutputSelection()
    {
        var model = dir.File("am.onnx", TestModels.AddMul());
        var a = dir.File("a.csv", "1,2\n3,4\n"u8.ToArray());
        var b = dir.File("b.csv", "0.5,-1\n2,0.25\n"u8.ToArray());
        var (code, output, err) = Run("predict", model, "--input", "a=" + a, "--input", "b=" + b);
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Equal("sum_0,sum_1,prod_0,prod_1\n1.5,1,0.5,-2\n5,4.25,6,1\n", output);
        (code, output, _) = Run("predict", model, "-i", "a=" + a, "-i", "b=" + b, "--outputs", "prod", "--format", "json");
        Assert.Equal(0, code);
        Assert.Equal("{\"outputs\":{\"prod\":{\"shape\":[2,2],\"data\":[[0.5,-2],[6,1]]}}}\n", output);
        using var doc = JsonDocument.Parse(output);
        var outputs = doc.RootElement.GetProperty("outputs");
        Assert.Equal(["prod"], outputs.EnumerateObject().Select(p => p.Name));
        Assert.Equal(-2, outputs.GetProperty("prod").GetProperty("data")[0][1].GetDouble());
    }

    [Fact]
    public void PredictInt64NpyInput()
    {
        var model = dir.File("cast.onnx", TestModels.CastInt64());
        var npy = Npy("ids.npy", "<i8", [1, 2], Bytes(7L, -3L));
        var (code, output, _) = Run("predict", model, "-i", npy);
        Assert.Equal(0, code);
        Assert.Equal("y_0,y_1\n7,-3\n", output);
    }

    [Fact]
    public void PredictBatchSizeSplitsTheRun()
    {
        var model = dir.File("rc.onnx", TestModels.RowCounter());
        var csv = dir.File("x.csv", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("1,2\n", 5))));
        var (code, output, _) = Run("predict", model, "-i", csv, "--outputs", "rows", "--batch-size", "2");
        Assert.Equal(0, code);
        Assert.Equal("rows_0\n2\n2\n2\n2\n1\n", output);
    }

    [Fact]
    public void NaNIsWrittenAsNaN()
    {
        var model = dir.File("am.onnx", TestModels.AddMul());
        var a = dir.File("a.csv", "NaN,1\n"u8.ToArray());
        var b = dir.File("b.csv", "1,Infinity\n"u8.ToArray());
        var (code, output, _) = Run("predict", model, "-i", "a=" + a, "-i", "b=" + b, "--outputs", "sum");
        Assert.Equal(0, code);
        Assert.Equal("sum_0,sum_1\nNaN,Infinity\n", output);
        (code, output, _) = Run("predict", model, "-i", "a=" + a, "-i", "b=" + b, "--outputs", "sum", "--format", "json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("NaN", doc.RootElement.GetProperty("outputs").GetProperty("sum").GetProperty("data")[0][0].GetString());
    }

    [Fact]
    public void ShapeMismatchIsAFailureNamingTheInput()
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        var csv = dir.File("x.csv", "1,2,3,4\n5,6,7,8\n"u8.ToArray());
        var (code, output, err) = Run("predict", model, "-i", csv);
        Assert.Equal(CliApp.Failure, code);
        Assert.Equal("", output);
        Assert.Contains("Input 'x' expects shape [batch, 3] but got shape [2, 4]", err);
    }

    [Fact]
    public void BadFilesAreFailuresWithTheirNames()
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        var ragged = dir.File("ragged.csv", "1,2,3\n4,5\n"u8.ToArray());
        var (code, _, err) = Run("predict", model, "-i", ragged);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("ragged.csv:2", err);
        var badNpy = dir.File("bad.npy", "not numpy"u8.ToArray());
        (code, _, err) = Run("predict", model, "-i", badNpy);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("bad.npy", err);
        var shortNpy = Npy("short.npy", "<f4", [2, 3], Bytes(1f, 2f));
        (code, _, err) = Run("predict", model, "-i", shortNpy);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("needs 24 data bytes but the file has 8", err);
        (code, _, err) = Run("predict", Path.Combine(dir.Path, "none.onnx"), "-i", ragged);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("none.onnx", err);
    }

    [Fact]
    public void UsageErrorsExitWith2()
    {
        var model = dir.File("am.onnx", TestModels.AddMul());
        var a = dir.File("a.csv", "1,2\n"u8.ToArray());
        Assert.Equal(CliApp.Usage, Run().Code);
        Assert.Equal(CliApp.Usage, Run("frobnicate").Code);
        Assert.Equal(CliApp.Usage, Run("inspect").Code);
        Assert.Equal(CliApp.Usage, Run("predict", model).Code);
        Assert.Equal(CliApp.Usage, Run("predict", model, "-i", a, "--batch-size", "0").Code);
        Assert.Equal(CliApp.Usage, Run("predict", model, "-i", a, "--device", "tpu").Code);
        Assert.Equal(CliApp.Usage, Run("predict", model, "-i", a, "--bogus").Code);
        var (code, _, err) = Run("predict", model, "-i", a); // two inputs, none named
        Assert.Equal(CliApp.Usage, code);
        Assert.Contains("name each: --input name=file", err);
        Assert.Equal(CliApp.Ok, Run("help").Code);
    }

    [Fact]
    public void PredictWritesInt64OutputsAsIntegers()
    {
        // ArgMax over each row of [[1, 5, 2], [7, 0, 3]]: columns 1 and 0.
        var model = dir.File("argmax.onnx", TestModels.ArgMax());
        var input = dir.File("x.csv", Encoding.UTF8.GetBytes("1,5,2\n7,0,3\n"));
        var (code, output, err) = Run("predict", model, "--input", input);
        Assert.True(code == CliApp.Ok, err);
        Assert.Equal("idx\n1\n0\n", output);
        (code, output, err) = Run("predict", model, "--input", input, "--format", "json");
        Assert.True(code == CliApp.Ok, err);
        Assert.Equal("""{"outputs":{"idx":{"shape":[2],"data":[1,0]}}}""" + "\n", output);
    }
}
