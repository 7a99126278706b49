using System.CommandLine;

namespace OnnxKeras.Cli.Commands;

/// <summary>A command line that parsed but makes no sense (exit code <see cref="CliApp.Usage"/>).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// How commands report failures: a usage problem as <c>error: ...</c> plus a pointer to <c>--help</c> (exit code
/// <see cref="CliApp.Usage"/>), any other failure as one <c>error: ...</c> line (exit code <see cref="CliApp.Failure"/>).
/// </summary>
internal static class CommandGuard
{
    internal static int UsageError(TextWriter stderr, Command command, string message)
    {
        stderr.WriteLine($"error: {message.ReplaceLineEndings(" ")}");
        stderr.WriteLine($"Run '{CommandPath(command)} --help' for usage.");
        return CliApp.Usage;
    }

    private static string CommandPath(Command command) =>
        command.Parents.OfType<Command>().FirstOrDefault() is { } parent ? $"{CommandPath(parent)} {command.Name}" : command.Name;

    /// <summary>An exception's message on one line, without the <c> (Parameter 'x')</c> that <see cref="ArgumentException"/>
    /// appends (<see cref="ArgumentOutOfRangeException"/> puts its "Actual value was ..." after it).</summary>
    internal static string MessageOf(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        return message.ReplaceLineEndings(" ");
    }

    /// <summary>Runs a command's work: a usage problem found late is exit 2, any other failure exit 1, each as one line
    /// on standard error (never a stack trace).</summary>
    internal static int Guard(TextWriter stderr, Command command, Func<int> work)
    {
        try
        {
            return work();
        }
        catch (UsageException e)
        {
            return UsageError(stderr, command, e.Message);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException
                                      or InvalidOperationException or UnauthorizedAccessException or FormatException
                                      or OverflowException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            stderr.WriteLine($"error: {MessageOf(e)}");
            return CliApp.Failure;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug rather than bad input; still one line, naming the exception's type to report it by.
            stderr.WriteLine($"error: unexpected {e.GetType().Name}: {MessageOf(e)}");
            return CliApp.Failure;
        }
    }
}
