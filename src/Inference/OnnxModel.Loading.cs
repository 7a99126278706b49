using Microsoft.ML.OnnxRuntime;

namespace OnnxKeras.Inference;

// Loading: Load from a file or bytes, session options, the CUDA provider and its fallback to the CPU.
public sealed partial class OnnxModel
{
    /// <summary>Loads an ONNX model file.</summary>
    /// <param name="path">The .onnx file. External-data files, if any, are looked up next to it.</param>
    /// <param name="options">Session options; null = defaults (CPU, all graph optimizations).</param>
    /// <exception cref="FileNotFoundException">The file does not exist (the message names the full path).</exception>
    /// <exception cref="InvalidDataException">ONNX Runtime cannot load the file (corrupt, truncated, unsupported IR
    /// version or operator); the message names the file and includes ONNX Runtime's reason.</exception>
    /// <exception cref="ExecutionProviderException">CUDA was required but cannot be used; the message has the reason.</exception>
    /// <exception cref="OnnxRuntimeNotFoundException">The application carries no ONNX Runtime native package; the message
    /// names the packages to add.</exception>
    /// <example><code>
    /// using var model = OnnxModel.Load("model.onnx", new InferenceOptions { Device = ExecutionDevice.Auto, Log = Console.Error.WriteLine });
    /// Console.WriteLine($"{model.ActiveProvider}: {string.Join(", ", model.Inputs)} -> {string.Join(", ", model.Outputs)}");
    /// </code></example>
    public static OnnxModel Load(string path, InferenceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"ONNX model file '{full}' does not exist.", full);
        return Create(so => new InferenceSession(full, so), $"'{full}'", full, options);
    }

    /// <summary>Loads an ONNX model from its serialized bytes (the array is not kept after loading).</summary>
    /// <param name="model">The serialized <c>ModelProto</c>.</param>
    /// <param name="options">Session options; null = defaults (CPU, all graph optimizations).</param>
    /// <exception cref="InvalidDataException">ONNX Runtime cannot load the bytes; the message includes its reason.</exception>
    /// <exception cref="ExecutionProviderException">CUDA was required but cannot be used; the message has the reason.</exception>
    /// <exception cref="OnnxRuntimeNotFoundException">The application carries no ONNX Runtime native package; the message
    /// names the packages to add.</exception>
    /// <example><code>using var model = OnnxModel.Load(File.ReadAllBytes("model.onnx"));</code></example>
    public static OnnxModel Load(byte[] model, InferenceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var what = $"the in-memory ONNX model ({model.Length} bytes)";
        if (model.Length == 0)
            throw new InvalidDataException($"Cannot load {what}: it is empty.");
        return Create(so => new InferenceSession(model, so), what, $"<{model.Length} bytes>", options);
    }

    private static OnnxModel Create(Func<SessionOptions, InferenceSession> open, string what, string source, InferenceOptions? options)
    {
        options ??= new InferenceOptions();
        options.Validate();
        OnnxRuntimeNotFoundException.ThrowIfMissing();
        bool required = options.Device == ExecutionDevice.Cuda || options.RequireCuda;
        if (options.Device == ExecutionDevice.Cpu)
            return new OnnxModel(OpenCpu(open, what, options), CpuProvider, source, options);

        string reason;
        Exception? cause = null;
        using (var so = CreateSessionOptions(options))
        {
            var providers = OrtEnv.Instance().GetAvailableProviders();
            if (!providers.Contains(CudaProvider))
            {
                reason = $"this ONNX Runtime build has no CUDA execution provider (it has {string.Join(", ", providers)}); " +
                         "reference Microsoft.ML.OnnxRuntime.Gpu instead of Microsoft.ML.OnnxRuntime";
            }
            else if (TryAppendCuda(so, options, out var appendError) is false)
            {
                reason = appendError!.Message;
                cause = appendError;
            }
            else
            {
                try
                {
                    return new OnnxModel(open(so), CudaProvider, source, options);
                }
                catch (OnnxRuntimeException e)
                {
                    // CUDA was appended but the session failed: a GPU/driver problem or a bad model. Loading on the CPU
                    // tells the two apart (a bad model fails there too and is reported as such).
                    reason = e.Message;
                    cause = e;
                }
            }
        }

        var cpuSession = OpenCpu(open, what, options);
        if (required)
        {
            cpuSession.Dispose();
            throw new ExecutionProviderException(CudaProvider, reason, cause);
        }
        options.Log?.Invoke($"OnnxKeras.Inference: CUDA is not usable, running {what} on the CPU. Reason: {reason}");
        return new OnnxModel(cpuSession, CpuProvider, source, options);
    }

    private static InferenceSession OpenCpu(Func<SessionOptions, InferenceSession> open, string what, InferenceOptions options)
    {
        using var so = CreateSessionOptions(options);
        try
        {
            return open(so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load {what}: {e.Message}", e);
        }
    }

    private static SessionOptions CreateSessionOptions(InferenceOptions options)
    {
        var so = new SessionOptions
        {
            GraphOptimizationLevel = options.GraphOptimizationLevel,
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = options.InterOpThreads,
            LogId = "OnnxKeras.Inference",
        };
        if (options.OptimizedModelPath is { } p)
            so.OptimizedModelFilePath = Path.GetFullPath(p);
        return so;
    }

    private static bool TryAppendCuda(SessionOptions so, InferenceOptions options, out OnnxRuntimeException? error)
    {
        error = null;
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            var settings = new Dictionary<string, string>
            {
                ["device_id"] = options.CudaDeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["cudnn_conv_algo_search"] = options.CudnnConvAlgoSearch switch
                {
                    CudnnConvAlgoSearch.Heuristic => "HEURISTIC",
                    CudnnConvAlgoSearch.Default => "DEFAULT",
                    _ => "EXHAUSTIVE",
                },
                ["do_copy_in_default_stream"] = options.CudaCopyInDefaultStream ? "1" : "0",
            };
            if (options.CudaMemoryLimitBytes is long limit)
                settings["gpu_mem_limit"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (options.CudaUseTf32 is bool tf32)
                settings["use_tf32"] = tf32 ? "1" : "0";
            cuda.UpdateOptions(settings);
            so.AppendExecutionProvider_CUDA(cuda);
            return true;
        }
        catch (OnnxRuntimeException e)
        {
            error = e;
            return false;
        }
    }
}
