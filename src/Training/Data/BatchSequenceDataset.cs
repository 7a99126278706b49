using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>
/// Batches from a .NET sequence (Fit, Evaluate and Predict on <c>IEnumerable</c>): read anew on every pass, each element
/// already a batch. The cardinality is the sequence's count when it is a collection, else <see cref="Dataset.Unknown"/>.
/// </summary>
internal sealed class BatchSequenceDataset(Func<IEnumerable<Tensor[]>> source, long cardinality, string what) : Dataset
{
    public override long Cardinality => cardinality;
    public override bool IsBatched => true;

    /// <summary>Batches of tensors the caller keeps: handed out as new handles, so the training step never disposes them.</summary>
    public static BatchSequenceDataset OfTensors<T>(IEnumerable<T> batches, Func<T, Tensor[]> parts, string what)
    {
        ArgumentNullException.ThrowIfNull(batches);
        return new BatchSequenceDataset(() => batches.Select(b => parts(b).Select(t => t?.alias()!).ToArray()), Count(batches), what);
    }

    /// <summary>Batches of .NET arrays, converted by <see cref="TensorConvert.ToTensor"/> when read (in the step's dispose scope).</summary>
    public static BatchSequenceDataset OfArrays<T>(IEnumerable<T> batches, Func<T, Array?[]> parts, string what)
    {
        ArgumentNullException.ThrowIfNull(batches);
        return new BatchSequenceDataset(() => batches.Select((b, i) => parts(b).Select((a, k) => a is null
            ? null!
            : TensorConvert.ToTensor(a, $"{what}: array {k} of batch {i}")).ToArray()), Count(batches), what);
    }

    private static long Count<T>(IEnumerable<T> batches) => batches switch
    {
        IReadOnlyCollection<T> c => c.Count,
        ICollection<T> c => c.Count,
        _ => Unknown,
    };

    public override IEnumerable<Tensor[]> Elements()
    {
        long index = 0;
        foreach (var e in source())
        {
            for (int k = 0; k < e.Length; k++)
            {
                if (e[k] is null) throw new ArgumentException($"{what}: batch {index} has a null tensor or array at position {k}.");
            }
            index++;
            yield return e;
        }
    }
}
