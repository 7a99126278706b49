using System.Collections;
using System.Text;
using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>
/// Batches of text with their labels, from <see cref="Keras.Utils.TextDatasetFromDirectory"/>. libtorch has no string
/// tensors, so text stays .NET strings until a .NET-side step turns it into numbers: <see cref="Map"/> takes that step
/// (a vectorizer, a tokenizer: <c>string[]</c> to a tensor with one row per text) and gives a <see cref="Dataset"/> of
/// <c>(vectors, labels)</c> for Fit. Enumerating gives the raw <see cref="TextBatch"/>es (files are read as UTF-8 on each
/// pass, in a new order each pass when shuffled).
/// </summary>
/// <example><code>
/// foreach (var batch in texts) Console.WriteLine($"{batch.Texts.Length} texts, first: {batch.Texts[0]}");
/// Dataset ds = texts.Map(batch => vectorizer(batch));   // string[] -> Tensor [batch, features]
/// </code></example>
public sealed class TextDataset : IEnumerable<TextBatch>
{
    private readonly DirectoryIndex index;
    private readonly FileBatchDataset files;
    private readonly string? labelMode;
    private readonly int? maxLength;

    internal TextDataset(DirectoryIndex index, string? labelMode, int? batchSize, bool shuffle, long seed, int? maxLength)
    {
        this.index = index;
        this.labelMode = labelMode;
        this.maxLength = maxLength;
        BatchSize = batchSize;
        // The index batches carry no tensors but the file numbers, read back by Read below.
        // Keras's buffer: 8 batches, or 1024 texts without batching (read here as batches of one).
        files = new FileBatchDataset(index.Paths.Length, batchSize ?? 1, shuffle, seed, ids => [tensor(ids.Select(i => (long)i).ToArray())],
            shuffleBuffer: batchSize is null ? 1024 : null);
    }

    /// <summary>The class names in label order (Keras's <c>class_names</c>).</summary>
    public IReadOnlyList<string> ClassNames => index.ClassNames;

    /// <summary>The files (after the seeded shuffle and the split).</summary>
    public IReadOnlyList<string> FilePaths => index.Paths;

    /// <summary>Texts per batch; null: one text per element.</summary>
    public int? BatchSize { get; }

    /// <summary>The number of batches (elements when <see cref="BatchSize"/> is null).</summary>
    public long Cardinality => files.Cardinality;

    /// <summary>
    /// A dataset of <c>(vectorize(texts), labels)</c> (or <c>(vectorize(texts))</c> without labels), batched like this
    /// one; without a batch size each element is one text, and the leading dimension of 1 of both tensors is removed.
    /// </summary>
    /// <exception cref="InvalidOperationException">(When read) <paramref name="vectorize"/> returned a tensor whose first
    /// dimension is not the number of texts.</exception>
    /// <example><code>Dataset ds = texts.Map(batch => torch.tensor(batch.Texts.Select(t => (float)t.Length).ToArray()).unsqueeze(1));</code></example>
    public Dataset Map(Func<TextBatch, Tensor> vectorize)
    {
        ArgumentNullException.ThrowIfNull(vectorize);
        Dataset mapped = new BatchSequenceDataset(() => this.Select(b =>
        {
            var v = vectorize(b) ?? throw new InvalidOperationException("TextDataset.Map: the vectorizer returned null.");
            if (v.dim() == 0 || v.shape[0] != b.Texts.Length)
                throw new InvalidOperationException($"TextDataset.Map: the vectorizer returned shape [{string.Join(", ", v.shape)}] " +
                    $"for {b.Texts.Length} texts; its first dimension must be the number of texts.");
            return b.Labels is null ? new[] { v } : [v, b.Labels];
        }), Cardinality, "TextDataset.Map");
        return BatchSize is null ? mapped.Map(e => e.Select(t => t.squeeze(0)).ToArray()).AsUnbatched() : mapped;
    }

    /// <summary>Reads the batches: the texts, and their labels as a tensor (null when the labels are off).</summary>
    public IEnumerator<TextBatch> GetEnumerator()
    {
        foreach (var e in files.Elements())
        {
            using var ids = e[0];
            var idx = ids.data<long>().ToArray().Select(i => (int)i).ToArray();
            var texts = idx.Select(i => Read(index.Paths[i])).ToArray();
            yield return new TextBatch(texts, labelMode is null ? null : index.LabelBatch(idx, labelMode));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private string Read(string path)
    {
        string text = File.ReadAllText(path, Encoding.UTF8);
        return maxLength is int m && text.Length > m ? text[..m] : text;
    }
}

/// <summary>One batch of a <see cref="TextDataset"/>: texts and, unless labels are off, their label tensor (int64 class
/// indices, float32 one-hot rows, or float32 <c>[n, 1]</c> for "binary"), created in the reader's dispose scope.</summary>
/// <param name="Texts">The texts, as read from their files (cut to maxLength characters).</param>
/// <param name="Labels">The labels, or null.</param>
public sealed record TextBatch(string[] Texts, Tensor? Labels);

/// <summary>Marks a dataset's elements as single samples (after a per-batch step that removed the batch dimension).</summary>
internal sealed class UnbatchedView(Dataset inner) : Dataset
{
    public override long Cardinality => inner.Cardinality;
    public override bool IsBatched => false;
    public override IEnumerable<Tensor[]> Elements() => inner.Elements();
}

internal static class DatasetViews
{
    public static Dataset AsUnbatched(this Dataset ds) => new UnbatchedView(ds);
}
