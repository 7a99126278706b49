using OnnxKeras.Data;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Data;

/// <summary>Cache(filename), Interleave and Window against tf.data's documented behaviour.</summary>
public class DatasetFileCacheTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("onnxkeras-cache-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static List<long> Scalars(Dataset ds) => ds.Elements().Select(e => e[0].item<long>()).ToList();

    private sealed class Source(int n)
    {
        public int Started;
        public IEnumerable<Tensor[]> Run()
        {
            Started++;
            for (int i = 0; i < n; i++) yield return [full(2, i + 0.5f), tensor((long)(10 * i))];
        }
    }

    private static readonly TensorSpec[] Signature = [new TensorSpec(new Shape(2)), new TensorSpec(new Shape(), "int64")];

    [Fact]
    public void FileCache_WritesOnTheFirstCompletePass_AndReadsTheFileAfterwards()
    {
        string path = Path.Combine(dir, "train.cache");
        var source = new Source(5);
        var ds = Dataset.FromGenerator(source.Run, Signature).Cache(path);
        Assert.False(File.Exists(path));
        var first = ds.Elements().Select(e => (e[0].data<float>().ToArray(), e[1].item<long>())).ToList();
        Assert.True(File.Exists(path));
        Assert.Empty(Directory.GetFiles(dir, "*.partial"));
        var second = ds.Elements().Select(e => (e[0].data<float>().ToArray(), e[1].item<long>(), e[0].dtype, e[1].dtype)).ToList();
        Assert.Equal(1, source.Started);
        Assert.Equal(5, second.Count);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(new[] { i + 0.5f, i + 0.5f }, second[i].Item1);
            Assert.Equal(10L * i, second[i].Item2);
            Assert.Equal(ScalarType.Float32, second[i].Item3);
            Assert.Equal(ScalarType.Int64, second[i].Item4);
        }
        // A new dataset over the same file (a later run) reads the file, not its source.
        var other = new Source(5);
        Assert.Equal(first.Select(f => f.Item2), Scalars(Dataset.FromGenerator(other.Run, Signature).Cache(path).Select1()));
        Assert.Equal(0, other.Started);
    }

    [Fact]
    public void FileCache_PartialFirstPass_LeavesNoCache_AndTheNextFullPassWritesIt()
    {
        string path = Path.Combine(dir, "partial.cache");
        var source = new Source(6);
        var ds = Dataset.FromGenerator(source.Run, Signature).Cache(path);
        Assert.Equal(2, ds.Take(2).Elements().Count());
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(dir));
        // A pass that throws half way leaves nothing either.
        int k = 0;
        var failing = Dataset.FromGenerator(source.Run, Signature).Map(e => ++k == 3 ? throw new InvalidOperationException("boom") : e).Cache(path);
        Assert.Throws<InvalidOperationException>(() => failing.Elements().ToList());
        Assert.Empty(Directory.GetFiles(dir));
        Assert.Equal(6, ds.Elements().Count());
        Assert.True(File.Exists(path));
        int before = source.Started;
        Assert.Equal(6, ds.Elements().Count());
        Assert.Equal(before, source.Started);
    }

    [Fact]
    public void FileCache_DamagedOrForeignFile_ThrowsInvalidDataNamingTheFile()
    {
        string path = Path.Combine(dir, "bad.cache");
        var ds = Dataset.FromGenerator(new Source(3).Run, Signature).Cache(path);
        ds.Elements().ToList();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 20)]);
        var ex = Assert.Throws<InvalidDataException>(() => ds.Elements().ToList());
        Assert.Contains(path, ex.Message);
        Assert.Contains("truncated", ex.Message);
        File.WriteAllText(path, "hello");
        Assert.Contains("not a dataset cache file", Assert.Throws<InvalidDataException>(() => ds.Elements().ToList()).Message);
        Assert.Throws<ArgumentException>(() => ds.Repeat().Cache(Path.Combine(dir, "x")));
    }

    [Fact]
    public void Interleave_FollowsTfDatasDocumentedOrder()
    {
        // tf.data docs: Dataset.range(1, 6).interleave(lambda x: Dataset.from_tensors(x).repeat(6), cycle_length=2, block_length=4)
        // -> [1,1,1,1, 2,2,2,2, 1,1, 2,2, 3,3,3,3, 4,4,4,4, 3,3, 4,4, 5,5,5,5, 5,5]
        var ds = Dataset.FromTensorSlices(arange(1L, 6L))
            .Interleave(e => Dataset.FromTensorSlices(e[0].repeat(6)), cycleLength: 2, blockLength: 4);
        long[] expected = [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5];
        Assert.Equal(expected, Scalars(ds));
        Assert.Equal(expected, Scalars(ds));   // a second pass is the same
        Assert.Equal(Dataset.Unknown, ds.Cardinality);
        // Different lengths, block 1: element i expands to i copies; cycle 3.
        var uneven = Dataset.FromTensorSlices(arange(1L, 5L)).Interleave(e => Dataset.FromTensorSlices(e[0].repeat(e[0].item<long>())), 3);
        // slots: [1], [2,2], [3,3,3]; 1 ends -> slot 0 opens 4 -> 4,4,4,4.
        Assert.Equal([1L, 2, 3, 2, 3, 4, 3, 4, 4, 4], Scalars(uneven));
        Assert.Throws<ArgumentException>(() => Dataset.FromTensorSlices(arange(3L)).Interleave(e => null!, numParallelCalls: 2));
    }

    [Fact]
    public void Window_FollowsTfDatasDocumentedExamples()
    {
        var range7 = Dataset.FromTensorSlices(arange(7L));
        List<long[]> Windows(Dataset ds) => ds.Elements().Select(e => e[0].data<long>().ToArray()).ToList();
        // tf.data docs: range(7).window(3, shift=2) -> [0,1,2] [2,3,4] [4,5,6] [6]
        var a = range7.Window(3, shift: 2);
        Assert.Equal([[0L, 1, 2], [2, 3, 4], [4, 5, 6], [6]], Windows(a));
        Assert.Equal(4, a.Cardinality);
        // range(7).window(3, shift=1, stride=2, drop_remainder=True) -> [0,2,4] [1,3,5] [2,4,6]
        var b = range7.Window(3, shift: 1, stride: 2, dropRemainder: true);
        Assert.Equal([[0L, 2, 4], [1, 3, 5], [2, 4, 6]], Windows(b));
        Assert.Equal(3, b.Cardinality);
        // range(7).window(2) -> [0,1] [2,3] [4,5] [6]; with drop_remainder the [6] goes.
        Assert.Equal([[0L, 1], [2, 3], [4, 5], [6]], Windows(range7.Window(2)));
        Assert.Equal([[0L, 1], [2, 3], [4, 5]], Windows(range7.Window(2, dropRemainder: true)));
        // shift beyond the window: elements between windows are skipped.
        Assert.Equal([[0L, 1], [4, 5]], Windows(range7.Window(2, shift: 4, dropRemainder: true)));
        // Windows of rows stack into a new first dimension, and batch.
        var rows = Dataset.FromTensorSlices(arange(20f).reshape(10, 2)).Window(4, shift: 1, dropRemainder: true).Batch(3);
        var first = rows.Elements().First()[0];
        Assert.Equal(new long[] { 3, 4, 2 }, first.shape);
        Assert.Equal(new float[] { 2, 3, 4, 5, 6, 7, 8, 9 }, first[1].data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => range7.Window(0));
    }
}

internal static class DatasetTestExtensions
{
    /// <summary>The second tensor (the label) of each element, as the only one.</summary>
    public static Dataset Select1(this Dataset ds) => ds.Map(e => [e[1]]);
}
