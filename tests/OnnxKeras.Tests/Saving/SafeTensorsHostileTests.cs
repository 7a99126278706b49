using System.Buffers.Binary;
using System.Text;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>Crafted safetensors headers fail with InvalidDataException naming the file, not with other exception types.</summary>
public class SafeTensorsHostileTests
{
    private static string Write(TempDir dir, string header, byte[] data)
    {
        var path = dir.File("w.safetensors");
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static InvalidDataException Load(string path)
    {
        using var model = new Sequential(new InputLayer([2]), new Dense(1) { Name = "dense" });
        var e = Assert.Throws<InvalidDataException>(() => model.LoadWeights(path));
        Assert.Contains($"'{path}' is not a valid safetensors weights file", e.Message);
        return e;
    }

    [Theory]
    // 2^62 float32 values need 2^64 bytes: the product wrapped to 0, matched the empty span, then new float[2^62] overflowed.
    [InlineData("""{"dense/kernel": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}}""")]
    // 2^32 * 2^32 wraps to 0 as well.
    [InlineData("""{"dense/kernel": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}""")]
    public void ShapesWhoseSizeOverflowsAreRefused(string header)
    {
        using var dir = NewTempDir();
        Assert.Contains("needs more bytes than the file's 0 data bytes", Load(Write(dir, header, [])).Message);
    }

    [Fact]
    public void NegativeDimensionsAreRefused()
    {
        // [-2, -2] multiplies to 4 elements, 16 bytes: exactly the data, so only the sign check catches it.
        using var dir = NewTempDir();
        var e = Load(Write(dir, """{"dense/kernel": {"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]}}""", new byte[16]));
        Assert.Contains("negative dimension -2", e.Message);
    }

    [Theory]
    [InlineData("""[["dense", [null]]]""")]
    [InlineData("""[[null, ["dense/kernel"]]]""")]
    [InlineData("""[["dense"]]""")]
    [InlineData("""[["dense", "dense/kernel"]]""")]
    [InlineData("""["dense"]""")]
    public void MalformedLayerMetadataIsRefused(string layers)
    {
        var meta = JsonEncoded(layers);
        var header = $$$"""{"__metadata__": {"layers": {{{meta}}}}, "dense/kernel": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]}, "dense/bias": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}""";
        using var dir = NewTempDir();
        var e = Load(Write(dir, header, new byte[12]));
        Assert.Contains("'__metadata__.layers'", e.Message);
    }

    private static string JsonEncoded(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    [Fact]
    public void AHeaderThatIsNotUtf8IsRefused()
    {
        // Found by the fuzz tests: a tensor name with a byte that is not UTF-8 (0xFF) parsed as JSON and then escaped as
        // InvalidOperationException ("Cannot transcode invalid UTF-8") when the name was read.
        using var dir = NewTempDir();
        var path = dir.File("w.safetensors");
        byte[] header = [.. "{\"dense/kern"u8, 0xFF, .. "l\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}"u8];
        var bytes = new byte[8 + header.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("its header is not valid UTF-8", Load(path).Message);
    }
}
