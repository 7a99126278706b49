namespace OnnxKeras.Layers;

/// <summary>
/// Keras 3's <c>IndexLookup</c> (the shared base of IntegerLookup and StringLookup) for tokens of type
/// <typeparamref name="T"/> (long or string): argument checks, the vocabulary with its special tokens (mask at index 0
/// in "int" mode, then <c>num_oov_indices</c> OOV indices, then the tokens), <c>set_vocabulary</c>, <c>adapt</c>
/// (counts sorted by count descending, ties by token descending, as Keras's <c>np.lexsort(...)[::-1]</c>) and the
/// TF-IDF weights (<c>log(1 + num_documents / (1 + document_count))</c>, OOV weight the mean).
/// </summary>
internal sealed class LookupVocabulary<T> where T : notnull
{
    private readonly string layer;
    private readonly IComparer<T> tokenOrder;
    private readonly Dictionary<T, long> index = [];
    private List<T> tokens = [];

    public LookupVocabulary(string layer, IComparer<T> tokenOrder, int? maxTokens, int numOovIndices, bool hasMask, T maskToken,
        T oovToken, bool invert, string outputMode, bool sparse, bool padToMaxTokens, bool hasIdf)
    {
        this.layer = layer;
        this.tokenOrder = tokenOrder;
        if (maxTokens is <= 1)
            throw new ArgumentException($"{layer}: if set, maxTokens must be greater than 1; got {maxTokens}.", nameof(maxTokens));
        if (padToMaxTokens && maxTokens is null)
            throw new ArgumentException($"{layer}: padToMaxTokens requires maxTokens to be set.", nameof(padToMaxTokens));
        if (numOovIndices < 0)
            throw new ArgumentException($"{layer}: numOovIndices must be >= 0; got {numOovIndices}.", nameof(numOovIndices));
        outputMode = NormalizeMode(outputMode);
        if (outputMode is not ("int" or "one_hot" or "multi_hot" or "count" or "tf_idf"))
            throw new ArgumentException($"{layer}: outputMode must be \"int\", \"one_hot\", \"multi_hot\", \"count\" or \"tf_idf\"; " +
                $"got \"{outputMode}\".", nameof(outputMode));
        if (invert && outputMode != "int")
            throw new ArgumentException($"{layer}: outputMode must be \"int\" when invert is true; got \"{outputMode}\".", nameof(invert));
        if (sparse)
            throw new ArgumentException($"{layer}: sparse outputs are not supported (TorchSharp training and ONNX export use dense tensors).",
                nameof(sparse));
        if (hasIdf && outputMode != "tf_idf")
            throw new ArgumentException($"{layer}: idfWeights should only be set if outputMode is \"tf_idf\"; got \"{outputMode}\".");
        MaxTokens = maxTokens;
        NumOovIndices = numOovIndices;
        HasMask = hasMask;
        MaskToken = maskToken;
        OovToken = oovToken;
        Invert = invert;
        OutputMode = outputMode;
        PadToMaxTokens = padToMaxTokens;
    }

    /// <summary>Keras's deprecated output mode names: <c>"binary"</c> is multi_hot, <c>"tf-idf"</c> is tf_idf.</summary>
    public static string NormalizeMode(string mode) => mode switch { "binary" => "multi_hot", "tf-idf" => "tf_idf", _ => mode };

    public int? MaxTokens { get; }
    public int NumOovIndices { get; }
    public bool HasMask { get; }
    public T MaskToken { get; }
    public T OovToken { get; }
    public bool Invert { get; }
    public string OutputMode { get; }
    public bool PadToMaxTokens { get; }

    /// <summary>The vocabulary given to the constructor or set (as given, for the config), or null when adapted.</summary>
    public T[]? InputVocabulary { get; private set; }

    /// <summary>The IDF weights given with <see cref="InputVocabulary"/> (as given), or null.</summary>
    public double[]? InputIdfWeights { get; private set; }

    /// <summary>The TF-IDF weights in use, one per output column (front: OOV weight; back: zeros when padded), or null.</summary>
    public double[]? IdfWeights { get; private set; }

    /// <summary>Whether a vocabulary was set or adapted.</summary>
    public bool HasVocabulary { get; private set; }

    /// <summary>The first OOV index: 1 when the mask token takes index 0 (mask set, "int" mode), else 0.</summary>
    public long OovStart => HasMask && OutputMode == "int" ? 1 : 0;

    /// <summary>The index of the first vocabulary token.</summary>
    public long TokenStart => OovStart + NumOovIndices;

    /// <summary>The tokens, without special tokens, in index order.</summary>
    public IReadOnlyList<T> Tokens => tokens;

    /// <summary>The vocabulary size with the special tokens.</summary>
    public long VocabularySize => TokenStart + tokens.Count;

    /// <summary>The width of encoded outputs: maxTokens when padded, else the vocabulary size.</summary>
    public long Depth => PadToMaxTokens ? MaxTokens!.Value : VocabularySize;

    /// <summary>Keras's <c>get_vocabulary</c>: special tokens (mask at 0 in "int" mode, OOV tokens) first when asked.</summary>
    public List<T> GetVocabulary(bool includeSpecialTokens)
    {
        var vocab = new List<T>();
        if (includeSpecialTokens)
        {
            if (OovStart == 1) vocab.Add(MaskToken);
            for (int i = 0; i < NumOovIndices; i++) vocab.Add(OovToken);
        }
        vocab.AddRange(tokens);
        return vocab;
    }

    /// <summary>Keras's <c>set_vocabulary</c>: the tokens, with or without the leading special tokens, and the TF-IDF weights.</summary>
    public void SetVocabulary(IReadOnlyList<T> vocabulary, IReadOnlyList<double>? idfWeights)
    {
        if (OutputMode == "tf_idf" && idfWeights is null)
            throw new ArgumentException($"{layer}: idfWeights must be set with the vocabulary when outputMode is \"tf_idf\".");
        if (OutputMode != "tf_idf" && idfWeights is not null)
            throw new ArgumentException($"{layer}: idfWeights should only be set if outputMode is \"tf_idf\"; got \"{OutputMode}\".");
        if (vocabulary.Count == 0) throw new ArgumentException($"{layer}: cannot set an empty vocabulary.");
        var special = GetSpecialTokens();
        bool foundSpecial = vocabulary.Count >= special.Count && special.Select((t, i) => Eq(t, vocabulary[i])).All(b => b);
        var newTokens = (foundSpecial ? vocabulary.Skip(special.Count) : vocabulary).ToList();
        var repeated = newTokens.GroupBy(t => t).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (repeated.Count > 0)
            throw new ArgumentException($"{layer}: the vocabulary has repeated terms: {string.Join(", ", repeated)}.");
        if (HasMask && newTokens.Any(t => Eq(t, MaskToken)))
            throw new ArgumentException($"{layer}: the mask token {MaskToken} is in the vocabulary at an unexpected place; give the " +
                $"vocabulary without special tokens, or with them first in this order: [{string.Join(", ", special)}].");
        if (Invert && newTokens.Any(t => Eq(t, OovToken)))
            throw new ArgumentException($"{layer}: the OOV token {OovToken} is in the vocabulary at an unexpected place; give the " +
                $"vocabulary without special tokens, or with them first in this order: [{string.Join(", ", special)}].");
        if (MaxTokens is int max && TokenStart + newTokens.Count > max)
            throw new ArgumentException($"{layer}: the vocabulary has {TokenStart + newTokens.Count} entries with the special tokens, " +
                $"more than maxTokens ({max}).");
        double[]? weights = null;
        if (idfWeights is not null)
        {
            if (idfWeights.Count != vocabulary.Count)
                throw new ArgumentException($"{layer}: idfWeights must have one weight per vocabulary entry; got {idfWeights.Count} " +
                    $"weights for {vocabulary.Count} entries.");
            if (idfWeights.Any(w => !double.IsFinite(w))) throw new ArgumentException($"{layer}: idfWeights must be finite.");
            // Without special tokens, Keras gives the OOV (and mask) columns the average weight.
            var front = foundSpecial ? [] : Enumerable.Repeat(idfWeights.Average(), (int)TokenStart);
            weights = PadBack(front.Concat(idfWeights).Select(w => (double)(float)w).ToArray());
        }
        SetTokens(newTokens, weights);
        InputVocabulary = [.. vocabulary];
        InputIdfWeights = idfWeights?.ToArray();
    }

    /// <summary>
    /// Keras's <c>adapt</c>: counts every token of every document (a document is one entry of <paramref name="documents"/>),
    /// drops the mask and OOV tokens, keeps the most frequent (ties: the larger token first) up to maxTokens, and with
    /// TF-IDF computes each token's weight from the number of documents it occurs in.
    /// </summary>
    /// <exception cref="InvalidOperationException">A vocabulary was given: Keras refuses to adapt such a layer.</exception>
    public void Adapt(IEnumerable<IReadOnlyList<T>> documents)
    {
        if (InputVocabulary is not null)
            throw new InvalidOperationException($"{layer}: cannot adapt after setting a static vocabulary (the vocabulary argument).");
        var counts = new Dictionary<T, long>();
        var documentCounts = new Dictionary<T, long>();
        long numDocuments = 0;
        foreach (var doc in documents)
        {
            numDocuments++;
            foreach (var t in doc) counts[t] = counts.GetValueOrDefault(t) + 1;
            if (OutputMode == "tf_idf")
            {
                foreach (var t in doc.Distinct()) documentCounts[t] = documentCounts.GetValueOrDefault(t) + 1;
            }
        }
        if (counts.Count == 0) return; // as Keras: nothing seen, the vocabulary stays as it was
        if (HasMask) counts.Remove(MaskToken);
        counts.Remove(OovToken);
        IEnumerable<T> sorted = counts.Keys.OrderByDescending(t => counts[t]).ThenByDescending(t => t, tokenOrder);
        if (MaxTokens is int max) sorted = sorted.Take(Math.Max(0, max - (int)TokenStart));
        var learned = sorted.ToList();
        double[]? weights = null;
        if (OutputMode == "tf_idf")
        {
            // TensorFlow computes log(1 + n / (1 + df)) in float64 (int64 true division) and casts to float32.
            var idf = learned.Select(t => (float)Math.Log(1 + (double)numDocuments / (1 + documentCounts.GetValueOrDefault(t)))).ToArray();
            float mean = idf.Length == 0 ? 0 : idf.Sum() / idf.Length;
            weights = PadBack(Enumerable.Repeat((double)mean, (int)TokenStart).Concat(idf.Select(w => (double)w)).ToArray());
        }
        SetTokens(learned, weights);
        InputVocabulary = null;
        InputIdfWeights = null;
    }

    /// <summary>
    /// Whether a <c>.keras</c> archive keeps the vocabulary in <c>vocabulary.txt</c> (Keras's <c>save_assets</c>: when no
    /// vocabulary was given); a TF-IDF layer's weights then go to its <c>idf_weights</c> variable
    /// (<see cref="IdfVariable"/>), as Keras's <c>save_own_variables</c> writes them.
    /// </summary>
    public bool InAssets => InputVocabulary is null;

    /// <summary>
    /// Keras's <c>idf_weights</c> variable of an adapted TF-IDF layer (<c>save_own_variables</c>: <c>idf_weights_const</c>,
    /// one float32 per output column: the OOV weight first, zeros at the back when padded); null otherwise.
    /// </summary>
    public float[]? IdfVariable => OutputMode == "tf_idf" && InAssets && IdfWeights is { } w ? [.. w.Select(x => (float)x)] : null;

    /// <summary>The config's <c>vocabulary</c>: as given, or an adapted one with its special tokens (a <c>.keras</c> archive
    /// writes null instead when it goes to assets: <see cref="Saving.KerasAssets.SerializeForArchive"/>).</summary>
    public T[]? ConfigVocabulary => InputVocabulary ?? (HasVocabulary ? [.. GetVocabulary(true)] : null);

    /// <summary>Keras's <c>load_assets</c>: sets the vocabulary (special tokens included) read from <c>vocabulary.txt</c>,
    /// keeping it out of the config as an adapted one.</summary>
    /// <exception cref="InvalidDataException">The file is missing, not UTF-8, has a token <paramref name="parse"/> refuses,
    /// or a vocabulary this layer cannot take.</exception>
    /// <remarks>A TF-IDF layer takes its weights from <paramref name="idfVariable"/>, the <c>idf_weights</c> variable Keras's
    /// <c>load_own_variables</c> reads from <c>model.weights.h5</c> before the assets (with <c>pad_to_max_tokens</c> it
    /// holds maxTokens weights, the vocabulary's first).</remarks>
    public void LoadAsset(byte[]? bytes, Func<string, T> parse, string where, float[]? idfVariable = null)
    {
        var lines = Saving.KerasAssets.ReadLines(bytes, "vocabulary.txt", where);
        if (lines.Count == 0) throw new InvalidDataException($"{where}: 'vocabulary.txt' is empty (Keras cannot set an empty vocabulary).");
        var values = new List<T>(lines.Count);
        foreach (var line in lines)
        {
            try
            {
                values.Add(parse(line));
            }
            catch (FormatException e)
            {
                throw new InvalidDataException($"{where}: 'vocabulary.txt' line {values.Count + 1} ('{line}') is not a valid token: {e.Message}", e);
            }
        }
        double[]? idf = null;
        if (OutputMode == "tf_idf")
        {
            if (idfVariable is null)
            {
                // Keras writes only the special tokens, and no weights, for a TF-IDF layer never adapted.
                if (values.Count <= TokenStart) return;
                throw new InvalidDataException($"{where}: the layer's output_mode is \"tf_idf\" and its vocabulary is in 'vocabulary.txt', " +
                    "but model.weights.h5 has no 'idf_weights' variable for it (Keras keeps an adapted layer's TF-IDF weights there).");
            }
            int n = values.Count;
            if (idfVariable.Length != n && !(PadToMaxTokens && idfVariable.Length == MaxTokens && n <= idfVariable.Length))
                throw new InvalidDataException($"{where}: 'idf_weights' has {idfVariable.Length} weights for the {n} entries of " +
                    "'vocabulary.txt'; they must match one to one.");
            idf = [.. idfVariable.Take(n).Select(w => (double)w)];
        }
        try
        {
            SetVocabulary(values, idf);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{where}: 'vocabulary.txt' does not fit the layer: {e.Message}", e);
        }
        InputVocabulary = null;
        InputIdfWeights = null;
        if (tokens.Count == 0) HasVocabulary = false; // Keras writes only the special tokens for a layer never adapted
    }

    /// <summary>The index of each token (Keras's table lookup), the mask and OOV rules applied; <paramref name="oovBucket"/>
    /// hashes an OOV token to one of <c>numOovIndices</c> (> 1) buckets.</summary>
    /// <exception cref="ArgumentException">An OOV token when numOovIndices is 0.</exception>
    public long[] Lookup(IReadOnlyList<T> values, Func<T, int, long> oovBucket)
    {
        var result = new long[values.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var v = values[i];
            if (HasMask && Eq(v, MaskToken)) result[i] = OutputMode == "int" ? 0 : Depth; // Depth: dropped by the encoding
            else if (index.TryGetValue(v, out var found)) result[i] = found;
            else if (NumOovIndices == 0)
                throw new ArgumentException($"{layer}: with numOovIndices 0 every input must be in the vocabulary; found {v}. " +
                    "Consider numOovIndices: 1.");
            else result[i] = NumOovIndices == 1 ? OovStart : OovStart + oovBucket(v, NumOovIndices);
        }
        return result;
    }

    /// <summary>Keras's inverted lookup: index 0 is the mask token (when set), token indices their token, any other the OOV token.</summary>
    public T[] InvertLookup(IReadOnlyList<long> ids) => ids.Select(i =>
        HasMask && i == 0 ? MaskToken : i >= TokenStart && i < VocabularySize ? tokens[(int)(i - TokenStart)] : OovToken).ToArray();

    private List<T> GetSpecialTokens() => GetVocabulary(includeSpecialTokens: true).Take((int)TokenStart).ToList();

    private double[] PadBack(double[] weights) =>
        PadToMaxTokens && MaxTokens is int max && weights.Length < max ? [.. weights, .. new double[max - weights.Length]] : weights;

    private void SetTokens(List<T> newTokens, double[]? weights)
    {
        tokens = newTokens;
        index.Clear();
        for (int i = 0; i < tokens.Count; i++) index[tokens[i]] = TokenStart + i;
        IdfWeights = weights;
        HasVocabulary = true;
    }

    private static bool Eq(T a, T b) => EqualityComparer<T>.Default.Equals(a, b);
}

/// <summary>Strings ordered as numpy orders Python bytes: by their UTF-8 bytes (Keras sorts adapted string tokens so).</summary>
internal sealed class Utf8Order : IComparer<string>
{
    public static readonly Utf8Order Instance = new();

    public int Compare(string? x, string? y) =>
        ((ReadOnlySpan<byte>)System.Text.Encoding.UTF8.GetBytes(x ?? "")).SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(y ?? ""));
}
