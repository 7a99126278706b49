using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Turns texts into token indices or bag-of-words vectors (Keras 3's <c>keras.layers.TextVectorization</c>): each text is
/// standardized (<c>"lower_and_strip_punctuation"</c>, <c>"lower"</c>, <c>"strip_punctuation"</c> or null; lower-casing is
/// ASCII-only and the stripped punctuation is ASCII's, as TensorFlow's <c>strings.lower</c> and Keras's regex), split
/// (<c>"whitespace"</c> runs, <c>"character"</c> code points, or null: the whole text is one token), optionally turned into
/// n-grams joined by a space, and looked up in a StringLookup with mask token <c>""</c> and OOV token <c>"[UNK]"</c>.
/// "int" gives int64 rows padded with 0 (or cut) to <c>outputSequenceLength</c>, or to the longest text; "multi_hot",
/// "count", "tf_idf" and "one_hot" give float32 vectors. Libtorch has no string tensors: the layer runs in .NET on texts
/// before the tensor model (<see cref="Call(string[])"/>), and does not export to ONNX (docs/layers.md, "How string
/// inputs flow in training").
/// </summary>
/// <example><code>
/// var vectorize = new TextVectorization(outputSequenceLength: 4);
/// vectorize.Adapt(new[] { "foo bar", "bar baz", "baz bada boom" });
/// KTensor ids = vectorize.Call(new[] { "foo qux bar", "qux baz" });   // [[4, 1, 3, 0], [1, 2, 0, 0]]
/// </code></example>
public sealed class TextVectorization : Layer, Saving.IKerasAssets
{
    private const string Punctuation = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'";
    private readonly LookupVocabulary<string> vocab;
    private readonly int[]? ngramWidths;
    private readonly object? ngramsArgument;

    /// <summary>Creates the layer.</summary>
    /// <param name="maxTokens">The largest vocabulary (with the padding and OOV tokens) Adapt keeps; null for no limit.</param>
    /// <param name="standardize"><c>"lower_and_strip_punctuation"</c>, <c>"lower"</c>, <c>"strip_punctuation"</c> or null.</param>
    /// <param name="split"><c>"whitespace"</c>, <c>"character"</c> or null.</param>
    /// <param name="ngrams">Null; an integer n (all 1- to n-grams); or an array of n-gram widths.</param>
    /// <param name="outputMode"><c>"int"</c>, <c>"one_hot"</c>, <c>"multi_hot"</c>, <c>"count"</c> or <c>"tf_idf"</c>.</param>
    /// <param name="outputSequenceLength">With "int": the length rows are padded or cut to; null for the longest text.</param>
    /// <param name="padToMaxTokens">Encoded outputs have maxTokens columns whatever the vocabulary size.</param>
    /// <param name="vocabulary">The vocabulary (with or without the leading <c>""</c> and <c>"[UNK]"</c>); null to Adapt.</param>
    /// <param name="idfWeights">With "tf_idf" and a vocabulary: one weight per vocabulary entry.</param>
    /// <param name="sparse">Only false.</param>
    /// <param name="ragged">Only false.</param>
    /// <param name="encoding">Only <c>"utf-8"</c>.</param>
    /// <param name="vocabularySize">Keras's saved vocabulary size (read from configs).</param>
    /// <exception cref="ArgumentException">An argument Keras refuses (or a callable standardize/split, not supported here).</exception>
    public TextVectorization(int? maxTokens = null, string? standardize = "lower_and_strip_punctuation", string? split = "whitespace",
        object? ngrams = null, string outputMode = "int", int? outputSequenceLength = null, bool padToMaxTokens = false,
        string[]? vocabulary = null, double[]? idfWeights = null, bool sparse = false, bool ragged = false, string encoding = "utf-8",
        long? vocabularySize = null)
    {
        if (standardize is not (null or "lower_and_strip_punctuation" or "lower" or "strip_punctuation"))
            throw new ArgumentException("TextVectorization: standardize must be \"lower_and_strip_punctuation\", \"lower\", " +
                $"\"strip_punctuation\" or null; got \"{standardize}\".", nameof(standardize));
        if (split is not (null or "whitespace" or "character"))
            throw new ArgumentException($"TextVectorization: split must be \"whitespace\", \"character\" or null; got \"{split}\".", nameof(split));
        outputMode = LookupVocabulary<string>.NormalizeMode(outputMode);
        if (outputMode != "int" && outputSequenceLength is not null)
            throw new ArgumentException($"TextVectorization: outputSequenceLength must not be set if outputMode is not \"int\"; got {outputSequenceLength}.",
                nameof(outputSequenceLength));
        if (outputSequenceLength is < 0)
            throw new ArgumentException($"TextVectorization: outputSequenceLength must be >= 0; got {outputSequenceLength}.", nameof(outputSequenceLength));
        if (LookupVocabulary<string>.NormalizeMode(outputMode) == "one_hot" && split is not null)
            throw new ArgumentException("TextVectorization: outputMode \"one_hot\" is supported only with split null (one token per text); " +
                "use \"multi_hot\" or \"count\" for split texts.", nameof(outputMode));
        if (ragged) throw new ArgumentException("TextVectorization: ragged outputs are not supported (dense tensors only).", nameof(ragged));
        if (encoding.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant() != "utf8")
            throw new ArgumentException($"TextVectorization: only the \"utf-8\" encoding is supported; got \"{encoding}\".", nameof(encoding));
        (ngramsArgument, ngramWidths) = ParseNgrams(ngrams);
        vocab = new LookupVocabulary<string>("TextVectorization", Utf8Order.Instance, maxTokens, 1, true, "", "[UNK]", false, outputMode,
            sparse, padToMaxTokens, idfWeights is not null);
        if (vocab.OutputMode == "tf_idf" && vocabulary is not null && idfWeights is null)
            throw new ArgumentException("TextVectorization: with a vocabulary and outputMode \"tf_idf\", idfWeights must be given too.", nameof(idfWeights));
        if (vocabulary is not null) vocab.SetVocabulary(vocabulary, idfWeights);
        if (vocabularySize is long size && vocabulary is not null && size != vocab.VocabularySize)
            throw new ArgumentException($"TextVectorization: vocabularySize {size} does not match the vocabulary ({vocab.VocabularySize} entries).",
                nameof(vocabularySize));
        Standardize = standardize;
        Split = split;
        OutputSequenceLength = outputSequenceLength;
    }

    private static (object?, int[]?) ParseNgrams(object? ngrams)
    {
        static bool IsNumber(object? v) => v is int or long or short or byte or double or float or decimal;
        static int Width(object? v)
        {
            double d = IsNumber(v) ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : double.NaN;
            return d >= 1 && d <= int.MaxValue && d == Math.Floor(d) ? (int)d
                : throw new ArgumentException($"TextVectorization: ngrams must be null, a positive integer or positive integers; got {v}.", nameof(ngrams));
        }
        switch (ngrams)
        {
            case null: return (null, null);
            case var single when IsNumber(single):
                int n = Width(single);
                return (n, Enumerable.Range(1, n).ToArray());
            case System.Collections.IEnumerable items and not string:
                var widths = items.Cast<object?>().Select(Width).ToArray();
                return (widths, widths);
            default:
                throw new ArgumentException($"TextVectorization: ngrams must be null, an integer or integers; got {ngrams}.", nameof(ngrams));
        }
    }

    /// <summary>The standardization, or null.</summary>
    public string? Standardize { get; }

    /// <summary>The split, or null.</summary>
    public string? Split { get; }

    /// <summary>The n-gram widths, or null.</summary>
    public IReadOnlyList<int>? Ngrams => ngramWidths;

    /// <summary>The output mode.</summary>
    public string OutputMode => vocab.OutputMode;

    /// <summary>With "int": the padded length, or null.</summary>
    public int? OutputSequenceLength { get; }

    /// <summary>The largest vocabulary size, or null.</summary>
    public int? MaxTokens => vocab.MaxTokens;

    /// <summary>Whether encoded outputs are padded to maxTokens.</summary>
    public bool PadToMaxTokens => vocab.PadToMaxTokens;

    /// <summary>The vocabulary size with the padding and OOV tokens.</summary>
    public long VocabularySize => vocab.VocabularySize;

    /// <summary>The TF-IDF weights in use, one per output column, or null.</summary>
    public IReadOnlyList<double>? IdfWeights => vocab.IdfWeights;

    /// <summary>Keras's <c>get_vocabulary</c>: <c>""</c> and <c>"[UNK]"</c> first (only <c>"[UNK]"</c> in encoded modes) when asked.</summary>
    public IReadOnlyList<string> GetVocabulary(bool includeSpecialTokens = true) => vocab.GetVocabulary(includeSpecialTokens);

    /// <summary>Keras's <c>set_vocabulary</c>.</summary>
    /// <exception cref="ArgumentException">An empty, repeated or too large vocabulary, or weights that do not fit.</exception>
    public void SetVocabulary(string[] vocabulary, double[]? idfWeights = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        vocab.SetVocabulary(vocabulary, idfWeights);
    }

    /// <summary>Learns the vocabulary from texts, each one document (Keras's adapt on a list of strings).</summary>
    /// <exception cref="InvalidOperationException">The layer was given a vocabulary.</exception>
    public void Adapt(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        vocab.Adapt(texts.Select(t => (IReadOnlyList<string>)Tokenize(t)));
    }

    /// <summary>The tokens of one text after standardization, split and n-grams (Keras's <c>_preprocess</c>).</summary>
    public string[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Standardize is "lower" or "lower_and_strip_punctuation") text = AsciiLower(text);
        if (Standardize is "strip_punctuation" or "lower_and_strip_punctuation")
            text = string.Concat(text.Where(c => !Punctuation.Contains(c, StringComparison.Ordinal)));
        string[] tokens = Split switch
        {
            "whitespace" => text.Split([' ', '\t', '\n', '\v', '\f', '\r'], StringSplitOptions.RemoveEmptyEntries),
            "character" => text.EnumerateRunes().Select(r => r.ToString()).ToArray(),
            _ => [text],
        };
        if (ngramWidths is null) return tokens;
        var grams = new List<string>();
        foreach (int width in ngramWidths)
        {
            for (int i = 0; i + width <= tokens.Length; i++) grams.Add(string.Join(' ', tokens, i, width));
        }
        return [.. grams];
    }

    private static string AsciiLower(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (char c in s) b.Append(c is >= 'A' and <= 'Z' ? (char)(c + 32) : c);
        return b.ToString();
    }

    /// <summary>
    /// Vectorizes texts: "int" gives int64 [texts, length] (0-padded to outputSequenceLength, or to the longest text);
    /// the other modes float32 [texts, vocabulary size (or maxTokens)], each text one sample.
    /// </summary>
    /// <exception cref="InvalidOperationException">No vocabulary yet.</exception>
    public KTensor Call(string[] texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (!vocab.HasVocabulary)
            throw new InvalidOperationException($"Layer '{Name}' (TextVectorization) has no vocabulary: pass vocabulary or call Adapt before using it.");
        if (texts.Any(t => t is null)) throw new ArgumentException($"Layer '{Name}' (TextVectorization): the input has a null text.");
        var rows = texts.Select(t => vocab.Lookup(Tokenize(t), (v, n) => FarmHash.Bucket(v, n))).ToArray();
        if (OutputMode == "int")
        {
            int length = OutputSequenceLength ?? (rows.Length == 0 ? 0 : rows.Max(r => r.Length));
            var ids = new long[texts.Length * length];
            for (int r = 0; r < rows.Length; r++) Array.Copy(rows[r], 0, ids, r * length, Math.Min(length, rows[r].Length));
            return new KTensor(tensor(ids, [texts.Length, length]).to(Keras.Device));
        }
        // Each text is one sample: encode row by row (rows differ in length), then stack.
        // one_hot (split null) has one token per text: its row is the count row.
        string mode = OutputMode == "one_hot" ? "count" : OutputMode;
        var encoded = rows.Select(r => LookupOutput.Encode(new KTensor(tensor(r, [r.Length])), mode, vocab.Depth, vocab.IdfWeights).Value).ToArray();
        long depth = vocab.Depth;
        var result = encoded.Length == 0 ? zeros(0, depth) : stack(encoded);
        foreach (var e in encoded) e.Dispose();
        return new KTensor(result.to(Keras.Device));
    }

    /// <summary>Not supported: tensors cannot hold strings.</summary>
    /// <exception cref="NotSupportedException">Always: call <see cref="Call(string[])"/> on the texts before the model.</exception>
    public override KTensor Call(KTensor inputs, bool training = false) => throw StringLayers.NotOnTensors(Name, "TextVectorization");

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        OutputMode == "int" ? new Shape(inputShape[0], OutputSequenceLength) : new Shape(inputShape[0], vocab.Depth);

    /// <inheritdoc />
    /// <remarks>An adapted vocabulary is written to <c>vocabulary</c> with its special tokens; in a .keras archive, as Keras does,
    /// to <c>vocabulary.txt</c> in the archive's assets, with <c>vocabulary: null</c> in the config.</remarks>
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("max_tokens", MaxTokens).With("standardize", Standardize).With("split", Split).With("ngrams", ngramsArgument)
        .With("output_mode", OutputMode).With("output_sequence_length", OutputSequenceLength).With("pad_to_max_tokens", PadToMaxTokens)
        .With("sparse", false).With("ragged", false)
        .With("vocabulary", vocab.ConfigVocabulary)
        .With("idf_weights", vocab.InputIdfWeights ?? (vocab.HasVocabulary ? vocab.IdfWeights?.Take((int)vocab.VocabularySize).ToArray() : null))
        .With("encoding", "utf-8").With("vocabulary_size", vocab.HasVocabulary ? vocab.VocabularySize : null);

    bool Saving.IKerasAssets.UsesAssets => vocab.InAssets;

    bool Saving.IKerasAssets.ReadsAssets => vocab.InputVocabulary is null;

    IEnumerable<(string Name, byte[] Bytes)> Saving.IKerasAssets.SaveAssets()
    {
        var bytes = Saving.KerasAssets.WriteLines(vocab.GetVocabulary(true).Select(t => t));
        return [("vocabulary.txt", bytes), ("_lookup_layer/vocabulary.txt", bytes)];
    }

    IEnumerable<(string Name, float[] Values)> Saving.IKerasAssets.SaveVariables() =>
        vocab.IdfVariable is { } idf ? [("idf_weights", idf), ("_lookup_layer/idf_weights", idf)] : [];

    void Saving.IKerasAssets.LoadAssets(Func<string, byte[]?> read, Func<string, float[]?> variable, string where) =>
        vocab.LoadAsset(read("vocabulary.txt"), t => t, where, variable("idf_weights"));
}
