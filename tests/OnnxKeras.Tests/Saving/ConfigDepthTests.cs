using System.Text;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using Xunit;

namespace OnnxKeras.Tests.Saving;

/// <summary>Deeply nested configs are refused with InvalidDataException, without recursion deep enough to overflow the stack.</summary>
public class ConfigDepthTests
{
    private static string Nested(string open, string close, int depth, string inner = "") => new StringBuilder().Insert(0, open, depth).Append(inner).Insert(depth * open.Length + inner.Length, close, depth).ToString();

    /// <summary>A block mapping "a:\n  a:\n    a: ..." nested <paramref name="depth"/> levels deep.</summary>
    private static string BlockMapping(int depth)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < depth; i++) sb.Append(' ', i).Append("a:\n");
        sb.Append(' ', depth).Append("1\n");
        return sb.ToString();
    }

    [Fact]
    public void TheLimitIs64LevelsForJsonAndYaml()
    {
        Assert.Equal(64, ModelConfig.MaxDepth);
        // 64 nested arrays are read (the root is level 1); 65 are refused.
        var ok = ModelConfig.ParseJson(Nested("[", "]", 64));
        for (int i = 0; i < 63; i++) ok = Assert.Single(Assert.IsType<List<object?>>(ok));
        Assert.Empty(Assert.IsType<List<object?>>(ok));
        Assert.Contains("deeper than 64", Assert.Throws<InvalidDataException>(() => ModelConfig.ParseJson(Nested("[", "]", 65))).Message);
        Assert.Equal(Nested("[", "]", 64), ConfigYaml.ToJson(Nested("[", "]", 64)));
        Assert.Contains("deeper than 64", Assert.Throws<InvalidDataException>(() => ConfigYaml.ToJson(Nested("[", "]", 65))).Message);
        Assert.Contains("deeper than 64", Assert.Throws<InvalidDataException>(() => ConfigYaml.ToJson(BlockMapping(65))).Message);
    }

    [Theory]
    [InlineData(2_000)]
    [InlineData(5_000)]
    public void ModeratelyDeepConfigsThrowInvalidDataException(int depth)
    {
        // These depths used to throw InvalidOperationException (System.Text.Json's writer limit) from FromYaml.
        Assert.Throws<InvalidDataException>(() => Model.FromYaml(Nested("[", "]", depth)));
        Assert.Throws<InvalidDataException>(() => Model.FromYaml(BlockMapping(depth)));
        Assert.Throws<InvalidDataException>(() => Model.FromJson(Nested("[", "]", depth)));
        Assert.Throws<InvalidDataException>(() => Model.FromJson(Nested("{\"a\":", "}", depth, "1")));
    }

    [Fact]
    public void HostileDepthsAreRefusedOnASmallStack()
    {
        // 10,000 and 100,000 levels used to kill the process with a stack overflow. Run on a 256 KiB stack, a quarter
        // of a normal thread's, so any recursion proportional to the depth would overflow here (and end the test host).
        var inputs = new (string Name, Func<object?> Load)[]
        {
            ("yaml flow 10k", () => Model.FromYaml(Nested("[", "]", 10_000))),
            ("yaml block mapping 10k", () => Model.FromYaml(BlockMapping(10_000))),
            ("yaml flow 100k", () => Model.FromYaml(Nested("[", "]", 100_000))),
            ("yaml block sequence 100k", () => Model.FromYaml(new StringBuilder().Insert(0, "- ", 100_000).Append("1\n").ToString())),
            ("json 100k", () => Model.FromJson(Nested("[", "]", 100_000))),
        };
        var results = new List<string>();
        var thread = new Thread(() =>
        {
            foreach (var (name, load) in inputs)
            {
                try
                {
                    load();
                    results.Add($"{name}: no exception");
                }
                catch (Exception e)
                {
                    results.Add($"{name}: {e.GetType().Name}: {e.Message}");
                }
            }
        }, maxStackSize: 256 * 1024);
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "loading the deep configs did not finish within 60 s");
        Assert.Equal(inputs.Length, results.Count);
        Assert.All(results, r => Assert.Contains(": InvalidDataException: ", r));
    }
}
