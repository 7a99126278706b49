using Xunit;

namespace OnnxKeras.Inference.Tests;

public class ConcurrencyTests
{
    private const int Threads = 8;
    private const int CallsPerThread = 150;

    private static float[] InputFor(int thread, int call)
    {
        int rows = 1 + (thread + call) % 5; // varying batch sizes
        var x = new float[rows * 3];
        for (int i = 0; i < x.Length; i++) x[i] = ((thread * 31 + call * 7 + i * 3) % 17 - 8) / 4f;
        return x;
    }

    [Fact]
    public void ConcurrentCallersGetTheSameResultsAsSequentialOnes()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var expected = new float[Threads][][];
        for (int t = 0; t < Threads; t++)
        {
            expected[t] = new float[CallsPerThread][];
            for (int c = 0; c < CallsPerThread; c++)
            {
                var x = InputFor(t, c);
                expected[t][c] = m.Predict(x, [x.Length / 3, 3]).Data;
            }
        }
        // The sequential results are themselves checked against the independent reference.
        var r0 = TestModels.DenseReference(InputFor(3, 4));
        for (int i = 0; i < r0.Length; i++) Assert.Equal(r0[i], expected[3][4][i], 1e-6);

        var actual = new float[Threads][][];
        using var start = new Barrier(Threads);
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            actual[t] = new float[CallsPerThread][];
            start.SignalAndWait();
            for (int c = 0; c < CallsPerThread; c++)
            {
                var x = InputFor(t, c);
                actual[t][c] = c % 2 == 0
                    ? m.Predict(x, [x.Length / 3, 3]).Data
                    : m.Predict(new Dictionary<string, TensorInput> { ["x"] = new(x, x.Length / 3, 3) })["y"].Data;
            }
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();

        for (int t = 0; t < Threads; t++)
            for (int c = 0; c < CallsPerThread; c++)
                Assert.Equal(expected[t][c], actual[t][c]);
    }

    [Fact]
    public void BindingsOfOneModelRunConcurrently()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var results = new float[Threads][];
        var inputs = Enumerable.Range(0, Threads).Select(t => InputFor(t, 0)[..3]).ToArray();
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            using var binding = m.CreateBinding(1, 3);
            binding.SetInput<float>("x", inputs[t]);
            for (int i = 0; i < 100; i++) binding.Run();
            results[t] = binding.GetOutput("y").ToArray();
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        for (int t = 0; t < Threads; t++)
            Assert.Equal(m.Predict(inputs[t], [1, 3]).Data, results[t]);
    }

    [Fact]
    public void DisposeWhileCallsAreInFlightWaitsForThemAndLaterCallsThrowObjectDisposed()
    {
        var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var x = new float[64 * 3];
        var reference = TestModels.DenseReference(x);
        int completed = 0;
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        using var started = new CountdownEvent(4);
        var workers = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            started.Signal();
            while (true)
            {
                try
                {
                    var y = m.Predict(x, [64, 3]).Data;
                    if (Math.Abs(y[0] - reference[0]) > 1e-6) failures.Add(new Exception($"wrong value {y[0]}"));
                    Interlocked.Increment(ref completed);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                catch (Exception e)
                {
                    failures.Add(e);
                    return;
                }
            }
        })).ToArray();
        foreach (var w in workers) w.Start();
        started.Wait();
        while (Volatile.Read(ref completed) < 20) Thread.Yield();
        m.Dispose();
        foreach (var w in workers) w.Join();
        Assert.Empty(failures);
        Assert.Throws<ObjectDisposedException>(() => m.Predict(x, [64, 3]));
    }
}
