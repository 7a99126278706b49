using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Maps string tokens to indices in a vocabulary (Keras 3's <c>keras.layers.StringLookup</c>), with IntegerLookup's index
/// layout and output modes; an unknown token goes to OOV bucket <c>Fingerprint64(utf8) mod numOovIndices</c> (FarmHash, as
/// TensorFlow's <c>to_hash_bucket_fast</c>). Libtorch has no string tensors, so this layer runs in .NET on string arrays
/// before the tensor model: <see cref="Call(string[])"/> and <see cref="Call(string[,])"/> give the int64 indices (or the
/// float32 encodings) as a tensor for the model or a dataset; <see cref="CallInverted"/> maps indices back to strings.
/// Calling it on a tensor (as a layer inside a model, or while exporting one) throws <see cref="NotSupportedException"/>
/// saying so (docs/layers.md, "How string inputs flow in training").
/// </summary>
/// <example><code>
/// var lookup = new StringLookup(vocabulary: ["a", "b", "c", "d"]);
/// KTensor ids = lookup.Call(new[,] { { "a", "c", "d" }, { "d", "z", "b" } });   // [[1, 3, 4], [4, 0, 2]]
/// </code></example>
public sealed class StringLookup : Layer, Saving.IKerasAssets
{
    private readonly LookupVocabulary<string> vocab;

    /// <summary>Creates the layer.</summary>
    /// <param name="maxTokens">The largest vocabulary (with the mask and OOV indices) Adapt keeps; null for no limit; > 1.</param>
    /// <param name="numOovIndices">How many OOV indices (0: an unknown token is an error).</param>
    /// <param name="maskToken">A token that is masked (index 0 in "int" mode, dropped in the encodings); null for none.</param>
    /// <param name="oovToken">The token an inverted lookup gives for an OOV index.</param>
    /// <param name="vocabulary">The vocabulary, with or without the leading special tokens; null to learn it with Adapt.</param>
    /// <param name="idfWeights">With "tf_idf" and a vocabulary: one weight per vocabulary entry.</param>
    /// <param name="invert">Map indices to tokens (only with "int"; use <see cref="CallInverted"/>).</param>
    /// <param name="outputMode"><c>"int"</c>, <c>"one_hot"</c>, <c>"multi_hot"</c>, <c>"count"</c> or <c>"tf_idf"</c>.</param>
    /// <param name="padToMaxTokens">Encoded outputs have maxTokens columns whatever the vocabulary size.</param>
    /// <param name="sparse">Only false (dense outputs).</param>
    /// <param name="encoding">Only <c>"utf-8"</c>.</param>
    /// <param name="vocabularySize">Keras's saved vocabulary size (read from configs, checked against the vocabulary).</param>
    /// <param name="oovMethod">Keras's integer OOV method, ignored for strings as Keras does: <c>"floormod"</c> or <c>"farmhash"</c>.</param>
    /// <exception cref="ArgumentException">An argument Keras refuses, or one not supported here.</exception>
    public StringLookup(int? maxTokens = null, int numOovIndices = 1, string? maskToken = null, string oovToken = "[UNK]",
        string[]? vocabulary = null, double[]? idfWeights = null, bool invert = false, string outputMode = "int",
        bool padToMaxTokens = false, bool sparse = false, string encoding = "utf-8", long? vocabularySize = null, string oovMethod = "floormod")
    {
        ArgumentNullException.ThrowIfNull(oovToken);
        if (encoding.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant() != "utf8")
            throw new ArgumentException($"StringLookup: only the \"utf-8\" encoding is supported; got \"{encoding}\".", nameof(encoding));
        if (oovMethod is not ("floormod" or "farmhash"))
            throw new ArgumentException($"StringLookup: oovMethod must be \"floormod\" or \"farmhash\"; got \"{oovMethod}\".", nameof(oovMethod));
        if (vocabulary?.Any(t => t is null) == true) throw new ArgumentException("StringLookup: the vocabulary has a null entry.", nameof(vocabulary));
        vocab = new LookupVocabulary<string>("StringLookup", Utf8Order.Instance, maxTokens, numOovIndices, maskToken is not null,
            maskToken ?? "", oovToken, invert, outputMode, sparse, padToMaxTokens, idfWeights is not null);
        if (vocab.OutputMode == "tf_idf" && vocabulary is not null && idfWeights is null)
            throw new ArgumentException("StringLookup: with a vocabulary and outputMode \"tf_idf\", idfWeights must be given too.", nameof(idfWeights));
        if (vocabulary is not null) vocab.SetVocabulary(vocabulary, idfWeights);
        if (vocabularySize is long size && vocabulary is not null && size != vocab.VocabularySize)
            throw new ArgumentException($"StringLookup: vocabularySize {size} does not match the vocabulary ({vocab.VocabularySize} entries).",
                nameof(vocabularySize));
    }

    /// <summary>The vocabulary and its index layout (the ONNX exporter reads it).</summary>
    internal LookupVocabulary<string> Vocabulary => vocab;

    /// <summary>The largest vocabulary size, or null.</summary>
    public int? MaxTokens => vocab.MaxTokens;

    /// <summary>How many OOV indices.</summary>
    public int NumOovIndices => vocab.NumOovIndices;

    /// <summary>The mask token, or null.</summary>
    public string? MaskToken => vocab.HasMask ? vocab.MaskToken : null;

    /// <summary>The token an inverted lookup gives for OOV indices.</summary>
    public string OovToken => vocab.OovToken;

    /// <summary>Whether the layer maps indices to tokens.</summary>
    public bool Invert => vocab.Invert;

    /// <summary>The output mode (Keras's old names normalized).</summary>
    public string OutputMode => vocab.OutputMode;

    /// <summary>Whether encoded outputs are padded to maxTokens.</summary>
    public bool PadToMaxTokens => vocab.PadToMaxTokens;

    /// <summary>The vocabulary size with the special tokens.</summary>
    public long VocabularySize => vocab.VocabularySize;

    /// <summary>The TF-IDF weights in use, one per output column, or null.</summary>
    public IReadOnlyList<double>? IdfWeights => vocab.IdfWeights;

    /// <summary>Keras's <c>get_vocabulary</c>: the tokens in index order, the special tokens first when asked.</summary>
    public IReadOnlyList<string> GetVocabulary(bool includeSpecialTokens = true) => vocab.GetVocabulary(includeSpecialTokens);

    /// <summary>Keras's <c>set_vocabulary</c>.</summary>
    /// <exception cref="ArgumentException">An empty, repeated or too large vocabulary, or weights that do not fit.</exception>
    public void SetVocabulary(string[] vocabulary, double[]? idfWeights = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        vocab.SetVocabulary(vocabulary, idfWeights);
    }

    /// <summary>Learns the vocabulary; each string is one document (Keras expands a list of strings to one token per row).</summary>
    /// <exception cref="InvalidOperationException">The layer was given a vocabulary.</exception>
    /// <example><code>var lookup = new StringLookup(); lookup.Adapt(new[] { "b", "a", "b" });   // vocabulary [UNK], b, a</code></example>
    public void Adapt(IEnumerable<string> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        vocab.Adapt(data.Select(s => (IReadOnlyList<string>)[s]));
    }

    /// <summary>Learns the vocabulary from documents of tokens (rows of a batch, or tokenized texts of any length).</summary>
    /// <exception cref="InvalidOperationException">The layer was given a vocabulary.</exception>
    public void Adapt(IEnumerable<string[]> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        vocab.Adapt(documents);
    }

    /// <summary>Learns the vocabulary; each row is one document.</summary>
    /// <exception cref="InvalidOperationException">The layer was given a vocabulary.</exception>
    public void Adapt(string[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        vocab.Adapt(Rows(data));
    }

    /// <summary>Looks up a rank-1 array of tokens: int64 indices of shape [n], or an encoding over the whole array as one sample.</summary>
    /// <exception cref="InvalidOperationException">No vocabulary yet, or the layer is inverted (use <see cref="CallInverted"/>).</exception>
    /// <exception cref="ArgumentException">An OOV token when numOovIndices is 0.</exception>
    public KTensor Call(string[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Lookup(inputs, [inputs.Length]);
    }

    /// <summary>Looks up a batch of token rows: int64 indices of shape [rows, columns], or one encoded vector per row.</summary>
    /// <inheritdoc cref="Call(string[])"/>
    public KTensor Call(string[,] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Lookup(inputs.Cast<string>().ToArray(), [inputs.GetLength(0), inputs.GetLength(1)]);
    }

    /// <summary>The inverted lookup (a layer made with <c>invert: true</c>): index to token, OOV indices to the OOV token.</summary>
    /// <exception cref="InvalidOperationException">The layer is not inverted, or has no vocabulary.</exception>
    public string[] CallInverted(long[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (!Invert) throw new InvalidOperationException($"Layer '{Name}' (StringLookup) is not inverted; create it with invert: true.");
        RequireVocabulary();
        return vocab.InvertLookup(indices);
    }

    private KTensor Lookup(string[] values, long[] shape)
    {
        if (Invert)
            throw new InvalidOperationException($"Layer '{Name}' (StringLookup) is inverted: it maps indices to strings; call CallInverted.");
        RequireVocabulary();
        if (values.Any(v => v is null)) throw new ArgumentException($"Layer '{Name}' (StringLookup): the input has a null string.");
        var ids = vocab.Lookup(values, (v, n) => FarmHash.Bucket(v, n));
        return LookupOutput.Encode(new KTensor(tensor(ids, shape).to(Keras.Device)), vocab.OutputMode, vocab.Depth, vocab.IdfWeights);
    }

    private void RequireVocabulary()
    {
        if (!vocab.HasVocabulary)
            throw new InvalidOperationException($"Layer '{Name}' (StringLookup) has no vocabulary: pass vocabulary or call Adapt before using it.");
    }

    internal static IEnumerable<IReadOnlyList<string>> Rows(string[,] data) => Enumerable.Range(0, data.GetLength(0))
        .Select(r => (IReadOnlyList<string>)Enumerable.Range(0, data.GetLength(1)).Select(c => data[r, c]).ToArray());

    /// <summary>Not supported: tensors cannot hold strings.</summary>
    /// <exception cref="NotSupportedException">Always: call <see cref="Call(string[])"/> on the strings before the model.</exception>
    public override KTensor Call(KTensor inputs, bool training = false) => throw StringLayers.NotOnTensors(Name, "StringLookup");

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => LookupOutput.OutputShape(inputShape, OutputMode, vocab.Depth);

    /// <inheritdoc />
    /// <remarks>An adapted vocabulary is written to <c>vocabulary</c> with its special tokens; in a .keras archive, as Keras does,
    /// to <c>vocabulary.txt</c> in the archive's assets, with <c>vocabulary: null</c> in the config.</remarks>
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("invert", Invert).With("max_tokens", MaxTokens).With("num_oov_indices", NumOovIndices).With("oov_token", OovToken)
        .With("mask_token", MaskToken).With("output_mode", OutputMode).With("sparse", false).With("pad_to_max_tokens", PadToMaxTokens)
        .With("idf_weights", vocab.InputIdfWeights ?? (vocab.HasVocabulary ? vocab.IdfWeights?.Take((int)vocab.VocabularySize).ToArray() : null))
        .With("vocabulary", vocab.ConfigVocabulary)
        .With("vocabulary_size", vocab.HasVocabulary ? vocab.VocabularySize : null).With("encoding", "utf-8");

    bool Saving.IKerasAssets.UsesAssets => vocab.InAssets;

    bool Saving.IKerasAssets.ReadsAssets => vocab.InputVocabulary is null;

    IEnumerable<(string Name, byte[] Bytes)> Saving.IKerasAssets.SaveAssets()
    {
        var bytes = Saving.KerasAssets.WriteLines(vocab.GetVocabulary(true).Select(t => t));
        return [("vocabulary.txt", bytes)];
    }

    IEnumerable<(string Name, float[] Values)> Saving.IKerasAssets.SaveVariables() =>
        vocab.IdfVariable is { } idf ? [("idf_weights", idf)] : [];

    void Saving.IKerasAssets.LoadAssets(Func<string, byte[]?> read, Func<string, float[]?> variable, string where) =>
        vocab.LoadAsset(read("vocabulary.txt"), t => t, where, variable("idf_weights"));
}

/// <summary>The shared refusal of the string layers when called on tensors.</summary>
internal static class StringLayers
{
    public static NotSupportedException NotOnTensors(string name, string type) => new(
        $"Layer '{name}' ({type}) takes strings, which libtorch tensors (and so models and their ONNX export) cannot hold: call " +
        $"{type}.Call(string[]) in .NET before the model (for example in a Dataset map), feed its int64/float32 tensor to the model, " +
        "and run the same layer in .NET before OnnxModel at inference. See docs/layers.md, \"How string inputs flow in training\".");
}
