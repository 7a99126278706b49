using System.Runtime.InteropServices;
using Xunit;

namespace OnnxKeras.Inference.Tests;

/// <summary>
/// Provider selection. The test machines have no CUDA 13 / cuDNN 9 libraries, so Auto must fall back to the CPU with
/// ONNX Runtime's reason and Cuda must throw; on a machine that has them these tests check the CUDA path instead.
/// </summary>
public class DeviceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static bool CudaLibrariesPresent() =>
        new[] { "libcuda.so.1", "libcudart.so.13", "libcublasLt.so.13", "libcudnn.so.9" }.All(l => NativeLibrary.TryLoad(l, out _));

    [Fact]
    public void DefaultDeviceIsCpuAndLogsNothing()
    {
        var log = new List<string>();
        using var m = OnnxModel.Load(TestModels.Dense(), new InferenceOptions { IntraOpThreads = 1, Log = log.Add });
        Assert.Equal("CPUExecutionProvider", m.ActiveProvider);
        Assert.Equal(ExecutionDevice.Cpu, m.ActiveDevice);
        Assert.Empty(log);
    }

    [Fact]
    public void AutoFallsBackToCpuWithOrtsReasonWhenCudaIsMissing()
    {
        var log = new List<string>();
        using var m = OnnxModel.Load(TestModels.Dense(), new InferenceOptions
        {
            Device = ExecutionDevice.Auto,
            IntraOpThreads = 1,
            Log = log.Add,
            CudnnConvAlgoSearch = CudnnConvAlgoSearch.Heuristic,
            CudaMemoryLimitBytes = 1L << 30,
            CudaUseTf32 = false,
        });
        if (CudaLibrariesPresent())
        {
            Assert.Equal("CUDAExecutionProvider", m.ActiveProvider);
            return;
        }
        Assert.Equal("CPUExecutionProvider", m.ActiveProvider);
        var warning = Assert.Single(log);
        output.WriteLine(warning);
        Assert.Contains("CUDA is not usable", warning);

        // The warning carries the same reason that Device = Cuda reports, which is ONNX Runtime's exception text.
        var e = Assert.Throws<ExecutionProviderException>(() =>
            OnnxModel.Load(TestModels.Dense(), new InferenceOptions { Device = ExecutionDevice.Cuda, IntraOpThreads = 1 }));
        Assert.False(string.IsNullOrWhiteSpace(e.Reason));
        Assert.EndsWith("Reason: " + e.Reason, warning);
        if (Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            // Gpu package: the reason is ONNX Runtime's (here: the CUDA provider library cannot load its CUDA 13 deps).
            Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(e.InnerException);
            Assert.Equal(e.InnerException!.Message, e.Reason);
        }
        else
        {
            // CPU package (OnnxKerasOnnxRuntime=Cpu): there is no CUDA provider to try.
            Assert.Contains("no CUDA execution provider", e.Reason);
        }

        // The fallback session works.
        var y = m.Predict(new float[,] { { 1, 2, 3 } });
        Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 1), y[0, 0], 1e-6);
    }

    [Fact]
    public void CudaOrRequireCudaThrowsWithTheReasonWhenCudaIsMissing()
    {
        if (CudaLibrariesPresent()) return;
        foreach (var options in new[]
                 {
                     new InferenceOptions { Device = ExecutionDevice.Cuda, IntraOpThreads = 1 },
                     new InferenceOptions { Device = ExecutionDevice.Auto, RequireCuda = true, IntraOpThreads = 1 },
                 })
        {
            var e = Assert.Throws<ExecutionProviderException>(() => OnnxModel.Load(TestModels.Dense(), options));
            Assert.Equal("CUDAExecutionProvider", e.Provider);
            Assert.Contains("CUDAExecutionProvider execution provider was required", e.Message);
            Assert.Contains(e.Reason, e.Message);
        }
    }

    [Fact]
    public void ACorruptModelIsReportedAsSuchEvenWhenCudaIsRequested()
    {
        // Whatever happens with CUDA, a model that the CPU cannot load either is a model problem.
        var bytes = TestModels.Dense()[..40];
        Assert.Throws<InvalidDataException>(() =>
            OnnxModel.Load(bytes, new InferenceOptions { Device = ExecutionDevice.Cuda, IntraOpThreads = 1 }));
        Assert.Throws<InvalidDataException>(() =>
            OnnxModel.Load(bytes, new InferenceOptions { Device = ExecutionDevice.Auto, IntraOpThreads = 1 }));
    }
}
