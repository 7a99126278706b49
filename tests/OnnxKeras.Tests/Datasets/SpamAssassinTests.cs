using System.IO.Compression;
using System.Text;
using OnnxKeras.Datasets;
using Xunit;

namespace OnnxKeras.Tests.Datasets;

/// <summary>
/// The bundled SpamAssassin subset (data/spam/spam2k.tsv.gz) and its loader's refusal of damaged files. The expected
/// figures were computed from the file with Python's gzip module, independently of the loader:
/// <c>L = gzip.open('data/spam/spam2k.tsv.gz').read().decode('utf-8').split('\n')[:-1]</c>, label = <c>l[0]</c>,
/// text = <c>l[2:]</c>, lengths in UTF-16 code units.
/// </summary>
public class SpamAssassinTests
{
    private static string RepoFile(string relative)
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "OnnxKeras.sln")))
            root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException("repository root not found");
        return Path.Combine(root, relative);
    }

    [Fact]
    public void EmbeddedCopyHoldsTheDocumentedSplitsAndTexts()
    {
        var data = SpamAssassin.Load();
        Assert.Equal(1600, data.TrainTexts.Length);
        Assert.Equal(1600, data.TrainLabels.Length);
        Assert.Equal(400, data.TestTexts.Length);
        Assert.Equal(400, data.TestLabels.Length);
        Assert.Equal(800, data.TrainLabels.Count(l => l == 1));
        Assert.Equal(200, data.TestLabels.Count(l => l == 1));
        Assert.All(data.TrainLabels.Concat(data.TestLabels), l => Assert.InRange(l, 0, 1));
        // Labels of the first 16 lines of each split, text anchors and total text lengths (Python, see the class comment).
        Assert.Equal("1110001101011011", string.Concat(data.TrainLabels.Take(16)));
        Assert.Equal("1111011100010111", string.Concat(data.TestLabels.Take(16)));
        Assert.StartsWith("Help Your Body Regain Strength!! drsjc Lose weig", data.TrainTexts[1]);
        Assert.StartsWith("There is a Genuine Log Home in YOUR Future... There is a G", data.TrainTexts[^1]);
        Assert.StartsWith("Refinance or MortgageFKZQELJHYNO What a Loan From &nbsp= ;", data.TestTexts[0]);
        Assert.EndsWith(" for any inconvenience. jiocdhkevgjeftbjegpaerthqftuuiofljey", data.TestTexts[^1]);
        Assert.Equal(1303449, data.TrainTexts.Sum(t => t.Length));
        Assert.Equal(322528, data.TestTexts.Sum(t => t.Length));
        Assert.All(data.TrainTexts.Concat(data.TestTexts), t => Assert.InRange(t.Length, 1, SpamAssassin.MaxTextLength));
    }

    [Fact]
    public void TheRepositoryFileLoadsToTheSameDataAsTheEmbeddedCopy()
    {
        var embedded = SpamAssassin.Load();
        var file = SpamAssassin.Load(RepoFile(SpamAssassin.RelativePath));
        Assert.Equal(embedded.TrainTexts, file.TrainTexts);
        Assert.Equal(embedded.TrainLabels, file.TrainLabels);
        Assert.Equal(embedded.TestTexts, file.TestTexts);
        Assert.Equal(embedded.TestLabels, file.TestLabels);
    }

    [Fact]
    public void AMissingFileIsFileNotFound()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-spam-{Guid.NewGuid():N}.tsv.gz");
        var e = Assert.Throws<FileNotFoundException>(() => SpamAssassin.Load(path));
        Assert.Contains(path, e.Message);
    }

    // The real file's lines, so that each damaged file differs from a valid one in exactly one way.
    private static List<string> RealLines()
    {
        using var gzip = new GZipStream(File.OpenRead(RepoFile(SpamAssassin.RelativePath)), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, new UTF8Encoding(false, true));
        var lines = reader.ReadToEnd().Split('\n').ToList();
        Assert.Equal("", lines[^1]);
        lines.RemoveAt(lines.Count - 1);
        Assert.Equal(2000, lines.Count);
        return lines;
    }

    private static string Gzip(byte[] content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"spam-{Guid.NewGuid():N}.tsv.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
            gzip.Write(content);
        return path;
    }

    private static string Gzip(IEnumerable<string> lines, bool finalLineFeed = true) =>
        Gzip(Encoding.UTF8.GetBytes(string.Join("\n", lines) + (finalLineFeed ? "\n" : "")));

    private static void AssertInvalid(string path, string expected)
    {
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => SpamAssassin.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(expected, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TheUnchangedLinesRewrittenLoad()
    {
        var path = Gzip(RealLines());
        try
        {
            Assert.Equal(SpamAssassin.Load().TestTexts, SpamAssassin.Load(path).TestTexts);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NotGzipIsRefused() =>
        AssertInvalid(WriteRaw("1\tplain text, not gzip\n"u8.ToArray()), "damaged or not gzip");

    [Fact]
    public void ATruncatedGzipStreamIsRefused()
    {
        var whole = File.ReadAllBytes(RepoFile(SpamAssassin.RelativePath));
        AssertInvalid(WriteRaw(whole[..(whole.Length / 2)]), "is invalid");
    }

    [Fact]
    public void InvalidUtf8IsRefused()
    {
        var lines = RealLines();
        var bytes = Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");
        bytes[5] = 0xFF; // inside the text of the first line
        AssertInvalid(Gzip(bytes), "not valid UTF-8");
    }

    [Fact]
    public void AMissingFinalLineFeedIsRefused() => AssertInvalid(Gzip(RealLines(), finalLineFeed: false), "line feed");

    [Fact]
    public void OneLineTooFewIsRefused() => AssertInvalid(Gzip(RealLines().Take(1999)), "holds 1999 lines, expected 2000");

    [Fact]
    public void OneLineTooManyIsRefused()
    {
        var lines = RealLines();
        lines.Add(lines[0]);
        AssertInvalid(Gzip(lines), "more than 2000 lines");
    }

    [Fact]
    public void AnEmptyLineIsRefused()
    {
        var lines = RealLines();
        lines.Insert(10, "");
        lines.RemoveAt(lines.Count - 1);
        AssertInvalid(Gzip(lines), "line 11 is not 'label TAB text'");
    }

    [Fact]
    public void ALabelOtherThanZeroOrOneIsRefused()
    {
        var lines = RealLines();
        lines[41] = "2" + lines[41][1..];
        AssertInvalid(Gzip(lines), "line 42 has label '2'");
    }

    [Fact]
    public void ASpaceInsteadOfTheTabIsRefused()
    {
        var lines = RealLines();
        lines[7] = lines[7][0] + " " + lines[7][2..];
        AssertInvalid(Gzip(lines), "line 8 is not 'label TAB text'");
    }

    [Fact]
    public void ATabInsideTheTextIsRefused()
    {
        var lines = RealLines();
        lines[1700] = lines[1700][..6] + "\t" + lines[1700][6..];
        AssertInvalid(Gzip(lines), "line 1701 holds a tab at column 7");
    }

    [Fact]
    public void ATextOverOneThousandCharactersIsRefused()
    {
        var lines = RealLines();
        lines[3] = lines[3][..2] + new string('x', 1001);
        AssertInvalid(Gzip(lines), "line 4 has 1001 characters");
    }

    [Fact]
    public void UnbalancedSplitsAreRefused()
    {
        // Relabelling one ham message of the test split as spam leaves 199 ham and 201 spam there.
        var lines = RealLines();
        int ham = lines.FindIndex(1600, l => l[0] == '0');
        lines[ham] = "1" + lines[ham][1..];
        AssertInvalid(Gzip(lines), "the test split has 199 ham and 201 spam messages, expected 200 of each");
    }

    [Fact]
    public void MoreTextThanTheFormatCanHoldIsRefusedBeforeDecoding()
    {
        // 2,000 lines of at most 1,000 UTF-16 code units: at most 2,000 x (3 x 1,000 + 3) = 6,006,000 bytes of UTF-8.
        var bytes = new byte[6_006_001];
        bytes.AsSpan().Fill((byte)'a');
        AssertInvalid(Gzip(bytes), "more than 6006000 bytes of text");
    }

    private static string WriteRaw(byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"spam-{Guid.NewGuid():N}.tsv.gz");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
