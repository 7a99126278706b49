using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;
using Xunit.Abstractions;

namespace OnnxKeras.Tests.Examples;

/// <summary>
/// The README's quick-start block, taken from README.md itself, compiled with Roslyn against this build and run: the
/// README cannot drift from the API (ReadmeQuickStartTests, a copy with assertions, checks that it learns).
/// </summary>
public sealed class MarkdownSnippetTests(ITestOutputHelper output)
{
    /// <summary>The C# code blocks under the heading <paramref name="heading"/> of <paramref name="markdown"/>, up to the next
    /// heading of the same level.</summary>
    internal static IReadOnlyList<string> CSharpBlocks(string markdown, string heading)
    {
        int start = markdown.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no heading '{heading}'");
        string level = heading[..(heading.IndexOf(' ') + 1)];
        int end = markdown.IndexOf("\n" + level, start + heading.Length + 2, StringComparison.Ordinal);
        string section = end < 0 ? markdown[start..] : markdown[start..end];
        return Regex.Matches(section, "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
    }

    private static string RepositoryFile(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "OnnxKeras.sln"))) return Path.Combine(d.FullName, name);
        throw new FileNotFoundException($"No OnnxKeras.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>Compiles top-level C# against the platform and the OnnxKeras assemblies and returns the assembly.</summary>
    private static Assembly Compile(string code)
    {
        _ = typeof(OnnxKeras.Export.OnnxExportOptions); // load OnnxKeras.Export so that its location is known
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic && a.Location.Length > 0).Select(a => a.Location))
            .Distinct(StringComparer.Ordinal)
            .Select(path => MetadataReference.CreateFromFile(path));
        // The implicit global usings of a `dotnet new console` project (ImplicitUsings), where a reader pastes the block.
        const string implicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; " +
            "global using System.Linq; global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create("ReadmeQuickStart",
            [CSharpSyntaxTree.ParseText(implicitUsings, options), CSharpSyntaxTree.ParseText(code, options)],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(result.Success, "The README's quick-start does not compile:\n" + string.Join("\n", errors));
        return Assembly.Load(image.ToArray());
    }

    [Fact]
    public void TheReadmeQuickStartCompilesAndRunsAsWritten()
    {
        var blocks = CSharpBlocks(File.ReadAllText(RepositoryFile("README.md")).ReplaceLineEndings("\n"), "## Quick start");
        Assert.NotEmpty(blocks);
        string code = blocks[0];
        Assert.Contains("Mnist.Load()", code, StringComparison.Ordinal);
        Assert.Contains("ExportOnnx(", code, StringComparison.Ordinal);
        var assembly = Compile(code);

        // The snippet writes model.onnx to the working folder: run it in a temporary one.
        string previous = Directory.GetCurrentDirectory();
        string dir = Directory.CreateTempSubdirectory("onnxkeras-readme-").FullName;
        var stdout = Console.Out;
        var captured = new StringWriter();
        try
        {
            Directory.SetCurrentDirectory(dir);
            Console.SetOut(captured);
            var entry = assembly.EntryPoint!;
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            Assert.True(new FileInfo(Path.Combine(dir, "model.onnx")).Length > 100_000, "the quick-start did not export model.onnx");
        }
        finally
        {
            Console.SetOut(stdout);
            Directory.SetCurrentDirectory(previous);
            Directory.Delete(dir, recursive: true);
        }
        output.WriteLine(captured.ToString().Split('\n').LastOrDefault(l => l.Contains("val_", StringComparison.Ordinal)) ?? "");
    }
}
