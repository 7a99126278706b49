using TorchSharp;

namespace OnnxKeras;

/// <summary>
/// libtorch (TorchSharp's native backend) could not be loaded. OnnxKeras.Training references TorchSharp only; the
/// application adds the libtorch it wants: <c>libtorch-cpu-linux-x64</c> (Linux CPU), <c>TorchSharp-cpu</c> (every CPU
/// platform), a CUDA libtorch package, or an installed libtorch on the library path (<c>LD_LIBRARY_PATH</c>).
/// The inner exception is TorchSharp's own error (with the loader's trace).
/// </summary>
public sealed class LibTorchNotFoundException : DllNotFoundException
{
    /// <summary>The message names the packages to add.</summary>
    public const string Advice =
        "libtorch, TorchSharp's native backend, could not be loaded. OnnxKeras.Training references TorchSharp only: add a " +
        "libtorch runtime package to your application, libtorch-cpu-linux-x64 for Linux CPUs " +
        "(`dotnet add package libtorch-cpu-linux-x64 --version 2.10.0`), TorchSharp-cpu for every CPU platform, or a CUDA " +
        "libtorch package (or put an installed libtorch's lib folder on LD_LIBRARY_PATH). The package OnnxKeras.Cpu.Linux " +
        "brings the Linux CPU runtimes in one reference.";

    /// <summary>Creates the exception with <see cref="Advice"/> and TorchSharp's error.</summary>
    public LibTorchNotFoundException(Exception inner) : base(Describe(inner), inner) { }

    private static string Describe(Exception inner)
    {
        var root = inner;
        while (root.InnerException is not null) root = root.InnerException;
        string glibcxx = root.Message.Contains("GLIBCXX", StringComparison.Ordinal)
            ? " The loader names a GLIBCXX version: the system libstdc++ is older than TorchSharp's LibTorchSharp asks for; " +
              "OnnxKeras.Training's build step patches the copy in the build output (see the README's troubleshooting)."
            : "";
        return $"{Advice}{glibcxx} TorchSharp's error: {root.Message}";
    }

    // TorchSharp loads libtorch in the static constructor of its torch class; when that fails every later use throws the
    // same TypeInitializationException, so the outcome is probed once.
    private static readonly Exception? LoadFailure = Probe();

    private static Exception? Probe()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException
            or EntryPointNotFoundException or BadImageFormatException)
        {
            return e;
        }
    }

    /// <summary>Throws <see cref="LibTorchNotFoundException"/> when libtorch cannot be loaded.</summary>
    internal static void ThrowIfMissing()
    {
        if (LoadFailure is not null) throw new LibTorchNotFoundException(LoadFailure);
    }
}
