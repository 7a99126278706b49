using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace OnnxKeras.Bench;

/// <summary>
/// What a run measured, section by section: every benchmark writes its lines through <see cref="Line"/> and
/// <see cref="Heading"/>, which print them (as before) and keep them under the current section. At the end of the
/// run <see cref="Write"/> puts them into a markdown file (bench/RESULTS.md for the <c>all</c> mode) with a header
/// (command, date, machine, libraries, thread settings) and a fixed paragraph per section that says what is measured
/// and how. The fixed paragraphs hold no measured numbers: those are only in the tables.
/// </summary>
internal static class Report
{
    private sealed class Section(string id)
    {
        public string Id { get; } = id;
        public List<string> Lines { get; } = [];
    }

    private static readonly List<Section> sections = [];
    private static Section? current;
    private static readonly Stopwatch clock = Stopwatch.StartNew();
    private static readonly string loadAtStart = LoadAverage();
    private static readonly DateTime started = DateTime.UtcNow;

    /// <summary>Starts (or continues) section <paramref name="id"/>: later lines go there.</summary>
    public static void Begin(string id)
    {
        current = sections.FirstOrDefault(s => s.Id == id);
        if (current is null)
        {
            current = new Section(id);
            sections.Add(current);
        }
    }

    /// <summary>A line of output: printed, and kept for the report (tables, result lines).</summary>
    public static void Line(string text = "")
    {
        Console.WriteLine(text);
        current?.Lines.Add(text);
    }

    /// <summary>A table's title: printed as "## title", kept as a "### title" subheading under the section.</summary>
    public static void Heading(string title)
    {
        Console.WriteLine();
        Console.WriteLine("## " + title);
        if (current is null) return;
        if (current.Lines.Count > 0) current.Lines.Add("");
        current.Lines.Add("### " + title);
        current.Lines.Add("");
    }

    /// <summary>Where the report goes (null: this run prints only); image links are written relative to it.</summary>
    public static string? OutputPath { get; set; }

    /// <summary>An image for the report (not printed), linked relative to <see cref="OutputPath"/>.</summary>
    public static void Image(string alt, string file)
    {
        if (current is null || OutputPath is null) return;
        current.Lines.Add("");
        current.Lines.Add($"![{alt}]({Relative(OutputPath, file)})");
        current.Lines.Add("");
    }

    /// <summary>Lines for the report only (e.g. a table read from a file), not printed.</summary>
    public static void Keep(IEnumerable<string> lines) => current?.Lines.AddRange(lines);

    /// <summary>Whether section <paramref name="id"/> has output.</summary>
    public static bool Has(string id) => sections.Any(s => s.Id == id && s.Lines.Count > 0);

    /// <summary>
    /// Writes the report to <paramref name="path"/> through a temporary file and a rename, so a reader never sees half a
    /// report and an interrupted run leaves the previous one in place.
    /// </summary>
    public static void Write(string path, string command, IReadOnlyList<string> notes)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Benchmark results");
        sb.AppendLine();
        sb.AppendLine("Written by the benchmark program itself; do not edit by hand (rerun the command instead).");
        sb.AppendLine();
        sb.AppendLine($"- Command: `{command}`");
        sb.AppendLine($"- Date: {started:yyyy-MM-dd HH:mm} UTC; the run took {Duration(clock.Elapsed)}");
        foreach (var (key, value) in Machine()) sb.AppendLine($"- {key}: {value}");
        sb.AppendLine($"- Load average (1, 5, 15 min) at the start: {loadAtStart}; at the end: {LoadAverage()}");
        foreach (var note in notes) sb.AppendLine($"- {note}");
        sb.AppendLine();
        sb.AppendLine(Prose.Introduction);
        foreach (var (id, title, prose) in Prose.Sections)
        {
            var s = sections.FirstOrDefault(x => x.Id == id);
            if (s is null || s.Lines.Count == 0) continue;
            sb.AppendLine();
            sb.AppendLine("## " + title);
            sb.AppendLine();
            if (prose.Length > 0)
            {
                sb.AppendLine(prose);
                sb.AppendLine();
            }
            // Lines arrive as printed: drop leading and doubled blank lines.
            bool blank = true;
            foreach (var line in s.Lines)
            {
                bool isBlank = string.IsNullOrWhiteSpace(line);
                if (isBlank && blank) continue;
                sb.AppendLine(line);
                blank = isBlank;
            }
        }
        string text = sb.ToString().TrimEnd() + "\n";
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + ".tmp";
        File.WriteAllText(tmp, text, new UTF8Encoding(false));
        File.Move(tmp, full, overwrite: true);
        Console.WriteLine();
        Console.WriteLine($"Report written to {full}.");
    }

    /// <summary>The machine and the libraries, as "key: value" lines of the header.</summary>
    public static IEnumerable<(string, string)> Machine()
    {
        string cpu = FirstMatch("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        string? memKb = FirstMatch("/proc/meminfo", "MemTotal")?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        string memory = memKb is not null ? $"{long.Parse(memKb, CultureInfo.InvariantCulture) / 1048576.0:0.0} GiB" : "unknown";
        string os = OsName() ?? RuntimeInformation.OSDescription;
        yield return ("Machine", $"{Environment.ProcessorCount} logical cores ({cpu}), {memory} memory, {os} ({RuntimeInformation.OSArchitecture}, kernel {Environment.OSVersion.Version})");
        yield return (".NET", $"{RuntimeInformation.FrameworkDescription} ({(Debugger.IsAttached ? "debugger attached" : "Release build, no debugger")}, server GC {System.Runtime.GCSettings.IsServerGC})");
        yield return ("TorchSharp", $"{Package("TorchSharp") ?? "?"} with libtorch {Package("libtorch-cpu-linux-x64") ?? Package("libtorch-cpu") ?? "(not from NuGet)"} on {Keras.Device.type}");
        string ort;
        try { ort = OrtEnv.Instance().GetVersionString(); }
        catch (Exception e) { ort = "not loaded (" + e.GetType().Name + ")"; }
        yield return ("ONNX Runtime", $"{ort} (package {Package("Microsoft.ML.OnnxRuntime") ?? Package("Microsoft.ML.OnnxRuntime.Gpu.Linux") ?? "?"}), CPU execution provider");
        string omp = Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is { } o ? $", OMP_NUM_THREADS={o}" : "";
        yield return ("Threads", $"libtorch intra-op {TorchSharp.torch.get_num_threads()}, inter-op {TorchSharp.torch.get_num_interop_threads()}{omp}; ONNX Runtime intra-op threads as each section says");
    }

    /// <summary>A package's version from this program's deps.json (what the build resolved).</summary>
    private static string? Package(string name)
    {
        try
        {
            var deps = Directory.GetFiles(AppContext.BaseDirectory, "*.deps.json").FirstOrDefault();
            if (deps is null) return null;
            using var doc = JsonDocument.Parse(File.ReadAllText(deps));
            foreach (var lib in doc.RootElement.GetProperty("libraries").EnumerateObject())
            {
                int slash = lib.Name.IndexOf('/');
                if (slash > 0 && lib.Name[..slash].Equals(name, StringComparison.OrdinalIgnoreCase)) return lib.Name[(slash + 1)..];
            }
        }
        catch (IOException) { }
        catch (JsonException) { }
        return null;
    }

    private static string? FirstMatch(string file, string key)
    {
        if (!File.Exists(file)) return null;
        var line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line is null ? null : line[(line.IndexOf(':') + 1)..].Trim();
    }

    private static string? OsName() =>
        File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?[12..].Trim('"')
            : null;

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string Duration(TimeSpan t) => t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} min {t.Seconds} s" : $"{t.TotalSeconds:0} s";

    /// <summary>The path of <paramref name="file"/> relative to the folder of <paramref name="reportPath"/>, with forward slashes.</summary>
    public static string Relative(string reportPath, string file) =>
        Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(reportPath))!, Path.GetFullPath(file)).Replace('\\', '/');
}
