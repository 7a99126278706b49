using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Datasets;
using Xunit;

namespace OnnxKeras.Tests.Export;

/// <summary>
/// The exported artifacts in models/ (written by the main job, examples/MnistPipeline): each file matches its manifest's
/// sha256 and, run by ONNX Runtime alone, reproduces the manifest's test accuracy on the bundled test split.
/// </summary>
public class ModelArtifactsTests
{
    private static string ModelsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OnnxKeras.sln"))) return Path.Combine(dir.FullName, "models");
        }
        throw new DirectoryNotFoundException("The repository root (OnnxKeras.sln) was not found above the test output folder.");
    }

    public static TheoryData<string> Manifests()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(ModelsFolder(), "*.json").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void TheMnistArtifactsArePresent()
    {
        var names = Directory.GetFiles(ModelsFolder(), "*.onnx").Select(Path.GetFileName).ToList();
        Assert.Contains("mnist_mlp.onnx", names);
        Assert.Contains("mnist_cnn.onnx", names);
    }

    [Theory]
    [InlineData("mnist_mlp_history.png")]
    [InlineData("mnist_cnn_history.png")]
    public void TheTrainingCurvesArePngsNextToTheModels(string name)
    {
        var png = File.ReadAllBytes(Path.Combine(ModelsFolder(), name));
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        // Two panels (loss, accuracy) of the default 480 x 400 each.
        Assert.Equal(960, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(400, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void ArtifactMatchesItsManifestAndReproducesItsAccuracy(string manifestName)
    {
        var folder = ModelsFolder();
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, manifestName)));
        var root = manifest.RootElement;
        var path = Path.Combine(folder, root.GetProperty("file").GetString()!);
        Assert.Equal(root.GetProperty("sha256").GetString(), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant());

        var data = Mnist.Load();
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(path, options);
        var input = session.InputMetadata.Single();
        var sampleDims = input.Value.Dimensions.Skip(1).ToArray();
        int n = data.TestLabels.Length;
        var flat = new float[data.TestImages.Length];
        Buffer.BlockCopy(data.TestImages, 0, flat, 0, flat.Length * sizeof(float));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input.Key, new DenseTensor<float>(flat, [n, .. sampleDims]))]);
        var scores = results.First().AsTensor<float>().ToArray();
        int classes = scores.Length / n, correct = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
            if (best == data.TestLabels[i]) correct++;
        }
        Assert.Equal(root.GetProperty("test_accuracy").GetDouble(), Math.Round(correct / (double)n, 4), 4);
        Assert.Equal(root.GetProperty("parameters").GetInt64(), root.GetProperty("inputs")[0].GetProperty("shape").GetArrayLength() > 0 ? root.GetProperty("parameters").GetInt64() : -1);
    }
}
