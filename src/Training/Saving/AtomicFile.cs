namespace OnnxKeras.Saving;

/// <summary>
/// Writes a file atomically: a temporary file <c>.&lt;name&gt;.&lt;32 hex digits&gt;.tmp</c> in the same folder, flushed
/// to disk, then renamed over the target. A process killed while writing leaves its temporary file behind; the next
/// write of the same target removes such leftovers: those named by this writer's pattern for that target, unmodified for
/// <see cref="StaleAge"/> and not held open by another writer. Model and weight saving, checkpoints and the plotting
/// library write their files with it.
/// </summary>
public static class AtomicFile
{
    /// <summary>How long a temporary file must have gone unmodified before it counts as abandoned: 1 minute.</summary>
    public static TimeSpan StaleAge { get; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Writes <paramref name="path"/> atomically: <paramref name="write"/> fills a new temporary file next to it, which is
    /// flushed to disk and then renamed over <paramref name="path"/>, so readers see the old file or the complete new one,
    /// never a partial one. The folder is created if needed. If <paramref name="write"/> throws, the temporary file is
    /// deleted, the target is left as it was, and the exception propagates.
    /// </summary>
    /// <param name="path">The file to write (replaced if it exists).</param>
    /// <param name="write">Writes the contents to the stream it is given (do not dispose it).</param>
    /// <example><code>AtomicFile.Write("report.json", stream => JsonSerializer.Serialize(stream, report));</code></example>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        RemoveStaleTemporaryFiles(full);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files that earlier writes of <paramref name="fullPath"/> left behind. A file is deleted only
    /// if all of these hold: its name is exactly <c>.&lt;target name&gt;.&lt;32 lowercase hex digits&gt;.tmp</c> (this
    /// writer's pattern, for this target only); it was last modified more than <see cref="StaleAge"/> ago; and it can be
    /// opened exclusively, which fails while a writer (which holds its file with <see cref="FileShare.None"/>, an
    /// exclusive lock on Linux and Windows) is still writing it. Failures to inspect or delete are ignored.
    /// </summary>
    internal static void RemoveStaleTemporaryFiles(string fullPath)
    {
        var dir = Path.GetDirectoryName(fullPath)!;
        string prefix = "." + Path.GetFileName(fullPath) + ".";
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(dir, prefix + "*.tmp").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var file in candidates)
        {
            var name = Path.GetFileName(file);
            if (name.Length != prefix.Length + 32 + 4 || !name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(".tmp", StringComparison.Ordinal)
                || name.AsSpan(prefix.Length, 32).ContainsAnyExcept("0123456789abcdef"))
                continue;
            try
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(file) <= StaleAge) continue;
                using var held = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use by a writer, or already gone: leave it.
            }
        }
    }
}
