using Microsoft.ML.OnnxRuntime;

namespace OnnxKeras.Inference;

/// <summary>
/// ONNX Runtime's native library could not be loaded. OnnxKeras.Inference references ONNX Runtime's managed API only
/// (Microsoft.ML.OnnxRuntime.Managed); the application adds the native runtime it wants:
/// <c>Microsoft.ML.OnnxRuntime</c> (CPU), <c>Microsoft.ML.OnnxRuntime.Gpu.Linux</c> or <c>Microsoft.ML.OnnxRuntime.Gpu</c> (CUDA).
/// The inner exception is the loader's own error.
/// </summary>
public sealed class OnnxRuntimeNotFoundException : DllNotFoundException
{
    /// <summary>The message names the packages to add.</summary>
    public const string Advice =
        "ONNX Runtime's native library (onnxruntime) could not be loaded. OnnxKeras.Inference references only ONNX Runtime's " +
        "managed API: add a native runtime package to your application, Microsoft.ML.OnnxRuntime for the CPU " +
        "(`dotnet add package Microsoft.ML.OnnxRuntime --version 1.32.0`), or Microsoft.ML.OnnxRuntime.Gpu.Linux " +
        "(Linux) / Microsoft.ML.OnnxRuntime.Gpu (Windows and Linux) for CUDA.";

    /// <summary>Creates the exception with <see cref="Advice"/> and the loader's error.</summary>
    public OnnxRuntimeNotFoundException(Exception inner) : base($"{Advice} Loader error: {Innermost(inner).Message}", inner) { }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    // The first use of ONNX Runtime loads the native library in the static constructor of its NativeMethods class; when
    // that fails every later use throws the same TypeInitializationException, so the outcome is probed once.
    private static readonly Exception? LoadFailure = Probe();

    private static Exception? Probe()
    {
        try
        {
            _ = OrtEnv.Instance();
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException)
        {
            return e;
        }
    }

    /// <summary>Throws <see cref="OnnxRuntimeNotFoundException"/> when ONNX Runtime's native library cannot be loaded.</summary>
    internal static void ThrowIfMissing()
    {
        if (LoadFailure is not null) throw new OnnxRuntimeNotFoundException(LoadFailure);
    }
}
