using System.Text;

namespace OnnxKeras.Examples.TextTransformer;

/// <summary>
/// A minimal word tokenizer in the manner of Keras's <c>TextVectorization(standardize="lower_and_strip_punctuation",
/// split="whitespace", output_mode="int", output_sequence_length=n)</c>: lower-case, ASCII punctuation removed, split on
/// whitespace; the vocabulary is the most frequent training tokens (ties in ordinal order), id 0 is padding and id 1
/// the out-of-vocabulary token; sequences are cut or padded with 0 at the end to a fixed length.
/// </summary>
internal sealed class Tokenizer
{
    /// <summary>Id of the padding token (Keras's <c>""</c>).</summary>
    public const int Pad = 0;

    /// <summary>Id of tokens outside the vocabulary (Keras's <c>"[UNK]"</c>).</summary>
    public const int Oov = 1;

    // Keras's DEFAULT_STRIP_REGEX: r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
    private const string Punctuation = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'";

    private readonly Dictionary<string, int> ids;

    private Tokenizer(IReadOnlyList<string> vocabulary)
    {
        Vocabulary = vocabulary;
        ids = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (int i = 2; i < vocabulary.Count; i++) ids.Add(vocabulary[i], i);
    }

    /// <summary>The vocabulary in id order: <c>""</c>, <c>"[UNK]"</c>, then the tokens by falling frequency.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>Builds the vocabulary from <paramref name="texts"/>: the <paramref name="maxTokens"/> - 2 most frequent tokens.</summary>
    public static Tokenizer Adapt(IEnumerable<string> texts, int maxTokens)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (var token in Split(text)) counts[token] = counts.GetValueOrDefault(token) + 1;
        }
        var top = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(maxTokens - 2).Select(kv => kv.Key);
        return new Tokenizer(["", "[UNK]", .. top]);
    }

    /// <summary>The tokens of <paramref name="text"/>: lower-cased, punctuation removed, split on whitespace.</summary>
    public static IEnumerable<string> Split(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant())
        {
            if (Punctuation.Contains(c)) continue;
            sb.Append(char.IsWhiteSpace(c) ? ' ' : c);
        }
        return sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Token ids of each text, cut or padded with <see cref="Pad"/> to <paramref name="length"/>, as float32 (the model's input type).</summary>
    public float[,] Encode(IReadOnlyList<string> texts, int length)
    {
        var result = new float[texts.Count, length];
        for (int i = 0; i < texts.Count; i++)
        {
            int j = 0;
            foreach (var token in Split(texts[i]))
            {
                if (j == length) break;
                result[i, j++] = ids.TryGetValue(token, out int id) ? id : Oov;
            }
        }
        return result;
    }
}
