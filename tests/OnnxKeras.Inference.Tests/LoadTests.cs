using Xunit;

namespace OnnxKeras.Inference.Tests;

public class LoadTests
{
    [Fact]
    public void LoadsFromFileAndFromBytesWithTheSameResult()
    {
        using var dir = new TempDir();
        var path = dir.File("dense.onnx", TestModels.Dense());
        using var fromFile = OnnxModel.Load(path, TestModels.Cpu());
        using var fromBytes = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        float[,] x = { { 1, 2, 3 } };
        Assert.Equal(fromFile.Predict(x), fromBytes.Predict(x));
        Assert.Equal(Path.GetFullPath(path), fromFile.Source);
    }

    [Fact]
    public void MissingFileThrowsFileNotFoundNamingThePath()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "nope.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(path, TestModels.Cpu()));
        Assert.Equal(path, e.FileName);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void CorruptFileThrowsInvalidDataNamingTheFileAndOrtsReason()
    {
        using var dir = new TempDir();
        var path = dir.File("garbage.onnx", "this is not a protobuf message at all \u00ff\u00fe"u8.ToArray());
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(path, TestModels.Cpu()));
        Assert.Contains(path, e.Message);
        Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(e.InnerException);
        Assert.Contains(e.InnerException!.Message, e.Message);
    }

    [Fact]
    public void TruncatedFileThrowsInvalidData()
    {
        using var dir = new TempDir();
        var bytes = TestModels.Dense();
        // Cut inside the graph (the last bytes are the opset import; half the file ends mid-message).
        var path = dir.File("truncated.onnx", bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(path, TestModels.Cpu()));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void EmptyFileAndEmptyBytesThrowInvalidData()
    {
        using var dir = new TempDir();
        var path = dir.File("empty.onnx", []);
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(path, TestModels.Cpu()));
        Assert.Contains(path, e.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(Array.Empty<byte>(), TestModels.Cpu()));
        Assert.Contains("empty", e2.Message);
    }

    [Fact]
    public void TruncatedBytesThrowInvalidDataWithTheirSize()
    {
        var bytes = TestModels.Dense()[..40];
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(bytes, TestModels.Cpu()));
        Assert.Contains("40 bytes", e.Message);
    }

    [Fact]
    public void UnsupportedIrVersionIsReportedWithOrtsReason()
    {
        // ONNX Runtime 1.32 reads IR versions up to 14 (1.31 stopped at 13); 99 is beyond any release.
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(TestModels.DenseProto(irVersion: 99));
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(bytes, TestModels.Cpu()));
        Assert.Contains("IR version", e.Message);
    }

    [Fact]
    public void InvalidOptionsAreRejectedBeforeLoading()
    {
        var model = TestModels.Dense();
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxModel.Load(model, new InferenceOptions { IntraOpThreads = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxModel.Load(model, new InferenceOptions { InterOpThreads = -2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxModel.Load(model, new InferenceOptions { MaxBatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxModel.Load(model, new InferenceOptions { CudaDeviceId = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxModel.Load(model, new InferenceOptions { CudaMemoryLimitBytes = 0 }));
        var e = Assert.Throws<ArgumentException>(() => OnnxModel.Load(model, new InferenceOptions { Device = ExecutionDevice.Cpu, RequireCuda = true }));
        Assert.Contains("RequireCuda", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() =>
            OnnxModel.Load(model, new InferenceOptions { OptimizedModelPath = "/nonexistent-dir-onnxkeras/opt.onnx" }));
    }

    [Fact]
    public void OptimizedModelPathReceivesALoadableOptimizedModel()
    {
        using var dir = new TempDir();
        var optimized = Path.Combine(dir.Path, "dense.opt.onnx");
        using (var m = OnnxModel.Load(TestModels.Dense(), new InferenceOptions { IntraOpThreads = 1, OptimizedModelPath = optimized }))
            Assert.NotNull(m.Predict(new float[,] { { 1, 2, 3 } }));
        Assert.True(File.Exists(optimized));
        using var reloaded = OnnxModel.Load(optimized, TestModels.Cpu());
        var y = reloaded.Predict(new float[,] { { 1, 2, 3 } });
        // Row [1, 2, 3]: relu(x W + b) = [4, 0]; softmax = [e^4, 1] / (e^4 + 1).
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), y[0, 0], 1e-6);
    }

    [Fact]
    public void GraphOptimizationLevelDoesNotChangeResults()
    {
        using var none = OnnxModel.Load(TestModels.Dense(), new InferenceOptions
        {
            IntraOpThreads = 1,
            GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL,
        });
        using var all = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        float[,] x = { { 1, 2, 3 }, { -1, 1, 0 } };
        var a = none.Predict(x);
        var b = all.Predict(x);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                Assert.Equal(a[i, j], b[i, j], 1e-6f);
    }

    [Fact]
    public void DisposedModelThrowsObjectDisposed()
    {
        var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        m.Dispose();
        m.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => m.Predict(new float[,] { { 1, 2, 3 } }));
        Assert.Throws<ObjectDisposedException>(() => m.CreateBinding(1, 3));
    }
}
