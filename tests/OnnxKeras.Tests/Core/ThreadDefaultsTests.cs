using OnnxKeras.Layers;
using OnnxKeras.Models;
using TorchSharp;
using Xunit;

namespace OnnxKeras.Tests.Core;

/// <summary>
/// The automatic libtorch thread count (docs/training.md, "Devices and threads"): the chooser's decisions, the work
/// estimate from hand-counted multiply-adds, and the precedence of <see cref="Keras.SetThreads"/>. No timings.
/// </summary>
public class ThreadDefaultsTests
{
    [Theory]
    // One thread per 8,000,000 multiply-adds of the largest product, floor, at least 1, at most the CPUs.
    [InlineData(8, 73_728, 1)]            // quick-start MLP at batch 32: 32 x 32 x 72
    [InlineData(8, 7_999_999, 1)]
    [InlineData(8, 8_000_000, 1)]
    [InlineData(8, 15_999_999, 1)]
    [InlineData(8, 16_000_000, 2)]
    [InlineData(16, 51_380_224, 6)]        // MNIST MLP at batch 128: 128 x 512 x 784 = 51,380,224 -> floor(6.42)
    [InlineData(2, 411_041_792, 2)]        // batch 1024: capped by the 2 CPUs
    [InlineData(1, 1e12, 1)]
    [InlineData(0, 1e12, 1)]
    [InlineData(8, 0, 1)]
    [InlineData(8, double.NaN, 1)]
    public void Choose_OneThreadPerEightMillionMultiplyAdds_CappedByCpus(int cpus, double macs, int expected) =>
        Assert.Equal(expected, ThreadDefaults.Choose(cpus, macs));

    [Fact]
    public void LargestMacsPerOp_Mlp_IsTheWidestDenseProduct()
    {
        using var model = new Sequential(new InputLayer([72]), new Dense(32), new Dense(32), new Dense(10));
        // Dense 72->32 at batch 32: 32 samples x 32 outputs x fan-in 72 = 73,728 (32->32: 32,768; 32->10: 10,240).
        Assert.Equal(73_728, ThreadDefaults.LargestMacsPerOp(model, 32));
    }

    [Fact]
    public void LargestMacsPerOp_Conv_CountsEveryOutputPosition()
    {
        using var model = new Sequential(new InputLayer([28, 28, 1]), new Conv2D(32, 3), new Flatten(), new Dense(10));
        // Conv 3x3, 1 -> 32 kernel (288 values) at 28 x 28 / 1 = 784 input positions: 225,792 per sample;
        // Dense 21,632 -> 10: 216,320.
        Assert.Equal(4 * 225_792, ThreadDefaults.LargestMacsPerOp(model, 4));
        using var wide = new Sequential(new InputLayer([28, 28, 3]), new Conv2D(64, 3), new GlobalAveragePooling2D(), new Dense(10));
        // 3 x 3 x 3 x 64 = 1,728 kernel values at 28 x 28 x 3 / 3 = 784 positions: 1,354,752 per sample.
        Assert.Equal(2 * 1_354_752, ThreadDefaults.LargestMacsPerOp(wide, 2));
    }

    [Fact]
    public void LargestMacsPerOp_Lstm_CountsTheWholeSequencesInputProjection()
    {
        using var model = new Sequential(new InputLayer([100, 64]), new LSTM(128));
        // kernel 64 x 512 at 100 x 64 / 64 = 100 timesteps: 3,276,800 per sample (recurrent kernel 128 x 512 at
        // 6,400 / 128 = 50: the same), x 64 samples = 209,715,200.
        Assert.Equal(209_715_200, ThreadDefaults.LargestMacsPerOp(model, 64));
    }

    [Fact]
    public void LargestMacsPerOp_LeavesEmbeddingLookupsOut()
    {
        using var model = new Sequential(new InputLayer([5]), new Embedding(1000, 64), new Dense(8));
        // Only Dense's kernel: 5 x 8 outputs x fan-in 64 = 2,560 per sample (the 64,000-value table is a lookup).
        Assert.Equal(3 * 2_560, ThreadDefaults.LargestMacsPerOp(model, 3));
    }

    [Fact]
    public void FitUsesTheAutomaticCount_UntilSetThreadsChoosesOne()
    {
        var x = new float[64, 4];
        var y = new float[64, 1];
        using var tiny = new Sequential(new InputLayer([4]), new Dense(1));
        tiny.Compile("sgd", "mse");
        using var big = new Sequential(new InputLayer([784]), new Dense(512), new Dense(1));
        big.Compile("sgd", "mse");
        bool ompSet = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"));
        var monitor = ThreadDefaults.Monitor;
        ThreadDefaults.Monitor = null; // no load cap: the machine's other work must not change the count
        try
        {
            Keras.SetThreads(3);
            tiny.Fit(x, y, batchSize: 32, epochs: 1, verbose: 0);
            Assert.Equal(3, torch.get_num_threads()); // explicit wins

            Keras.SetThreads(0);
            tiny.Fit(x, y, batchSize: 32, epochs: 1, verbose: 0);
            // 32 x 1 x 4 = 128 multiply-adds: one thread (OMP_NUM_THREADS in the environment would keep the 3).
            Assert.Equal(ompSet ? 3 : 1, torch.get_num_threads());

            // 1,024 x 512 x 784 = 411,041,792: floor(51.4) threads, at most the CPUs .NET reports.
            big.Predict(new float[1024, 784], batchSize: 1024);
            Assert.Equal(ompSet ? 3 : Math.Min(Environment.ProcessorCount, 51), torch.get_num_threads());
            Assert.Equal(0, Keras.ExplicitThreads);
        }
        finally
        {
            ThreadDefaults.Monitor = monitor;
            TestSetup.Init();
        }
        Assert.Equal(2, torch.get_num_threads());
    }

    [Fact]
    public void FitCapsTheCountByTheFreeCpus_SetThreadsStillWins()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
            throw new InvalidOperationException("run the tests without OMP_NUM_THREADS: it turns the automatic count off");
        var x = new float[64, 784];
        var y = new float[64, 1];
        using var big = new Sequential(new InputLayer([784]), new Dense(512), new Dense(1));
        big.Compile("sgd", "mse");
        var monitor = ThreadDefaults.Monitor;
        // Every sample one second later with cpu1 busy in another process: 1 CPU free. The second step's sample caps.
        long now = 0;
        ThreadDefaults.Monitor = new CpuLoadMonitor(new CpuLoadTests.OneCpuBusy().Read, () => now += System.Diagnostics.Stopwatch.Frequency);
        try
        {
            Keras.SetThreads(0);
            // 64 x 512 x 784 = 25,690,112 multiply-adds: floor(3.2) = 3 threads by work, at most ProcessorCount; the
            // first step's sample gives no cap yet, the second's finds 1 CPU free: 1 thread.
            big.Fit(x, y, batchSize: 64, epochs: 2, verbose: 0);
            Assert.Equal(1, torch.get_num_threads());
            Assert.Equal(1, ThreadDefaults.Monitor.Cap);

            Keras.SetThreads(3);
            big.Fit(x, y, batchSize: 64, epochs: 2, verbose: 0);
            Assert.Equal(3, torch.get_num_threads()); // explicit wins over the load cap
        }
        finally
        {
            ThreadDefaults.Monitor = monitor;
            TestSetup.Init();
        }
    }

    [Theory]
    [InlineData(0, false, DeviceType.CPU, true)]
    [InlineData(3, false, DeviceType.CPU, false)]   // Keras.SetThreads(3)
    [InlineData(0, true, DeviceType.CPU, false)]    // OMP_NUM_THREADS in the environment
    [InlineData(0, false, DeviceType.CUDA, false)]
    public void Automatic_OnlyWithoutAnExplicitCount_OnTheCpu(int explicitThreads, bool ompSet, DeviceType device, bool expected) =>
        Assert.Equal(expected, ThreadDefaults.Automatic(explicitThreads, ompSet, device));

    [Fact]
    public void SetThreads_Negative_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Keras.SetThreads(-1));
}
