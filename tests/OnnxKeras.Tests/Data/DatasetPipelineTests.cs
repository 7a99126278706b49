using System.Diagnostics;
using OnnxKeras.Data;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Data;

/// <summary>
/// Datasets from .NET sequences and the tf.data transformations on them (from_generator with output_signature, cache,
/// map with num_parallel_calls, prefetch, filter, unbatch, zip, concatenate), against tf.data's documented semantics.
/// </summary>
public class DatasetPipelineTests
{
    private static List<long> Scalars(Dataset ds) => ds.Elements().Select(e => e[0].item<long>()).ToList();

    private static long[] Range(int start, int count) => Enumerable.Range(start, count).Select(i => (long)i).ToArray();

    private static readonly TensorSpec[] ScalarLong = [new TensorSpec(new Shape(), "int64")];

    /// <summary>Yields the scalars 0..n-1, counting how often it was started and whether its last pass was disposed.</summary>
    private sealed class CountingSource(int n, int delayMs = 0)
    {
        public int Started;
        public int Finished;
        public IEnumerable<Tensor[]> Run()
        {
            Interlocked.Increment(ref Started);
            try
            {
                for (int i = 0; i < n; i++)
                {
                    if (delayMs > 0) Thread.Sleep(delayMs);
                    yield return [tensor((long)i)];
                }
            }
            finally
            {
                Interlocked.Increment(ref Finished);
            }
        }
    }

    // ------------------------------------------------------------------ FromGenerator / FromEnumerable

    [Fact]
    public void FromGenerator_YieldsTheGeneratorsElements_OnEveryPass_WithUnknownCardinality()
    {
        var source = new CountingSource(5);
        var ds = Dataset.FromGenerator(source.Run, ScalarLong);
        Assert.Equal(Dataset.Unknown, ds.Cardinality);
        Assert.False(ds.IsBatched);
        Assert.Equal(Range(0, 5), Scalars(ds));
        Assert.Equal(Range(0, 5), Scalars(ds));
        Assert.Equal(2, source.Started);
        var batches = ds.Batch(2).Elements().Select(e => e[0].data<long>().ToArray()).ToList();
        Assert.Equal([[0L, 1], [2, 3], [4]], batches);
    }

    [Fact]
    public void FromGenerator_OfArrays_ConvertsAndChecksTheSignature()
    {
        static IEnumerable<Array[]> Rows()
        {
            for (int i = 0; i < 3; i++) yield return [new float[] { i, 10 * i }, new[] { i % 2 }];
        }
        var ds = Dataset.FromGenerator(Rows, [new TensorSpec(new Shape(2)), new TensorSpec(new Shape(1), "int64")]).Batch(3);
        var batch = Assert.Single(ds.Elements());
        Assert.Equal(new float[] { 0, 0, 1, 10, 2, 20 }, batch[0].data<float>().ToArray());
        Assert.Equal(new long[] { 0, 1, 0 }, batch[1].data<long>().ToArray());
    }

    [Fact]
    public void FromGenerator_ElementNotMatchingTheSignature_ThrowsNamingElementAndTensor()
    {
        IEnumerable<Tensor[]> WrongDtype() { yield return [zeros(2)]; yield return [zeros(2, dtype: ScalarType.Float64)]; }
        var ex = Assert.Throws<InvalidOperationException>(() => Dataset.FromGenerator(WrongDtype, [new TensorSpec(new Shape(2))]).Elements().ToList());
        Assert.Contains("tensor 0 of element 1", ex.Message);
        Assert.Contains("dtype float64 where float32 was expected", ex.Message);

        IEnumerable<Tensor[]> WrongShape() { yield return [zeros(3, 4)]; }
        ex = Assert.Throws<InvalidOperationException>(() => Dataset.FromGenerator(WrongShape, [new TensorSpec(new Shape(null, 5))]).Elements().ToList());
        Assert.Contains("shape (3, 4) where (None, 5) was expected", ex.Message);

        IEnumerable<Tensor[]> WrongRank() { yield return [zeros(3)]; }
        Assert.Throws<InvalidOperationException>(() => Dataset.FromGenerator(WrongRank, [new TensorSpec(new Shape(null, 3))]).Elements().ToList());

        IEnumerable<Tensor[]> WrongCount() { yield return [zeros(2)]; }
        ex = Assert.Throws<InvalidOperationException>(() => Dataset.FromGenerator(WrongCount, [new TensorSpec(new Shape(2)), new TensorSpec(new Shape(2))]).Elements().ToList());
        Assert.Contains("element 0 has 1 tensor(s); the output signature has 2", ex.Message);

        Assert.Throws<ArgumentException>(() => Dataset.FromGenerator(WrongCount, []));
        Assert.Throws<ArgumentException>(() => Dataset.FromGenerator(WrongCount, [new TensorSpec(new Shape(2), "float8")]));
    }

    [Fact]
    public void FromEnumerable_OfKeptTensors_NeverDisposesThem()
    {
        var kept = Enumerable.Range(0, 4).Select(i => new[] { tensor((long)i) }).ToList();
        var ds = Dataset.FromEnumerable(kept, ScalarLong).Batch(2);
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var _ in ds.Elements())
            {
                using var scope = NewDisposeScope(); // a reader that frees what it gets, as Fit's step scope does
            }
            using (var scope = NewDisposeScope()) Assert.Equal(2, ds.Elements().Count());
        }
        Assert.Equal(Range(0, 4), kept.Select(e => e[0].item<long>()).ToArray());
    }

    // ------------------------------------------------------------------ Fit, Evaluate, Predict

    private static Sequential Linear() => new(new InputLayer([2]), new Dense(1, kernelInitializer: new Constant(0.5)));

    private static (float[,] X, float[,] Y) Data(int n)
    {
        var x = new float[n, 2];
        var y = new float[n, 1];
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = i / 10f;
            x[i, 1] = 1 - i / 20f;
            y[i, 0] = 2 * x[i, 0] - x[i, 1];
        }
        return (x, y);
    }

    [Fact]
    public void Fit_OnAGeneratorOfBatches_GivesTheSameLossesAsTheArrays()
    {
        var (x, y) = Data(12);
        using var arrays = Linear();
        arrays.Compile(new SGD(0.1), "mse");
        var expected = arrays.Fit(x, y, batchSize: 4, epochs: 3, shuffle: false, verbose: 0);

        IEnumerable<Tensor[]> Batches()
        {
            for (int b = 0; b < 3; b++)
            {
                var xb = new float[4, 2];
                var yb = new float[4, 1];
                for (int i = 0; i < 4; i++) { xb[i, 0] = x[4 * b + i, 0]; xb[i, 1] = x[4 * b + i, 1]; yb[i, 0] = y[4 * b + i, 0]; }
                yield return [TensorConvert.ToTensor(xb), TensorConvert.ToTensor(yb)];
            }
        }
        var spec = new[] { new TensorSpec(new Shape(null, 2)), new TensorSpec(new Shape(null, 1)) };
        using var generated = Linear();
        generated.Compile(new SGD(0.1), "mse");
        var ds = Dataset.FromGenerator(Batches, spec, batched: true).Map(e => [e[0] * 1, e[1]], numParallelCalls: 2).Prefetch(2);
        var actual = generated.Fit(ds, epochs: 3, verbose: 0);
        Assert.Equal(3, actual["loss"].Count);
        for (int e = 0; e < 3; e++) Assert.Equal(expected["loss"][e], actual["loss"][e], 1e-6);
        Assert.Equal(arrays.Evaluate(x, y, verbose: 0)["loss"], generated.Evaluate(ds)["loss"], 1e-6);
        var p = generated.Predict(Dataset.FromGenerator(Batches, spec, batched: true).Prefetch(1));
        Assert.Equal(arrays.Predict(x).Data, p.Data);
    }

    [Fact]
    public void Fit_MapFunctionThrows_SurfacesItsExceptionWithStackTrace_AndStopsTheBackgroundWork()
    {
        var source = new CountingSource(100);
        int calls = 0;
        Tensor[] Explode(Tensor[] e)
        {
            if (Interlocked.Increment(ref calls) == 3) throw new FormatException("bad record");
            var v = e[0].to_type(ScalarType.Float32);
            return [v.expand(2), v.reshape(1)];
        }
        var ds = Dataset.FromGenerator(source.Run, ScalarLong).Map(Explode, numParallelCalls: 2).Batch(1).Prefetch(4);
        using var model = Linear();
        model.Compile(new SGD(0.01), "mse");
        var ex = Assert.Throws<FormatException>(() => model.Fit(ds, epochs: 1, verbose: 0));
        Assert.Equal("bad record", ex.Message);
        Assert.Contains(nameof(Explode), ex.StackTrace);
        // Fit disposed the reader: the source's pass was closed on the feeder thread before Fit returned, and no call runs later.
        Assert.Equal(1, Volatile.Read(ref source.Finished));
        int after = Volatile.Read(ref calls);
        Thread.Sleep(100);
        Assert.Equal(after, Volatile.Read(ref calls));
        Assert.True(after < 100);
    }

    [Fact]
    public void Fit_WithStepsPerEpochOnAnEndlessPrefetchedGenerator_ClosesItWhenFitReturns()
    {
        var source = new CountingSource(int.MaxValue);
        var ds = Dataset.FromGenerator(source.Run, ScalarLong)
            .Map(e => { var v = e[0].to_type(ScalarType.Float32); return [v.expand(2), v.reshape(1)]; }, numParallelCalls: 2)
            .Batch(4).Prefetch(2);
        using var model = Linear();
        model.Compile(new SGD(0.0001), "mse");
        var h = model.Fit(ds, epochs: 3, stepsPerEpoch: 2, verbose: 0);
        Assert.Equal(3, h["loss"].Count);
        Assert.Equal(1, Volatile.Read(ref source.Started)); // one iterator across the epochs, as Keras keeps
        Assert.Equal(1, Volatile.Read(ref source.Finished));
        Assert.Throws<InvalidOperationException>(() => Dataset.FromTensorSlices(arange(3)).Map(e => null!, numParallelCalls: 2).Elements().ToList());
    }

    [Fact]
    public void Prefetch_ReaderStopsEarly_ClosesTheSourceBeforeReturning()
    {
        var source = new CountingSource(1000);
        var ds = Dataset.FromGenerator(source.Run, ScalarLong).Prefetch(3);
        Assert.Equal(Range(0, 5), Scalars(ds.Take(5)));
        Assert.Equal(1, Volatile.Read(ref source.Finished));
        Assert.Equal(Range(0, 7), Scalars(ds.Map(e => e, numParallelCalls: 3).Take(7)));
        Assert.Equal(2, Volatile.Read(ref source.Finished));
    }

    [Fact]
    public void Prefetch_GeneratorError_SurfacesAfterTheElementsBeforeIt()
    {
        IEnumerable<Tensor[]> Failing()
        {
            yield return [tensor(0L)];
            yield return [tensor(1L)];
            throw new IOException("disk gone");
        }
        var seen = new List<long>();
        var ex = Assert.Throws<IOException>(() =>
        {
            foreach (var e in Dataset.FromGenerator(Failing, ScalarLong).Prefetch(4).Elements()) seen.Add(e[0].item<long>());
        });
        Assert.Equal("disk gone", ex.Message);
        Assert.Equal(new long[] { 0, 1 }, seen);
    }

    // ------------------------------------------------------------------ Map in parallel, Prefetch overlap

    [Fact]
    public void ParallelMap_KeepsTheInputOrder_AndRunsCallsAtOnce()
    {
        int running = 0, most = 0;
        var jitter = new Random(3);
        var delays = Enumerable.Range(0, 24).Select(_ => jitter.Next(1, 15)).ToArray();
        Tensor[] Slow(Tensor[] e)
        {
            int now = Interlocked.Increment(ref running);
            lock (delays) most = Math.Max(most, now);
            Thread.Sleep(delays[e[0].item<long>()]);
            Interlocked.Decrement(ref running);
            return [e[0] * 10];
        }
        var ds = Dataset.FromTensorSlices(arange(24)).Map(Slow, numParallelCalls: 4);
        Assert.Equal(24, ds.Cardinality);
        Assert.Equal(Range(0, 24).Select(v => v * 10), Scalars(ds));
        Assert.InRange(most, 2, 4);
        Assert.Throws<ArgumentException>(() => ds.Map(e => e, numParallelCalls: 0));
    }

    [Fact]
    public void Prefetch_OverlapsASlowInputWithASlowReader()
    {
        // 10 elements that take 30 ms each to produce, read by a loop that takes 30 ms per element: in sequence about
        // 600 ms; with a background reader the two overlap (about 330 ms).
        double Measure(Dataset ds)
        {
            var watch = Stopwatch.StartNew();
            foreach (var _ in ds.Elements()) Thread.Sleep(30);
            return watch.Elapsed.TotalMilliseconds;
        }
        var slow = Dataset.FromGenerator(new CountingSource(10, delayMs: 30).Run, ScalarLong);
        double sequential = Measure(slow), overlapped = Measure(slow.Prefetch(2));
        Console.WriteLine($"Prefetch benchmark: sequential {sequential:F0} ms, prefetched {overlapped:F0} ms");
        Assert.True(sequential >= 600);
        Assert.True(overlapped < 0.8 * sequential, $"prefetched {overlapped:F0} ms vs sequential {sequential:F0} ms");
        Assert.Equal(Range(0, 10), Scalars(slow.Prefetch(2)));
    }

    // ------------------------------------------------------------------ Cache

    [Fact]
    public void Cache_RunsTheSourceOnce_AfterACompletePass()
    {
        var source = new CountingSource(6);
        var ds = Dataset.FromGenerator(source.Run, ScalarLong).Map(e => [e[0] * 2]).Cache();
        Assert.Equal(Range(0, 3).Select(v => v * 2), Scalars(ds.Take(3))); // a partial pass caches nothing
        Assert.Equal(Range(0, 6).Select(v => v * 2), Scalars(ds));
        Assert.Equal(2, source.Started);
        using (NewDisposeScope()) Assert.Equal(Range(0, 6).Select(v => v * 2), Scalars(ds)); // the reader's scope frees its handles only
        Assert.Equal(Range(0, 6).Select(v => v * 2), Scalars(ds.Shuffle(6, seed: 1).Batch(6).Unbatch()).Order());
        Assert.Equal(2, source.Started);
        Assert.Throws<ArgumentException>(() => ds.Repeat().Cache());
    }

    // ------------------------------------------------------------------ Filter, Unbatch, Zip, Concatenate, Shuffle

    [Fact]
    public void Filter_KeepsMatchingElements_WithUnknownCardinality()
    {
        var ds = Dataset.FromTensorSlices(arange(10)).Filter(e => e[0].item<long>() % 3 == 0);
        Assert.Equal(Dataset.Unknown, ds.Cardinality);
        Assert.Equal(new long[] { 0, 3, 6, 9 }, Scalars(ds));
        Assert.Equal(Dataset.Unknown, ds.Batch(2).Cardinality);
        Assert.Equal(Dataset.Infinite, ds.Repeat().Cardinality);
    }

    [Fact]
    public void Unbatch_SplitsBatchesIntoRows_EvenWhenTheReaderFreesEachStep()
    {
        var ds = Dataset.FromTensorSlices(arange(7), arange(7) * 10).Batch(3).Unbatch();
        Assert.False(ds.IsBatched);
        var rows = new List<(long, long)>();
        using (var it = ds.Elements().GetEnumerator())
        {
            while (true)
            {
                using var scope = NewDisposeScope();
                if (!it.MoveNext()) break;
                rows.Add((it.Current[0].item<long>(), it.Current[1].item<long>()));
            }
        }
        Assert.Equal(Enumerable.Range(0, 7).Select(i => ((long)i, 10L * i)), rows);
        Assert.Throws<InvalidOperationException>(() => Dataset.FromTensorSlices(arange(3)).Unbatch());
    }

    [Fact]
    public void Zip_PairsElements_AndStopsWithTheShortest()
    {
        var ds = Dataset.Zip(Dataset.FromTensorSlices(arange(5)), Dataset.FromTensorSlices(arange(3) * 10));
        Assert.Equal(3, ds.Cardinality);
        Assert.Equal([(0L, 0L), (1, 10), (2, 20)], ds.Elements().Select(e => (e[0].item<long>(), e[1].item<long>())));
        Assert.Throws<ArgumentException>(() => Dataset.Zip(Dataset.FromTensorSlices(arange(3)), Dataset.FromTensorSlices(arange(3)).Batch(2)));
        Assert.Throws<ArgumentException>(() => Dataset.Zip(Dataset.FromTensorSlices(arange(3))));
    }

    [Fact]
    public void Concatenate_ReadsOneDatasetAfterTheOther()
    {
        var ds = Dataset.FromTensorSlices(arange(3)).Concatenate(Dataset.FromTensorSlices(arange(2) + 10));
        Assert.Equal(5, ds.Cardinality);
        Assert.Equal(new long[] { 0, 1, 2, 10, 11 }, Scalars(ds));
        var mismatched = Dataset.FromTensorSlices(arange(2)).Concatenate(Dataset.FromTensorSlices(arange(2), arange(2)));
        Assert.Throws<InvalidOperationException>(() => mismatched.Elements().ToList());
        Assert.Equal(Dataset.Unknown, Dataset.FromGenerator(new CountingSource(2).Run, ScalarLong).Concatenate(Dataset.FromTensorSlices(arange(2))).Cardinality);
    }

    [Fact]
    public void Shuffle_OfAGenerator_IsSeededAndSurvivesAReaderThatFreesEachStep()
    {
        var source = new CountingSource(20);
        List<long> Read(Dataset ds)
        {
            var got = new List<long>();
            using var it = ds.Elements().GetEnumerator();
            while (true)
            {
                using var scope = NewDisposeScope();
                if (!it.MoveNext()) break;
                got.Add(it.Current[0].item<long>());
            }
            return got;
        }
        var a = Read(Dataset.FromGenerator(source.Run, ScalarLong).Map(e => [e[0] + 0]).Shuffle(8, seed: 5));
        var b = Read(Dataset.FromGenerator(source.Run, ScalarLong).Map(e => [e[0] + 0]).Shuffle(8, seed: 5));
        Assert.Equal(a, b);
        Assert.Equal(Range(0, 20), a.Order());
        Assert.NotEqual(Range(0, 20), a);
    }
}
