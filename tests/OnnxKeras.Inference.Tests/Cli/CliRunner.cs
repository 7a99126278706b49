using OnnxKeras.Cli;

namespace OnnxKeras.Inference.Tests.Cli;

/// <summary>Runs the onnxkeras command in-process, as the CLI test classes do.</summary>
internal static class CliRunner
{
    /// <summary>The exit code and what the command wrote to standard output and standard error.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = new CliApp().Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
