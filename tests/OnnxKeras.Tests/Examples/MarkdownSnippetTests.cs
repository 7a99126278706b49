using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit;
using Xunit.Abstractions;

namespace OnnxKeras.Tests.Examples;

/// <summary>
/// The C# blocks of README.md, docs/*.md and src/*/README.md, taken from the Markdown itself, compiled with Roslyn against
/// this build and run in a temporary folder: the docs cannot drift from the API. How a block is checked is said by an
/// HTML comment on the line before its fence (invisible when rendered, visible in the source), see <see cref="Snippets"/>;
/// the setups a fragment may name are <see cref="Setups"/>. ReadmeQuickStartTests, a copy with assertions, checks that
/// the quick-start learns.
/// </summary>
public sealed class MarkdownSnippetTests(ITestOutputHelper output)
{
    /// <summary>The usings of the README's quick-start: a fragment "with" a setup is read as if it followed them.</summary>
    private static readonly string[] QuickStartUsings =
        ["OnnxKeras", "OnnxKeras.Callbacks", "OnnxKeras.Data", "OnnxKeras.Datasets", "OnnxKeras.Export", "OnnxKeras.Layers",
         "OnnxKeras.Models", "OnnxKeras.Optimizers"];

    /// <summary>The implicit global usings of a <c>dotnet new console</c> project (ImplicitUsings), where a reader pastes a block.</summary>
    private const string ImplicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; " +
        "global using System.Linq; global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";

    // Small random data with the names the docs use (seeded; 784 features as MNIST, 10 classes).
    private const string DataSetup = """
        var setupRandom = new Random(7);
        float[,] SetupRows(int n, int d) { var a = new float[n, d]; for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) a[i, j] = (float)setupRandom.NextDouble(); return a; }
        float[,] SetupOneHot(int n) { var a = new float[n, 10]; for (int i = 0; i < n; i++) a[i, setupRandom.Next(10)] = 1; return a; }
        float[,] x = SetupRows(64, 784), testX = SetupRows(8, 784);
        int[] y = Enumerable.Range(0, 64).Select(_ => setupRandom.Next(10)).ToArray();
        float[,] trainX = SetupRows(64, 784), trainY = SetupOneHot(64), valX = SetupRows(16, 784), valY = SetupOneHot(16);
        Dataset valDs = Dataset.FromTensorSlices(valX, valY).Batch(8);
        float[,] xa = SetupRows(16, 8), xb = SetupRows(16, 8), ys = SetupRows(16, 1);
        int[] yc = Enumerable.Range(0, 16).Select(_ => setupRandom.Next(3)).ToArray();

        """;

    private const string ModelSetup = """
        var model = new Sequential(new InputLayer([784]), new Dense(16, activation: "relu"), new Dense(10, activation: "softmax"));
        model.Compile(optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);

        """;

    private const string OnnxFileSetup = """
        { var exported = new Sequential(new InputLayer([784]), new Dense(10, activation: "softmax")); exported.ExportOnnx("model.onnx"); exported.Dispose(); }

        """;

    /// <summary>
    /// What a fragment may name after <c>with</c>: code placed before it (and type declarations after it), with the
    /// quick-start's usings. Each defines the variables its description lists; the names are those the docs use.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, (string Description, string Statements, string Declarations)> Setups =
        new Dictionary<string, (string, string, string)>
        {
            ["usings"] = ("the quick-start's usings only", "", ""),
            ["data"] = ("x [64, 784], y (int labels), testX [8, 784], trainX/trainY/valX/valY (one-hot), valDs, xa/xb [16, 8], yc, ys",
                        DataSetup, ""),
            ["model"] = ("data, and model: a compiled Sequential 784-16-10", DataSetup + ModelSetup, ""),
            ["history"] = ("model, and history: two epochs of model.Fit(x, y)",
                           DataSetup + ModelSetup + "History history = model.Fit(x, y, epochs: 2, verbose: 0);\n", ""),
            ["onnx-file"] = ("data, and model.onnx (784 -> 10) in the working folder", DataSetup + OnnxFileSetup, ""),
            ["onnx-model"] = ("onnx-file, and model: that file loaded as an OnnxModel; pixels: one float[784] sample",
                              DataSetup + OnnxFileSetup +
                              "using var model = OnnxKeras.Inference.OnnxModel.Load(\"model.onnx\"); float[] pixels = new float[784];\n", ""),
            ["two-input-model"] = ("data, and model: inputs a, b [8], outputs cls (3 classes) and score [1], compiled", DataSetup + """
                Model model;
                {
                    var setupA = Keras.Input([8], name: "a"); var setupB = Keras.Input([8], name: "b");
                    var setupMerged = new Concatenate().Apply([setupA, setupB]);
                    model = new Model([setupA, setupB], [new Dense(3, activation: "softmax") { Name = "cls" }.Apply(setupMerged), new Dense(1) { Name = "score" }.Apply(setupMerged)]);
                    model.Compile("adam", outputLosses: new() { ["cls"] = "sparse_categorical_crossentropy", ["score"] = "mse" });
                }

                """, ""),
            ["raw-layer"] = ("a layer MyRawAbs that computes with TorchSharp directly (no Ops)", "", """

                public sealed class MyRawAbs : Layer
                {
                    public override KTensor Call(KTensor inputs, bool training = false) => new KTensor(inputs.Value.abs());
                }
                """),
        };

    /// <summary>One C# block of a Markdown file and how it is checked.</summary>
    /// <param name="File">The Markdown file, relative to the repository root.</param>
    /// <param name="Line">The 1-based line of the block's first code line.</param>
    /// <param name="Mode"><c>run</c> (compile and run), <c>compile-only</c> or <c>skip</c>.</param>
    /// <param name="Setup">The setup named with <c>with</c>; null for a complete program.</param>
    /// <param name="Reason">Why a block is compile-only or skipped.</param>
    internal sealed record Snippet(string File, int Line, string Code, string Mode, string? Setup, string? Reason)
    {
        public override string ToString() => $"{File}:{Line}";
    }

    private static readonly Regex Fence = new(@"^(?<indent>\s*)```\s*(?<lang>[^\s`]*)\s*$");
    private static readonly Regex Marker = new(
        @"^\s*<!--\s*snippet:\s*(?<mode>run|compile-only|skip)?\s*(with\s+(?<setup>[a-z0-9-]+))?\s*(\((?<reason>.*\S.*)\))?\s*-->\s*$");

    /// <summary>
    /// The C# blocks (fences tagged <c>csharp</c>, <c>cs</c> or <c>c#</c>) of <paramref name="markdown"/>. A block with no
    /// marker is a complete program: compiled with only a console project's implicit usings and run. A marker is an HTML
    /// comment on the line right before the fence: <c>&lt;!-- snippet: [run|compile-only|skip] [with SETUP] [(reason)] --&gt;</c>;
    /// <c>with SETUP</c> makes the block a fragment that follows the quick-start's usings and the setup's code
    /// (<see cref="Setups"/>); <c>compile-only</c> and <c>skip</c> need a reason. Malformed markers, unknown setups and
    /// markers before anything but a C# fence go to <paramref name="problems"/>.
    /// </summary>
    internal static IReadOnlyList<Snippet> Snippets(string file, string markdown, List<string> problems)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var result = new List<Snippet>();
        for (int i = 0; i < lines.Length; i++)
        {
            bool isMarker = lines[i].TrimStart().StartsWith("<!-- snippet", StringComparison.Ordinal);
            var open = Fence.Match(lines[i]);
            if (isMarker && (i + 1 >= lines.Length || !IsCSharpFence(Fence.Match(lines[i + 1]))))
                problems.Add($"{file}:{i + 1}: a snippet marker must be on the line right before a ```csharp fence");
            if (!open.Success) continue; // a fence opens a block (any info string); the next bare fence closes it
            int close = i + 1;
            while (close < lines.Length && !(Fence.Match(lines[close]) is { Success: true } m && m.Groups["lang"].Value.Length == 0)) close++;
            if (IsCSharpFence(open))
            {
                string indent = open.Groups["indent"].Value;
                string code = string.Join("\n", lines[(i + 1)..Math.Min(close, lines.Length)]
                    .Select(l => l.StartsWith(indent, StringComparison.Ordinal) ? l[indent.Length..] : l)) + "\n";
                string mode = "run";
                string? setup = null, reason = null;
                if (i > 0 && lines[i - 1].TrimStart().StartsWith("<!-- snippet", StringComparison.Ordinal))
                {
                    var m = Marker.Match(lines[i - 1]);
                    if (!m.Success || (!m.Groups["mode"].Success && !m.Groups["setup"].Success))
                        problems.Add($"{file}:{i}: malformed snippet marker '{lines[i - 1].Trim()}'");
                    mode = m.Groups["mode"].Success ? m.Groups["mode"].Value : "run";
                    setup = m.Groups["setup"].Success ? m.Groups["setup"].Value : null;
                    reason = m.Groups["reason"].Success ? m.Groups["reason"].Value.Trim() : null;
                    if (mode != "run" && reason is null)
                        problems.Add($"{file}:{i}: a '{mode}' snippet marker needs a reason in parentheses");
                    if (setup is not null && !Setups.ContainsKey(setup))
                        problems.Add($"{file}:{i}: unknown snippet setup '{setup}' (known: {string.Join(", ", Setups.Keys)})");
                }
                result.Add(new Snippet(file, i + 2, code, mode, setup, reason));
            }
            i = close;
        }
        return result;
    }

    private static bool IsCSharpFence(Match fence) =>
        fence.Success && fence.Groups["lang"].Value.ToLowerInvariant() is "csharp" or "cs" or "c#";

    /// <summary>README.md, docs/*.md and src/*/README.md, relative to the repository root.</summary>
    internal static IReadOnlyList<string> MarkdownFiles()
    {
        string root = RepositoryRoot();
        return new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md"))
            .Concat(Directory.GetDirectories(Path.Combine(root, "src")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists))
            .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static IReadOnlyList<Snippet> AllSnippetsOf(List<string> problems) =>
        MarkdownFiles().SelectMany(f => Snippets(f, File.ReadAllText(Path.Combine(RepositoryRoot(), f)), problems)).ToList();

    /// <summary>Every C# block of the docs, as "file:line".</summary>
    public static TheoryData<string> AllSnippets()
    {
        var data = new TheoryData<string>();
        foreach (var s in AllSnippetsOf([])) data.Add(s.ToString());
        return data;
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "OnnxKeras.sln"))) return d.FullName;
        throw new FileNotFoundException($"No OnnxKeras.sln above {AppContext.BaseDirectory}.");
    }

    private static string RepositoryFile(string name) => Path.Combine(RepositoryRoot(), name);

    [Fact]
    public void EveryMarkdownFileIsReadAndEveryMarkerIsWellFormed()
    {
        var files = MarkdownFiles();
        Assert.Contains("README.md", files);
        Assert.Contains("docs/training.md", files);
        Assert.Contains("src/Inference/README.md", files);
        var problems = new List<string>();
        var snippets = AllSnippetsOf(problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        // The README alone has five C# blocks; skipped blocks stay rare and each says why.
        Assert.True(snippets.Count(s => s.File == "README.md") >= 5, $"found {snippets.Count(s => s.File == "README.md")} blocks in README.md");
        Assert.All(snippets.Where(s => s.Mode != "run"), s => Assert.False(string.IsNullOrWhiteSpace(s.Reason)));
        foreach (var s in snippets.Where(s => s.Mode != "run")) output.WriteLine($"{s}: {s.Mode} ({s.Reason})");
        Assert.True(snippets.Count(s => s.Mode == "skip") <= 2, "more than two skipped blocks: make them compile");
    }

    [Fact]
    public void TheParserFindsMarkersSetupsAndIndentedBlocks()
    {
        const string md = "# T\n\n```csharp\nConsole.WriteLine(1);\n```\n\n<!-- snippet: compile-only with model (writes files) -->\n" +
                          "```cs\nmodel.Summary();\n```\n\n1. item\n\n   ```csharp\n   int a = 1;\n   ```\n\n```bash\necho hi\n```\n" +
                          "<!-- snippet: skip -->\n```csharp\nx\n```\n<!-- snippet: with nothing -->\n```c#\ny\n```\n<!-- snippet: run -->\n\ntext\n";
        var problems = new List<string>();
        var snippets = Snippets("t.md", md, problems);
        Assert.Equal(["t.md:4", "t.md:9", "t.md:15", "t.md:23", "t.md:27"], snippets.Select(s => s.ToString()));
        Assert.Equal(("run", null, null), (snippets[0].Mode, snippets[0].Setup, snippets[0].Reason));
        Assert.Equal(("compile-only", "model", "writes files"), (snippets[1].Mode, snippets[1].Setup, snippets[1].Reason));
        Assert.Equal("int a = 1;\n", snippets[2].Code);
        Assert.Equal(
            ["t.md:21: a 'skip' snippet marker needs a reason in parentheses",
             "t.md:25: unknown snippet setup 'nothing' (known: " + string.Join(", ", Setups.Keys) + ")",
             "t.md:29: a snippet marker must be on the line right before a ```csharp fence"],
            problems);
    }

    [Fact]
    public void ARunBlockLeavesNoRegisteredClassBehind()
    {
        // The tests have their own [RegisterSerializable("MyLayer")] MyLayer: were the block's class still loaded, the
        // registry's scan of the loaded assemblies would meet two classes named Custom>MyLayer and throw "already registered".
        var image = Compile("""
            using OnnxKeras.Layers;
            Console.WriteLine(typeof(MyLayer).Name);
            [RegisterSerializable("MyLayer")]
            public sealed class MyLayer : Layer { public override OnnxKeras.KTensor Call(OnnxKeras.KTensor inputs, bool training = false) => inputs; }
            """, ImplicitUsings, OutputKind.ConsoleApplication, "test block");
        Assert.Equal("MyLayer\n", Run(image, _ => { }).ReplaceLineEndings("\n"));
        var e = Assert.Throws<ArgumentException>(() => OnnxKeras.Layers.LayerRegistry.Resolve("NoSuchDocsLayer"));
        Assert.StartsWith("Unknown layer class 'NoSuchDocsLayer'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AllSnippets))]
    public void DocsSnippetCompilesAndRuns(string id)
    {
        var snippet = AllSnippetsOf([]).Single(s => s.ToString() == id);
        if (snippet.Mode == "skip")
        {
            output.WriteLine($"skipped: {snippet.Reason}");
            return;
        }
        var (image, hasStatements) = Compile(snippet);
        if (snippet.Mode == "compile-only" || !hasStatements)
        {
            output.WriteLine(snippet.Mode == "compile-only" ? $"compiled, not run: {snippet.Reason}" : "compiled (declarations only: nothing to run)");
            return;
        }
        output.WriteLine(Run(image, _ => { }));
    }

    /// <summary>
    /// Compiles a block as a program (setup usings, setup statements, the block, setup declarations; <c>#line</c>
    /// directives point errors at the Markdown file's lines). Returns the assembly and whether it has statements to run.
    /// </summary>
    private static (byte[] Image, bool HasStatements) Compile(Snippet snippet)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        string usings = ImplicitUsings;
        string statements = "", declarations = "";
        if (snippet.Setup is { } name)
        {
            usings += " " + string.Join(" ", QuickStartUsings.Select(u => $"global using {u};"));
            (_, statements, declarations) = Setups[name];
        }
        // The block's own using directives must come first in its file: split them off the rest.
        var parsed = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(snippet.Code, options).GetRoot();
        int usingsEnd = parsed.Usings.Count == 0 ? 0 : parsed.Usings[^1].FullSpan.End;
        int restLine = snippet.Line + snippet.Code[..usingsEnd].Count(c => c == '\n');
        string file = snippet.File;
        string code = $"#line {snippet.Line} \"{file}\"\n{snippet.Code[..usingsEnd]}\n#line 1 \"setup {snippet.Setup}\"\n{statements}\n" +
                      $"#line {restLine} \"{file}\"\n{snippet.Code[usingsEnd..]}\n#line 1 \"setup {snippet.Setup} declarations\"\n{declarations}\n";
        var tree = CSharpSyntaxTree.ParseText(code, options);
        bool hasStatements = tree.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();
        var image = Compile(code, usings, hasStatements ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary, $"{snippet}");
        return (image, hasStatements);
    }

    /// <summary>Compiles C# against the platform and the OnnxKeras assemblies and returns the assembly's image.</summary>
    private static byte[] Compile(string code, string usings, OutputKind kind, string what)
    {
        _ = typeof(OnnxKeras.Export.OnnxExportOptions); // load OnnxKeras.Export, Plotting and the CLI so that their locations are known
        _ = typeof(OnnxKeras.Plotting.HistoryPlot);
        _ = typeof(OnnxKeras.Data.Images.ImageUtils);
        _ = typeof(OnnxKeras.Cli.Serving.KServeServer);
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic && a.Location.Length > 0).Select(a => a.Location))
            .Distinct(StringComparer.Ordinal)
            .Select(path => MetadataReference.CreateFromFile(path));
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create("DocsSnippet" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(usings, options), CSharpSyntaxTree.ParseText(code, options)],
            references,
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(result.Success, $"The C# block {what} does not compile:\n" + string.Join("\n", errors));
        return image.ToArray();
    }

    /// <summary>
    /// Runs a compiled program in a new temporary working folder with its console output captured; <paramref name="check"/>
    /// sees the folder before it is deleted. Returns the output. The program is loaded into a collectible load context that
    /// is unloaded afterwards: the docs declare classes such as <c>[RegisterSerializable("MyLayer")] MyLayer</c> that would
    /// otherwise stay in the process and clash with the tests' own when LayerRegistry scans the loaded assemblies.
    /// </summary>
    private static string Run(byte[] image, Action<string> check)
    {
        var (captured, context) = RunInContext(image, check);
        for (int i = 0; i < 20 && context.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(context.IsAlive && DeclaresRegisteredTypes(image),
            "the docs block's assembly, which declares [RegisterSerializable] classes, is still loaded after its run");
        return captured;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (string Output, WeakReference Context) RunInContext(byte[] image, Action<string> check)
    {
        string previous = Directory.GetCurrentDirectory();
        string dir = Directory.CreateTempSubdirectory("onnxkeras-snippet-").FullName;
        var stdout = Console.Out;
        var captured = new StringWriter();
        var context = new System.Runtime.Loader.AssemblyLoadContext("docs-snippet", isCollectible: true);
        try
        {
            Directory.SetCurrentDirectory(dir);
            Console.SetOut(captured);
            var entry = context.LoadFromStream(new MemoryStream(image)).EntryPoint!;
            try
            {
                entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            }
            check(dir);
        }
        finally
        {
            Console.SetOut(stdout);
            Directory.SetCurrentDirectory(previous);
            Directory.Delete(dir, recursive: true);
            context.Unload();
        }
        return (captured.ToString(), new WeakReference(context));
    }

    /// <summary>Whether the compiled block declares a class marked with RegisterSerializable (read from its metadata, not loaded).</summary>
    private static bool DeclaresRegisteredTypes(byte[] image)
    {
        using var pe = new System.Reflection.PortableExecutable.PEReader(new MemoryStream(image));
        var md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        return md.TypeReferences.Any(h => md.GetString(md.GetTypeReference(h).Name) == nameof(OnnxKeras.Layers.RegisterSerializableAttribute));
    }

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

    [Fact]
    public void TheReadmeQuickStartCompilesAndRunsAsWritten()
    {
        var blocks = CSharpBlocks(File.ReadAllText(RepositoryFile("README.md")).ReplaceLineEndings("\n"), "## Quick start");
        Assert.NotEmpty(blocks);
        string code = blocks[0];
        Assert.Contains("Mnist.Load()", code, StringComparison.Ordinal);
        Assert.Contains("ExportOnnx(", code, StringComparison.Ordinal);
        var image = Compile(code, ImplicitUsings, OutputKind.ConsoleApplication, "README.md quick-start");

        // The snippet writes model.onnx to the working folder (a temporary one).
        string captured = Run(image, dir =>
            Assert.True(new FileInfo(Path.Combine(dir, "model.onnx")).Length > 100_000, "the quick-start did not export model.onnx"));
        output.WriteLine(captured.Split('\n').LastOrDefault(l => l.Contains("val_", StringComparison.Ordinal)) ?? "");
    }
}
