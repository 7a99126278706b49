using OnnxKeras.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Data;

/// <summary>
/// Dataset pipelines against tf.data's documented semantics: from_tensor_slices yields rows in order; batch groups
/// consecutive elements (last batch partial unless drop_remainder); repeat(n) concatenates n passes, repeat() is
/// infinite; shuffle(B) keeps a buffer of B elements and emits a random one, refilling from the input, and is
/// reshuffled on every pass; take/skip cut prefixes; map transforms each element.
/// </summary>
public class DatasetTests
{
    // ------------------------------------------------------------------ helpers

    /// <summary>The first tensor of every unbatched element, as a scalar.</summary>
    private static List<long> Scalars(Dataset ds) => ds.Elements().Select(e => e[0].item<long>()).ToList();

    /// <summary>The first tensor of every batched element, as a flat array.</summary>
    private static List<long[]> Batches(Dataset ds) => ds.Elements().Select(e => e[0].contiguous().data<long>().ToArray()).ToList();

    private static long[] Range(long start, long count) => Enumerable.Range((int)start, (int)count).Select(i => (long)i).ToArray();

    private static Dataset Ten() => Dataset.FromTensorSlices(arange(10));

    // ------------------------------------------------------------------ FromTensorSlices

    [Fact]
    public void FromTensorSlices_YieldsRowsInOrder_WithCardinalityEqualToRows()
    {
        var ds = Ten();
        Assert.Equal(10, ds.Cardinality);
        Assert.False(ds.IsBatched);
        Assert.Equal(Range(0, 10), Scalars(ds));
    }

    [Fact]
    public void FromTensorSlices_SeveralTensors_EachElementHoldsTheMatchingRows()
    {
        // x row i = [i, 10 i], y row i = 100 i.
        var x = tensor(Enumerable.Range(0, 4).SelectMany(i => new float[] { i, 10 * i }).ToArray(), [4, 2]);
        var y = tensor(new float[] { 0, 100, 200, 300 }, [4]);
        var elements = Dataset.FromTensorSlices(x, y).Elements().ToList();
        Assert.Equal(4, elements.Count);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(2, elements[i].Length);
            Assert.Equal(new long[] { 2 }, elements[i][0].shape);
            Assert.Equal(new float[] { i, 10 * i }, elements[i][0].data<float>().ToArray());
            Assert.Equal(100f * i, elements[i][1].item<float>());
        }
    }

    [Fact]
    public void FromTensorSlices_MismatchedLengths_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => Dataset.FromTensorSlices(arange(10), arange(9)));
        Assert.Contains("10", e.Message);
        Assert.Contains("9", e.Message);
        Assert.Throws<ArgumentException>(() => Dataset.FromTensorSlices(new float[3, 2], new int[4]));
        Assert.Throws<ArgumentException>(() => Dataset.FromTensorSlices(tensor(1.0f)));
    }

    // ------------------------------------------------------------------ Batch

    [Fact]
    public void Batch_GroupsConsecutiveElements_LastBatchPartial()
    {
        var ds = Ten().Batch(3);
        Assert.True(ds.IsBatched);
        Assert.Equal(4, ds.Cardinality); // ceil(10 / 3)
        var b = Batches(ds);
        Assert.Equal(new[] { new long[] { 0, 1, 2 }, [3, 4, 5], [6, 7, 8], [9] }, b);
    }

    [Fact]
    public void Batch_DropRemainder_DropsThePartialBatch()
    {
        var ds = Ten().Batch(3, dropRemainder: true);
        Assert.Equal(3, ds.Cardinality); // floor(10 / 3)
        Assert.Equal(new[] { new long[] { 0, 1, 2 }, [3, 4, 5], [6, 7, 8] }, Batches(ds));
        // Exact multiple: nothing is dropped.
        Assert.Equal(2, Ten().Batch(5, dropRemainder: true).Cardinality);
        Assert.Equal(2, Batches(Ten().Batch(5, dropRemainder: true)).Count);
    }

    [Fact]
    public void Batch_OfSeveralTensors_KeepsRowsAligned_AndShapes()
    {
        var x = arange(20, dtype: ScalarType.Float32).reshape(10, 2); // row i = [2i, 2i+1]
        var y = arange(10);
        var batches = Dataset.FromTensorSlices(x, y).Batch(4).Elements().ToList();
        Assert.Equal(new long[] { 4, 2 }, batches[0][0].shape);
        Assert.Equal(new long[] { 4 }, batches[0][1].shape);
        Assert.Equal(new long[] { 2, 2 }, batches[2][0].shape);
        Assert.Equal(new float[] { 16, 17, 18, 19 }, batches[2][0].contiguous().data<float>().ToArray());
        Assert.Equal(new long[] { 8, 9 }, batches[2][1].data<long>().ToArray());
    }

    [Fact]
    public void Batch_InvalidSize_Throws()
    {
        Assert.Throws<ArgumentException>(() => Ten().Batch(0));
        Assert.Throws<ArgumentException>(() => Ten().Map(e => e).Batch(-1));
    }

    // ------------------------------------------------------------------ Repeat

    [Fact]
    public void RepeatN_ConcatenatesNPasses()
    {
        var ds = Ten().Repeat(2);
        Assert.Equal(20, ds.Cardinality);
        Assert.Equal(Range(0, 10).Concat(Range(0, 10)), Scalars(ds));
        var zero = Ten().Repeat(0);
        Assert.Equal(0, zero.Cardinality);
        Assert.Empty(Scalars(zero));
    }

    [Fact]
    public void RepeatForever_IsInfinite_AndTakeGivesAFinitePrefix()
    {
        var ds = Ten().Repeat();
        Assert.Equal(Dataset.Infinite, ds.Cardinality);
        var prefix = ds.Take(25);
        Assert.Equal(25, prefix.Cardinality);
        Assert.Equal(Range(0, 10).Concat(Range(0, 10)).Concat(Range(0, 5)), Scalars(prefix));
    }

    [Fact]
    public async Task RepeatForever_OfAnEmptyDataset_IsEmpty_AndDoesNotHang()
    {
        var empty = Ten().Take(0).Repeat();
        Assert.Equal(0, empty.Cardinality); // tf.data: repeating nothing yields nothing
        // WaitAsync throws TimeoutException if enumeration hangs.
        var elements = await Task.Run(() => Scalars(empty)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Empty(elements);
    }

    [Fact]
    public void BatchThenRepeat_BatchesStayWithinEachPass()
    {
        var ds = Ten().Batch(4).Repeat(2);
        Assert.Equal(6, ds.Cardinality); // 3 batches per pass, 2 passes
        Assert.Equal(new[] { new long[] { 0, 1, 2, 3 }, [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9] }, Batches(ds));
        Assert.Equal(Dataset.Infinite, Ten().Batch(4).Repeat().Cardinality);
    }

    [Fact]
    public void RepeatThenBatch_BatchesCrossPassBoundaries()
    {
        var ds = Ten().Repeat(2).Batch(4);
        Assert.Equal(5, ds.Cardinality); // 20 / 4
        Assert.Equal(new[] { new long[] { 0, 1, 2, 3 }, [4, 5, 6, 7], [8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9] }, Batches(ds));
        var forever = Ten().Repeat().Batch(4).Take(3);
        Assert.Equal(new[] { new long[] { 0, 1, 2, 3 }, [4, 5, 6, 7], [8, 9, 0, 1] }, Batches(forever));
    }

    [Fact]
    public void Repeat_NegativeCount_Throws() => Assert.Throws<ArgumentException>(() => Ten().Repeat(-1));

    // ------------------------------------------------------------------ Shuffle

    /// <summary>Both implementations: the index-based one of slice datasets, and the buffered one of any dataset (after Map).</summary>
    public static TheoryData<bool> BothPaths => new() { false, true };

    private static Dataset Source(int n, bool generic) =>
        generic ? Dataset.FromTensorSlices(arange(n)).Map(e => e) : Dataset.FromTensorSlices(arange(n));

    [Theory]
    [MemberData(nameof(BothPaths))]
    public void Shuffle_FullBuffer_EachPassIsAPermutation_ReshuffledEachPass(bool generic)
    {
        var ds = Source(20, generic).Shuffle(20, seed: 7);
        Assert.Equal(20, ds.Cardinality);
        var pass1 = Scalars(ds);
        var pass2 = Scalars(ds);
        Assert.Equal(Range(0, 20), pass1.Order());
        Assert.Equal(Range(0, 20), pass2.Order());
        Assert.NotEqual(Range(0, 20), pass1); // it does shuffle
        Assert.NotEqual(pass1, pass2);        // reshuffle_each_iteration
    }

    [Theory]
    [MemberData(nameof(BothPaths))]
    public void Shuffle_SameSeed_IsReproducible_DifferentSeedDiffers(bool generic)
    {
        var a = Source(20, generic).Shuffle(20, seed: 123);
        var b = Source(20, generic).Shuffle(20, seed: 123);
        var c = Source(20, generic).Shuffle(20, seed: 124);
        var a1 = Scalars(a);
        var a2 = Scalars(a);
        Assert.Equal(a1, Scalars(b));
        Assert.Equal(a2, Scalars(b)); // the second pass too
        Assert.NotEqual(a1, Scalars(c));
    }

    [Theory]
    [MemberData(nameof(BothPaths))]
    public void Shuffle_BufferOne_KeepsTheOrder(bool generic)
    {
        var ds = Source(10, generic).Shuffle(1, seed: 3);
        Assert.Equal(Range(0, 10), Scalars(ds));
        Assert.Equal(Range(0, 10), Scalars(ds));
    }

    [Theory]
    [MemberData(nameof(BothPaths))]
    public void Shuffle_SmallBuffer_ElementCannotComeOutBeforePositionIMinusBPlus1(bool generic)
    {
        // tf.data fills a buffer of B elements and, for each output, emits a random buffered one and refills from the
        // input. Before output position p only elements 0 .. p + B - 1 have entered the buffer, so element i appears
        // at position p >= i - B + 1.
        const int n = 30, buffer = 3;
        bool anyMoved = false;
        for (long seed = 0; seed < 20; seed++)
        {
            var order = Scalars(Source(n, generic).Shuffle(buffer, seed));
            Assert.Equal(Range(0, n), order.Order());
            for (int p = 0; p < n; p++)
            {
                Assert.True(p >= order[p] - buffer + 1, $"seed {seed}: element {order[p]} came out at position {p}, before {order[p] - buffer + 1}");
            }
            anyMoved |= !order.SequenceEqual(Range(0, n));
        }
        Assert.True(anyMoved, "a buffer of 3 should reorder something in 20 tries");
    }

    [Fact]
    public void Shuffle_InvalidBuffer_Throws()
    {
        Assert.Throws<ArgumentException>(() => Ten().Shuffle(0));
        Assert.Throws<ArgumentException>(() => Ten().Map(e => e).Shuffle(-2));
    }

    [Fact]
    public void ShuffleBatchRepeat_EachPassBatchesAPermutation_WithAPartialLastBatch()
    {
        var ds = Ten().Shuffle(10, seed: 5).Batch(4).Repeat(2);
        Assert.Equal(6, ds.Cardinality);
        var b = Batches(ds);
        Assert.Equal(new[] { 4, 4, 2, 4, 4, 2 }, b.Select(x => x.Length));
        var pass1 = b.Take(3).SelectMany(x => x).ToList();
        var pass2 = b.Skip(3).SelectMany(x => x).ToList();
        Assert.Equal(Range(0, 10), pass1.Order());
        Assert.Equal(Range(0, 10), pass2.Order());
        Assert.NotEqual(pass1, pass2);
    }

    [Fact]
    public void ShuffleRepeatBatch_BatchesCrossPasses_EachPassAPermutation()
    {
        var ds = Ten().Shuffle(10, seed: 5).Repeat(2).Batch(4);
        Assert.Equal(5, ds.Cardinality);
        var flat = Batches(ds).SelectMany(x => x).ToList();
        Assert.Equal(20, flat.Count);
        Assert.Equal(Range(0, 10), flat.Take(10).Order());
        Assert.Equal(Range(0, 10), flat.Skip(10).Order());
    }

    // ------------------------------------------------------------------ Take / Skip

    [Theory]
    [MemberData(nameof(BothPaths))]
    public void TakeAndSkip_CutPrefixes(bool generic)
    {
        Dataset ds = Source(10, generic);
        Assert.Equal(Range(0, 3), Scalars(ds.Take(3)));
        Assert.Equal(3, ds.Take(3).Cardinality);
        Assert.Equal(Range(7, 3), Scalars(ds.Skip(7)));
        Assert.Equal(3, ds.Skip(7).Cardinality);
        Assert.Equal(Range(3, 4), Scalars(ds.Skip(3).Take(4)));
        Assert.Equal(4, ds.Skip(3).Take(4).Cardinality);
        Assert.Equal(10, ds.Take(20).Cardinality);
        Assert.Equal(Range(0, 10), Scalars(ds.Take(20)));
        Assert.Equal(0, ds.Skip(20).Cardinality);
        Assert.Empty(Scalars(ds.Skip(20)));
        Assert.Empty(Scalars(ds.Take(0)));
        Assert.Equal(Dataset.Infinite, ds.Repeat().Skip(5).Cardinality);
        Assert.Equal(Range(5, 5).Concat(Range(0, 3)), Scalars(ds.Repeat().Skip(5).Take(8)));
    }

    [Fact]
    public void TakeAndSkip_OnBatches_CountBatches()
    {
        var ds = Ten().Batch(3).Skip(1).Take(2);
        Assert.Equal(2, ds.Cardinality);
        Assert.Equal(new[] { new long[] { 3, 4, 5 }, [6, 7, 8] }, Batches(ds));
    }

    [Fact]
    public void Take_DoesNotPullAnElementBeyondTheCount()
    {
        // tf.data's take(n) stops after n elements; it does not produce element n + 1 (which may be expensive).
        int produced = 0;
        var ds = Ten().Batch(2).Map(e => { produced++; return e; }).Take(2);
        Assert.Equal(2, Batches(ds).Count);
        Assert.Equal(2, produced);
        produced = 0;
        Assert.Empty(Batches(Ten().Batch(2).Map(e => { produced++; return e; }).Take(0)));
        Assert.Equal(0, produced);
    }

    [Fact]
    public void TakeAndSkip_NegativeCounts_Throw()
    {
        Assert.Throws<ArgumentException>(() => Ten().Take(-1));
        Assert.Throws<ArgumentException>(() => Ten().Skip(-1));
        Assert.Throws<ArgumentException>(() => Ten().Batch(2).Take(-1));
    }

    // ------------------------------------------------------------------ Map

    [Fact]
    public void MapXY_TransformsEachPair_AndKeepsCardinality()
    {
        var x = arange(6, dtype: ScalarType.Float32);
        var y = arange(6, dtype: ScalarType.Float32) * 10;
        var ds = Dataset.FromTensorSlices(x, y).Map((a, b) => (a * 2, b + 1));
        Assert.Equal(6, ds.Cardinality);
        var batches = ds.Batch(3).Elements().ToList();
        Assert.Equal(2, batches.Count);
        Assert.Equal(new float[] { 0, 2, 4 }, batches[0][0].data<float>().ToArray());
        Assert.Equal(new float[] { 1, 11, 21 }, batches[0][1].data<float>().ToArray());
        Assert.Equal(new float[] { 6, 8, 10 }, batches[1][0].data<float>().ToArray());
        Assert.Equal(new float[] { 31, 41, 51 }, batches[1][1].data<float>().ToArray());
    }

    [Fact]
    public void MapXY_KeepsTheSampleWeight_AndNeedsTwoTensors()
    {
        var ds = Dataset.FromTensorSlices(arange(3), arange(3) + 10, arange(3) + 20).Map((a, b) => (a, b * 2)).Batch(3);
        var e = ds.Elements().Single();
        Assert.Equal(3, e.Length);
        Assert.Equal(new long[] { 20, 22, 24 }, e[1].data<long>().ToArray());
        Assert.Equal(new long[] { 20, 21, 22 }, e[2].data<long>().ToArray());
        var single = Ten().Map((a, b) => (a, b));
        Assert.Throws<InvalidOperationException>(() => single.Elements().First());
    }

    // ------------------------------------------------------------------ views and gathers

    [Fact]
    public void UnshuffledBatches_AreViewsOfTheSourceRows()
    {
        var x = arange(10, dtype: ScalarType.Float32).reshape(10, 1);
        var batches = Dataset.FromTensorSlices(x).Skip(2).Batch(4).Elements().Select(e => e[0]).ToList();
        Assert.Equal(new float[] { 2, 3, 4, 5 }, batches[0].contiguous().data<float>().ToArray());
        Assert.Equal(new float[] { 6, 7, 8, 9 }, batches[1].contiguous().data<float>().ToArray());
        x.add_(1000); // a view shares the source's storage, so it sees the change
        Assert.Equal(new float[] { 1002, 1003, 1004, 1005 }, batches[0].contiguous().data<float>().ToArray());
        Assert.Equal(new float[] { 1006, 1007, 1008, 1009 }, batches[1].contiguous().data<float>().ToArray());
    }

    [Fact]
    public void ShuffledBatches_AreGathersWithCorrectAlignedRows()
    {
        // x row i = [i, 10 i], y row i = i: every batch row must stay aligned whatever the order.
        var x = tensor(Enumerable.Range(0, 12).SelectMany(i => new float[] { i, 10 * i }).ToArray(), [12, 2]);
        var y = arange(12);
        var batches = Dataset.FromTensorSlices(x, y).Shuffle(12, seed: 11).Batch(4).Elements().ToList();
        var before = batches.Select(b => b[0].contiguous().data<float>().ToArray()).ToList();
        var labels = batches.Select(b => b[1].data<long>().ToArray()).ToList();
        Assert.Equal(Range(0, 12), labels.SelectMany(l => l).Order());
        for (int b = 0; b < batches.Count; b++)
        {
            for (int r = 0; r < labels[b].Length; r++)
            {
                Assert.Equal(labels[b][r], (long)before[b][2 * r]);
                Assert.Equal(10 * labels[b][r], (long)before[b][2 * r + 1]);
            }
        }

        x.add_(1000);
        int copies = 0;
        for (int b = 0; b < batches.Count; b++)
        {
            bool consecutive = labels[b].Zip(labels[b].Skip(1)).All(p => p.Second == p.First + 1);
            if (consecutive) continue; // consecutive rows may legitimately be served as a view
            Assert.Equal(before[b], batches[b][0].contiguous().data<float>().ToArray()); // a gather is a copy
            copies++;
        }
        Assert.True(copies > 0, "a full shuffle of 12 rows should give at least one non-consecutive batch");
    }

    // ------------------------------------------------------------------ Prefetch

    [Fact]
    public void Prefetch_ChangesNothing()
    {
        Assert.Equal(Range(0, 10), Scalars(Ten().Prefetch(2)));
        Assert.Equal(Range(0, 10), Scalars(Ten().Prefetch(-1)));
        Assert.Throws<ArgumentException>(() => Ten().Prefetch(-2));
    }
}
