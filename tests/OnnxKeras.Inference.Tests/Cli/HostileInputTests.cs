using System.Buffers.Binary;
using System.Text;
using OnnxKeras.Cli;
using Xunit;

using static OnnxKeras.Inference.Tests.Cli.CliRunner;

namespace OnnxKeras.Inference.Tests.Cli;

/// <summary>Crafted input files make the onnxkeras command fail with exit 1 and a message naming the file, never crash it.</summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>A .npy file with the given header text (version 1 or 2 preamble, header length as given or its real length).</summary>
    private string Npy(string name, string header, int version = 1, uint? declaredLength = null, byte[]? data = null)
    {
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange([(byte)version, 0]);
        uint length = declaredLength ?? (uint)header.Length;
        if (version == 1) bytes.AddRange(BitConverter.GetBytes((ushort)length));
        else bytes.AddRange(BitConverter.GetBytes(length));
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(data ?? []);
        return dir.File(name, bytes.ToArray());
    }

    private (int Code, string Err) Predict(string input)
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        var (code, output, err) = Run("predict", model, "-i", input);
        Assert.Equal("", output);
        return (code, err);
    }

    [Fact]
    public void NpyShapesWhoseSizeOverflowsAreRefusedByTheValueLimit()
    {
        // 2^62 float64 values need 2^65 bytes: the old unchecked product wrapped to 0 bytes and matched the empty data.
        var wraps = Npy("wraps.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }\n");
        var (code, err) = Predict(wraps);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("wraps.npy", err);
        Assert.Contains("more than 100,000,000 values", err);
        // 2^40 * 2^40 overflows 64 bits (an OverflowException before).
        var huge = Npy("huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }\n");
        (code, err) = Predict(huge);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("huge.npy", err);
        Assert.Contains("more than 100,000,000 values", err);
    }

    [Fact]
    public void NpyHeadersAreParsedStrictly()
    {
        // Python 2's long literals (a FormatException before), an unknown key, a missing key, trailing text.
        foreach (var (name, header, why) in new[]
        {
            ("py2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 784L), }\n", "'shape' must hold non-negative integers"),
            ("extra.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), 'x': 1}\n", "unexpected or repeated key 'x'"),
            ("nokey.npy", "{'descr': '<f4', 'shape': (1, 3)}\n", "it needs 'descr', 'fortran_order' and 'shape'"),
            ("negative.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3)}\n", "'shape' must hold non-negative integers"),
            ("tail.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3)} x\n", "text after the closing brace"),
        })
        {
            var (code, err) = Predict(Npy(name, header, data: new byte[12]));
            Assert.Equal(CliApp.Failure, code);
            Assert.Contains(name, err);
            Assert.Contains("cannot parse the .npy header", err);
            Assert.Contains(why, err);
        }
    }

    [Fact]
    public void NpyVersion2HeadersAreBoundedAndStillRead()
    {
        var (code, err) = Predict(Npy("long.npy", "{}", version: 2, declaredLength: 1u << 31));
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("long.npy", err);
        Assert.Contains("2,147,483,648 bytes; the limit is 65,536", err);

        // A well-formed version 2 file with a double-quoted key, no trailing comma and a 1-tuple: [1, 3] float32.
        var ok = Npy("ok.npy", "{\"descr\": '<f4', 'fortran_order': False, 'shape': (1, 3)}\n", version: 2,
            data: [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(2f), .. BitConverter.GetBytes(3f)]);
        var model = dir.File("dense.onnx", TestModels.Dense());
        var (okCode, output, okErr) = Run("predict", model, "-i", ok);
        Assert.Equal("", okErr);
        Assert.Equal(CliApp.Ok, okCode);
        // [1, 2, 3] -> softmax([4, 0]) (the same hand calculation as CliTests.PredictCsvToCsvMatchesHandComputedDense).
        var row = output.TrimEnd('\n').Split('\n')[1].Split(',').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), row[0], 1e-6);
    }

    [Fact]
    public void AOneLineCsvIsReadWithoutBuildingTheLine()
    {
        // 1,000,000 values on one 2 MB line. The old reader held the line (4 MB), 1,000,000 cell strings (about 26 MB),
        // their array (8 MB) and a growing list (up to 24 MB): over 60 MB. Streaming costs the values twice (8 MB in
        // chunks, 8 MB in the result) plus fixed buffers.
        const int n = 1_000_000;
        var text = new StringBuilder(2 * n);
        for (int i = 0; i < n; i++) text.Append(i % 10).Append(i + 1 < n ? ',' : '\n');
        var csv = dir.File("wide.csv", Encoding.ASCII.GetBytes(text.ToString()));
        var model = dir.File("dense.onnx", TestModels.Dense());
        text = null;
        GC.Collect();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var (code, _, err) = Run("predict", model, "-i", csv);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("expects shape [batch, 3] but got shape [1, 1000000]", err);
        Assert.True(allocated < 40_000_000, $"reading a 2 MB one-line CSV allocated {allocated:N0} bytes");
    }

    [Fact]
    public void CsvCellsAreBoundedAndNamedInErrors()
    {
        var longCell = dir.File("long.csv", Encoding.ASCII.GetBytes("1,2,3\n" + new string('9', 5000) + ",1,1\n"));
        var (code, err) = Predict(longCell);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("long.csv:2: a cell longer than 1,024 characters is not a number", err);
        var word = dir.File("word.csv", "a,b,c\n1,2,3\n4,x,6\n"u8.ToArray());
        (code, err) = Predict(word);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("word.csv:3: 'x' is not a number", err);
    }

    [Fact]
    public void InspectAndPredictRefuseDevices()
    {
        // /dev/zero never ends: inspect used to read it until it ran out of memory (4 GB) and aborted.
        Assert.True(File.Exists("/dev/zero"), "this test needs /dev/zero (Linux)");
        var (code, output, err) = Run("inspect", "/dev/zero");
        Assert.Equal(CliApp.Failure, code);
        Assert.Equal("", output);
        Assert.Contains("'/dev/zero' is not a regular file", err);
        // As predict inputs, through links with the extensions the reader dispatches on: refused, not read forever.
        foreach (var name in new[] { "zero.csv", "zero.npy" })
        {
            var link = Path.Combine(dir.Path, name);
            File.CreateSymbolicLink(link, "/dev/zero");
            var (c, e) = Predict(link);
            Assert.Equal(CliApp.Failure, c);
            Assert.Contains("is not a regular file", e);
        }
    }
}
