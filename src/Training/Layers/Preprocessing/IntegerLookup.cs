using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Maps integer tokens to indices in a vocabulary (Keras 3's <c>keras.layers.IntegerLookup</c>). Indices: the mask token
/// (if set, in "int" mode) 0, then <c>numOovIndices</c> OOV indices (an unknown token <c>x</c> gets
/// <c>floormod(x, numOovIndices)</c> among them), then the vocabulary in order. The vocabulary is given or learned by
/// <see cref="Adapt(long[])"/> (most frequent first, ties by the larger token, as Keras). <c>outputMode</c> "int" gives
/// the int64 indices; "one_hot", "multi_hot", "count" and "tf_idf" (count x IDF weight) give float32 vectors of the
/// vocabulary size (or maxTokens with <c>padToMaxTokens</c>); the mask token adds nothing to them. <c>invert</c> maps
/// indices back to tokens. Inputs are cast to int64. Exports to ONNX as ai.onnx.ml LabelEncoder (+ Equal/Where for the
/// mask, Mod for hashed OOV, OneHot + ReduceSum/ReduceMax for the encodings), so the exported model takes raw tokens.
/// The vocabulary (given or adapted) and the IDF weights are kept in the config (see docs/layers.md).
/// </summary>
/// <example><code>
/// var lookup = new IntegerLookup(vocabulary: [12, 36, 1138, 42]);   // [[12, 1138, 42], [42, 1000, 36]] -> [[1, 3, 4], [4, 0, 2]]
/// </code></example>
public sealed class IntegerLookup : Layer, Saving.IKerasAssets
{
    private readonly LookupVocabulary<long> vocab;

    /// <summary>Creates the layer.</summary>
    /// <param name="maxTokens">The largest vocabulary (with the mask and OOV indices) Adapt keeps; null for no limit; > 1.</param>
    /// <param name="numOovIndices">How many OOV indices (0: an unknown token is an error).</param>
    /// <param name="maskToken">A token that is masked (index 0 in "int" mode, dropped in the encodings); null for none.</param>
    /// <param name="oovToken">The token an inverted lookup gives for an OOV index.</param>
    /// <param name="vocabulary">The vocabulary, with or without the leading special tokens; null to learn it with Adapt.</param>
    /// <param name="vocabularyDtype">Only <c>"int64"</c>, as Keras.</param>
    /// <param name="idfWeights">With "tf_idf" and a vocabulary: one weight per vocabulary entry.</param>
    /// <param name="invert">Map indices to tokens (only with "int").</param>
    /// <param name="outputMode"><c>"int"</c>, <c>"one_hot"</c>, <c>"multi_hot"</c>, <c>"count"</c> or <c>"tf_idf"</c>.</param>
    /// <param name="sparse">Only false (dense outputs).</param>
    /// <param name="padToMaxTokens">Encoded outputs have maxTokens columns whatever the vocabulary size.</param>
    /// <param name="vocabularySize">Keras's saved vocabulary size (read from configs, checked against the vocabulary).</param>
    /// <param name="oovMethod">Only <c>"floormod"</c> (Keras's default) is supported.</param>
    /// <exception cref="ArgumentException">An argument Keras refuses, or one not supported here.</exception>
    public IntegerLookup(int? maxTokens = null, int numOovIndices = 1, long? maskToken = null, long oovToken = -1,
        long[]? vocabulary = null, string vocabularyDtype = "int64", double[]? idfWeights = null, bool invert = false,
        string outputMode = "int", bool sparse = false, bool padToMaxTokens = false, long? vocabularySize = null, string oovMethod = "floormod")
    {
        if (vocabularyDtype != "int64")
            throw new ArgumentException($"IntegerLookup: only vocabularyDtype \"int64\" is supported; got \"{vocabularyDtype}\".", nameof(vocabularyDtype));
        if (oovMethod != "floormod")
            throw new ArgumentException($"IntegerLookup: only oovMethod \"floormod\" is supported; got \"{oovMethod}\".", nameof(oovMethod));
        vocab = new LookupVocabulary<long>("IntegerLookup", Comparer<long>.Default, maxTokens, numOovIndices, maskToken is not null,
            maskToken ?? 0, oovToken, invert, outputMode, sparse, padToMaxTokens, idfWeights is not null);
        if (vocab.OutputMode == "tf_idf" && vocabulary is not null && idfWeights is null)
            throw new ArgumentException("IntegerLookup: with a vocabulary and outputMode \"tf_idf\", idfWeights must be given too.", nameof(idfWeights));
        if (vocabulary is not null) vocab.SetVocabulary(vocabulary, idfWeights);
        if (vocabularySize is long size && vocabulary is not null && size != vocab.VocabularySize)
            throw new ArgumentException($"IntegerLookup: vocabularySize {size} does not match the vocabulary ({vocab.VocabularySize} entries).",
                nameof(vocabularySize));
    }

    /// <summary>The largest vocabulary size, or null.</summary>
    public int? MaxTokens => vocab.MaxTokens;

    /// <summary>How many OOV indices.</summary>
    public int NumOovIndices => vocab.NumOovIndices;

    /// <summary>The mask token, or null.</summary>
    public long? MaskToken => vocab.HasMask ? vocab.MaskToken : null;

    /// <summary>The token an inverted lookup gives for OOV indices.</summary>
    public long OovToken => vocab.OovToken;

    /// <summary>Whether the layer maps indices to tokens.</summary>
    public bool Invert => vocab.Invert;

    /// <summary>The output mode (Keras's old names normalized: "binary" is "multi_hot", "tf-idf" is "tf_idf").</summary>
    public string OutputMode => vocab.OutputMode;

    /// <summary>Whether encoded outputs are padded to maxTokens.</summary>
    public bool PadToMaxTokens => vocab.PadToMaxTokens;

    /// <summary>The vocabulary size with the special tokens (Keras's <c>vocabulary_size()</c>).</summary>
    public long VocabularySize => vocab.VocabularySize;

    /// <summary>The TF-IDF weights in use, one per output column, or null.</summary>
    public IReadOnlyList<double>? IdfWeights => vocab.IdfWeights;

    /// <summary>Keras's <c>get_vocabulary</c>: the tokens in index order, the special tokens first when asked.</summary>
    public IReadOnlyList<long> GetVocabulary(bool includeSpecialTokens = true) => vocab.GetVocabulary(includeSpecialTokens);

    /// <summary>Keras's <c>set_vocabulary</c>: replaces the vocabulary (and the TF-IDF weights, required with "tf_idf").</summary>
    /// <exception cref="ArgumentException">An empty, repeated or too large vocabulary, or weights that do not fit.</exception>
    public void SetVocabulary(long[] vocabulary, double[]? idfWeights = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        vocab.SetVocabulary(vocabulary, idfWeights);
    }

    /// <summary>Learns the vocabulary from <paramref name="data"/>, each value a document (Keras: a rank-1 array is expanded to one token per row).</summary>
    /// <exception cref="InvalidOperationException">The layer was given a vocabulary.</exception>
    /// <example><code>var lookup = new IntegerLookup(); lookup.Adapt(new long[] { 7, 3, 7, 9 });   // vocabulary [-1, 7, 9, 3]</code></example>
    public void Adapt(long[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        vocab.Adapt(data.Select(v => (IReadOnlyList<long>)[v]));
    }

    /// <summary>Learns the vocabulary from a tensor or array (rank 1: one token per document; rank 2 and more: one document per row).</summary>
    /// <exception cref="InvalidOperationException">The layer was given a vocabulary.</exception>
    public void Adapt(Array data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var t = TensorConvert.ToTensor(data, nameof(data));
        vocab.Adapt(Documents(t, rankOneIsOneDocument: false));
    }

    /// <summary>Learns the vocabulary from the first tensor of every element of <paramref name="dataset"/>; each batch row is a
    /// document (a rank-1 batch is one document, as Keras's <c>update_state</c>).</summary>
    /// <exception cref="InvalidOperationException">The layer was given a vocabulary.</exception>
    /// <exception cref="ArgumentException">An infinite dataset.</exception>
    public void Adapt(Dataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Cardinality == Dataset.Infinite) throw new ArgumentException("IntegerLookup.Adapt: the dataset is infinite.", nameof(dataset));
        vocab.Adapt(dataset.Elements().SelectMany(e => Documents(e[0], rankOneIsOneDocument: true)).ToList());
    }

    private static List<IReadOnlyList<long>> Documents(Tensor t, bool rankOneIsOneDocument)
    {
        using var scope = NewDisposeScope();
        var x = t.detach().cpu().to_type(ScalarType.Int64);
        if (x.dim() == 0 || (x.dim() == 1 && rankOneIsOneDocument)) x = x.reshape(1, -1);
        else if (x.dim() == 1) x = x.reshape(-1, 1);
        x = x.reshape(x.shape[0], -1).contiguous();
        var flat = x.data<long>().ToArray();
        int width = (int)x.shape[1];
        return Enumerable.Range(0, (int)x.shape[0]).Select(r => (IReadOnlyList<long>)flat.AsSpan(r * width, width).ToArray()).ToList();
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No vocabulary yet (give one or call Adapt).</exception>
    /// <exception cref="ArgumentException">An OOV token when numOovIndices is 0 (checked on real inputs, not in the exported model).</exception>
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (!vocab.HasVocabulary)
            throw new InvalidOperationException($"Layer '{Name}' (IntegerLookup) has no vocabulary: pass vocabulary or call Adapt before using it.");
        var x = Ops.Cast(inputs, "int64");
        var tokens = vocab.Tokens.ToArray();
        var indices = Enumerable.Range(0, tokens.Length).Select(i => vocab.TokenStart + i).ToArray();
        if (Invert)
            return Ops.IndexLookup(x, indices, tokens, OovToken, vocab.HasMask ? 0 : null, vocab.MaskToken, 0, 0);
        long maskValue = OutputMode == "int" ? 0 : vocab.Depth;
        var ids = Ops.IndexLookup(x, tokens, indices, NumOovIndices == 1 ? vocab.OovStart : -1, MaskToken, maskValue, NumOovIndices, vocab.OovStart);
        if (NumOovIndices == 0 && inputs.Tracer is null) CheckNoOov(x.Value, ids.Value);
        return LookupOutput.Encode(ids, vocab.OutputMode, vocab.Depth, vocab.IdfWeights);
    }

    private void CheckNoOov(Tensor x, Tensor ids)
    {
        using var scope = NewDisposeScope();
        var missing = ids.eq(-1);
        if (!missing.any().item<bool>()) return;
        var values = x.masked_select(missing).cpu().data<long>().Take(5);
        throw new ArgumentException($"Layer '{Name}' (IntegerLookup): with numOovIndices 0 every input must be in the vocabulary; " +
            $"found OOV values {string.Join(", ", values)}. Consider numOovIndices: 1.");
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => LookupOutput.OutputShape(inputShape, OutputMode, vocab.Depth);

    /// <inheritdoc />
    /// <remarks>An adapted vocabulary is written to <c>vocabulary</c> with its special tokens (and the weights to
    /// <c>idf_weights</c>); in a .keras archive, as Keras does, to <c>vocabulary.txt</c> in the archive's assets, with
    /// <c>vocabulary: null</c> in the config (TF-IDF layers keep both in the config, which Keras reads too).</remarks>
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("invert", Invert).With("max_tokens", MaxTokens).With("num_oov_indices", NumOovIndices).With("oov_token", OovToken)
        .With("mask_token", MaskToken).With("output_mode", OutputMode).With("sparse", false).With("pad_to_max_tokens", PadToMaxTokens)
        .With("vocabulary_dtype", "int64")
        .With("idf_weights", vocab.InputIdfWeights ?? (vocab.HasVocabulary ? vocab.IdfWeights?.Take((int)vocab.VocabularySize).ToArray() : null))
        .With("vocabulary", vocab.ConfigVocabulary)
        .With("vocabulary_size", vocab.HasVocabulary ? vocab.VocabularySize : null);

    bool Saving.IKerasAssets.UsesAssets => vocab.InAssets;

    bool Saving.IKerasAssets.ReadsAssets => vocab.InputVocabulary is null;

    IEnumerable<(string Name, byte[] Bytes)> Saving.IKerasAssets.SaveAssets()
    {
        var bytes = Saving.KerasAssets.WriteLines(vocab.GetVocabulary(true).Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return [("vocabulary.txt", bytes)];
    }

    /// <summary>A token as Python's <c>int(line)</c> reads it: an optional sign, decimal digits, surrounding white space.</summary>
    private static long ParseToken(string line) => long.Parse(line.Trim(), System.Globalization.NumberStyles.AllowLeadingSign,
        System.Globalization.CultureInfo.InvariantCulture);

    IEnumerable<(string Name, float[] Values)> Saving.IKerasAssets.SaveVariables() =>
        vocab.IdfVariable is { } idf ? [("idf_weights", idf)] : [];

    void Saving.IKerasAssets.LoadAssets(Func<string, byte[]?> read, Func<string, float[]?> variable, string where) =>
        vocab.LoadAsset(read("vocabulary.txt"), ParseToken, where, variable("idf_weights"));
}

/// <summary>The outputs of the lookup layers: int indices, or the encodings (TF-IDF: counts times the weights).</summary>
internal static class LookupOutput
{
    public static KTensor Encode(KTensor ids, string mode, long depth, IReadOnlyList<double>? idf)
    {
        if (mode == "int") return ids;
        var encoded = Ops.EncodeCategorical(ids, depth, mode == "tf_idf" ? "count" : mode);
        if (mode != "tf_idf") return encoded;
        var weights = tensor(idf!.Select(w => (float)w).ToArray(), device: ids.Value.device);
        return Ops.Multiply(encoded, new KTensor(weights));
    }

    public static Shape OutputShape(Shape inputShape, string mode, long depth)
    {
        if (mode == "int") return inputShape;
        var dims = inputShape.Dims;
        if (mode == "one_hot") return dims.Length > 1 && dims[^1] == 1 ? new Shape([.. dims[..^1], depth]) : new Shape([.. dims, depth]);
        return new Shape([.. dims[..^1], depth]);
    }
}
