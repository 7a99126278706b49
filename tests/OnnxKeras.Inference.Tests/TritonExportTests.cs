using OnnxKeras.Cli;
using OnnxKeras.Cli.Serving;
using Xunit;
using static OnnxKeras.Inference.Tests.OnnxBuilder;

namespace OnnxKeras.Inference.Tests;

/// <summary><c>export-triton</c>: the repository layout and config.pbtxt.</summary>
public sealed class TritonExportTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private string Repo => Path.Combine(dir.Path, "repo");

    [Fact]
    public void BatchedModelDropsTheBatchDimension()
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        var stdout = new StringWriter();
        Assert.Equal(CliApp.Ok, new CliApp().Run(["export-triton", model, "--repo", Repo, "--max-batch-size", "32"], stdout, new StringWriter()));
        Assert.Contains("tritonserver --model-repository=", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(model), File.ReadAllBytes(Path.Combine(Repo, "dense", "1", "model.onnx")));
        Assert.Equal(["config.pbtxt"], Directory.GetFiles(Path.Combine(Repo, "dense")).Select(Path.GetFileName));
        Assert.Equal(["model.onnx"], Directory.GetFiles(Path.Combine(Repo, "dense", "1")).Select(Path.GetFileName));
        var config = File.ReadAllText(Path.Combine(Repo, "dense", "config.pbtxt"));
        Assert.Equal("""
            name: "dense"
            platform: "onnxruntime_onnx"
            max_batch_size: 32
            input [
              {
                name: "x"
                data_type: TYPE_FP32
                dims: [ 3 ]
              }
            ]
            output [
              {
                name: "y"
                data_type: TYPE_FP32
                dims: [ 2 ]
              }
            ]
            dynamic_batching {
              max_queue_delay_microseconds: 100
            }
            instance_group [
              {
                count: 1
                kind: KIND_CPU
              }
            ]

            """.ReplaceLineEndings("\n"), config);
    }

    [Fact]
    public void FixedFirstDimensionMeansNoBatchingAndFullDims()
    {
        var model = dir.File("fixed.onnx", TestModels.FixedRelu());
        Assert.Equal(CliApp.Ok, new CliApp().Run(["export-triton", model, "--repo", Repo, "--name", "relu", "--gpu-instances", "2"],
                                                 new StringWriter(), new StringWriter()));
        var config = File.ReadAllText(Path.Combine(Repo, "relu", "config.pbtxt"));
        Assert.Contains("name: \"relu\"\n", config, StringComparison.Ordinal);
        Assert.Contains("max_batch_size: 0\n", config, StringComparison.Ordinal);
        Assert.Contains("dims: [ 2, 3 ]", config, StringComparison.Ordinal);
        Assert.DoesNotContain("dynamic_batching", config, StringComparison.Ordinal);
        Assert.Contains("count: 2\n    kind: KIND_GPU", config, StringComparison.Ordinal);
    }

    [Fact]
    public void OtherDynamicAxesAreMinusOneAndInt64IsTypeInt64()
    {
        // ids [batch, seq] (int64) -> Cast -> y [batch, seq]; idx [batch] -> dims [1] reshaped to [].
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(Model(Graph("seq",
            [Node("Cast", ["ids"], ["y"], IntAttr("to", FloatType)), Node("ReduceSum", ["y", "axis1"], ["s"], IntAttr("keepdims", 0))],
            [Value("ids", Int64Type, "batch", "seq")],
            [Value("y", FloatType, "batch", "seq"), Value("s", FloatType, "batch")],
            [Int64Init("axis1", [1], 1)])));
        var model = dir.File("seq.onnx", bytes);
        var folder = TritonExporter.Export(model, Repo, new TritonExportOptions());
        var config = File.ReadAllText(Path.Combine(folder, "config.pbtxt"));
        Assert.Contains("max_batch_size: 64\n", config, StringComparison.Ordinal);
        Assert.Contains("name: \"ids\"\n    data_type: TYPE_INT64\n    dims: [ -1 ]", config, StringComparison.Ordinal);
        Assert.Contains("name: \"y\"\n    data_type: TYPE_FP32\n    dims: [ -1 ]", config, StringComparison.Ordinal);
        Assert.Contains("name: \"s\"\n    data_type: TYPE_FP32\n    dims: [ 1 ]\n    reshape: { shape: [ ] }", config, StringComparison.Ordinal);
    }

    [Fact]
    public void ReExportReplacesFilesAndLeavesNoTemporaries()
    {
        var model = dir.File("dense.onnx", TestModels.Dense());
        TritonExporter.Export(model, Repo, new TritonExportOptions { MaxBatchSize = 8 });
        TritonExporter.Export(model, Repo, new TritonExportOptions { MaxBatchSize = 16 });
        Assert.Contains("max_batch_size: 16\n", File.ReadAllText(Path.Combine(Repo, "dense", "config.pbtxt")), StringComparison.Ordinal);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(Repo, "dense"), "*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public void ZeroQueueDelayIsAcceptedAndNegativeIsNot()
    {
        // Triton's max_queue_delay_microseconds is a uint64 whose 0 means: batch only what is already queued.
        var model = dir.File("dense.onnx", TestModels.Dense());
        var err = new StringWriter();
        Assert.Equal(CliApp.Ok, new CliApp().Run(["export-triton", model, "--repo", Repo, "--max-queue-delay-us", "0"], new StringWriter(), err));
        Assert.Contains("dynamic_batching {\n  max_queue_delay_microseconds: 0\n}", File.ReadAllText(Path.Combine(Repo, "dense", "config.pbtxt")), StringComparison.Ordinal);
        Assert.Equal(CliApp.Usage, new CliApp().Run(["export-triton", model, "--repo", Repo, "--max-queue-delay-us", "-1"], new StringWriter(), err));
        Assert.Contains("--max-queue-delay-us", err.ToString(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TritonExporter.Export(model, Repo, new TritonExportOptions { MaxQueueDelayMicroseconds = -1 }));
    }

    [Fact]
    public void UsageAndMissingModelErrors()
    {
        var err = new StringWriter();
        Assert.Equal(CliApp.Usage, new CliApp().Run(["export-triton", "m.onnx"], new StringWriter(), err));
        Assert.Contains("--repo", err.ToString(), StringComparison.Ordinal);
        Assert.Equal(CliApp.Failure, new CliApp().Run(["export-triton", Path.Combine(dir.Path, "missing.onnx"), "--repo", Repo],
                                                      new StringWriter(), new StringWriter()));
        Assert.False(Directory.Exists(Repo));
    }
}
