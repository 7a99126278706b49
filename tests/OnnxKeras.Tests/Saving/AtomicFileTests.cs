using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>Temporary files left by killed saves are removed by the next save of the same target, and only those.</summary>
public class AtomicFileTests
{
    private const string Hex = "0123456789abcdef0123456789abcdef";

    private static string Make(TempDir dir, string name, TimeSpan age)
    {
        var p = dir.File(name);
        File.WriteAllText(p, "partial");
        File.SetLastWriteTimeUtc(p, DateTime.UtcNow - age);
        return p;
    }

    [Fact]
    public void TheNextSaveRemovesAbandonedTemporaryFilesOfItsTargetOnly()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), AtomicFile.StaleAge);
        using var dir = NewTempDir();
        var old = TimeSpan.FromMinutes(10);
        var abandoned = Make(dir, $".w.safetensors.{Hex}.tmp", old);
        var abandoned2 = Make(dir, $".w.safetensors.{Guid.NewGuid():N}.tmp", old);
        var fresh = Make(dir, $".w.safetensors.{Hex.Replace('0', '1')}.tmp", TimeSpan.FromSeconds(5));   // maybe still being written
        var held = Make(dir, $".w.safetensors.{Hex.Replace('0', '2')}.tmp", old);                        // open by a writer
        var otherTarget = Make(dir, $".v.safetensors.{Hex}.tmp", old);
        var notOurs = Make(dir, ".w.safetensors.backup.tmp", old);
        var upperHex = Make(dir, $".w.safetensors.{Hex.ToUpperInvariant()}.tmp", old);
        var longer = Make(dir, $".w.safetensors.{Hex}0.tmp", old);
        using (new FileStream(held, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            using var model = new Sequential(new InputLayer([2]), new Dense(1));
            model.SaveWeights(dir.File("w.safetensors"));
        }
        Assert.False(File.Exists(abandoned));
        Assert.False(File.Exists(abandoned2));
        foreach (var kept in new[] { fresh, held, otherTarget, notOurs, upperHex, longer }) Assert.True(File.Exists(kept), kept);
        Assert.True(File.Exists(dir.File("w.safetensors")));
        // Once the writer lets go, the following save removes it too.
        AtomicFile.Write(dir.File("w.safetensors"), s => s.WriteByte(1));
        Assert.False(File.Exists(held));
        Assert.Equal([1], File.ReadAllBytes(dir.File("w.safetensors")));
    }

    [Fact]
    public void AFailedWriteLeavesTheTargetAsItWasAndNoTemporaryFile()
    {
        using var dir = NewTempDir();
        var target = dir.File("report.json");
        AtomicFile.Write(target, s => s.Write("old"u8));
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, s =>
        {
            s.Write("half of the new"u8);
            throw new InvalidOperationException("serializer failed");
        }));
        Assert.Equal("serializer failed", e.Message);
        Assert.Equal("old"u8.ToArray(), File.ReadAllBytes(target));
        Assert.Equal([target], Directory.GetFiles(Path.GetDirectoryName(target)!));
        Assert.Throws<ArgumentNullException>(() => AtomicFile.Write(target, null!));
        Assert.Throws<ArgumentException>(() => AtomicFile.Write("", s => { }));
    }
}
