using Microsoft.ML.OnnxRuntime;

namespace OnnxKeras.Inference;

/// <summary>
/// How <see cref="OnnxModel.Load(string, InferenceOptions?)"/> creates its ONNX Runtime session. Every property has a
/// usable default; the options are read once at load time.
/// </summary>
/// <remarks>
/// <para><see cref="Device"/> defaults to <see cref="ExecutionDevice.Cpu"/>, not <see cref="ExecutionDevice.Auto"/>:
/// on a machine without CUDA, Auto costs a failed load of the CUDA provider library and logs a fallback warning on
/// every load, and where CUDA works it changes numerics (TF32 matmuls by default, about 1e-3 relative). Which device
/// runs should be a deliberate choice: ask for <see cref="ExecutionDevice.Auto"/> or <see cref="ExecutionDevice.Cuda"/>
/// explicitly.</para>
/// <para>The <c>Cuda*</c> properties only matter when the CUDA provider is used.</para>
/// </remarks>
public sealed class InferenceOptions
{
    /// <summary>Where to run; see <see cref="ExecutionDevice"/>. Default <see cref="ExecutionDevice.Cpu"/>.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>
    /// If true, loading fails with <see cref="ExecutionProviderException"/> unless CUDA is used (same as
    /// <see cref="Device"/> = <see cref="ExecutionDevice.Cuda"/>). Contradicts <see cref="ExecutionDevice.Cpu"/>.
    /// </summary>
    public bool RequireCuda { get; init; }

    /// <summary>CUDA device ordinal (<c>device_id</c>). Default 0.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>Upper bound of the CUDA memory arena in bytes (<c>gpu_mem_limit</c>); null = ONNX Runtime's default
    /// (no limit).</summary>
    public long? CudaMemoryLimitBytes { get; init; }

    /// <summary>cuDNN convolution algorithm search (<c>cudnn_conv_algo_search</c>). Default
    /// <see cref="Inference.CudnnConvAlgoSearch.Exhaustive"/>, as in ONNX Runtime.</summary>
    public CudnnConvAlgoSearch CudnnConvAlgoSearch { get; init; } = CudnnConvAlgoSearch.Exhaustive;

    /// <summary>Copy between host and device on the default CUDA stream (<c>do_copy_in_default_stream</c>). Default
    /// true, as in ONNX Runtime.</summary>
    public bool CudaCopyInDefaultStream { get; init; } = true;

    /// <summary>Allow TF32 for float32 matrix multiplications and convolutions on CUDA (<c>use_tf32</c>); null =
    /// ONNX Runtime's default (on: about 1e-3 relative difference from the CPU). Set false for CPU-like float32
    /// precision at some speed cost.</summary>
    public bool? CudaUseTf32 { get; init; }

    /// <summary>Graph optimizations applied when the session is created. Default
    /// <see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/>.</summary>
    public GraphOptimizationLevel GraphOptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Threads used inside one operator (matmul, conv); 0 = ONNX Runtime's default (one per physical core).
    /// The session owns this thread pool; concurrent <c>Predict</c> calls share it.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Threads used to run independent nodes in parallel; 0 = ONNX Runtime's default. Only used with
    /// parallel execution, which this library does not enable, so it rarely matters.</summary>
    public int InterOpThreads { get; init; }

    /// <summary>If set, ONNX Runtime writes the optimized graph to this path when the session is created (useful to
    /// inspect what the optimizer did, or to load a pre-optimized model faster with
    /// <see cref="GraphOptimizationLevel.ORT_DISABLE_ALL"/>).</summary>
    public string? OptimizedModelPath { get; init; }

    /// <summary>
    /// Default for the <c>maxBatchSize</c> argument of the <c>Predict</c> methods: inputs with more rows than this are
    /// run in slices of at most this many rows and the outputs concatenated, if the model's first dimension is
    /// symbolic for every input and output. Null (default) = never split.
    /// </summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>Receives this library's warnings (e.g. why <see cref="ExecutionDevice.Auto"/> fell back to the CPU).
    /// Null = warnings are dropped. Called on the thread that loads or predicts.</summary>
    public Action<string>? Log { get; init; }

    internal void Validate()
    {
        if (!Enum.IsDefined(Device))
            throw new ArgumentException($"Device {(int)Device} is not an ExecutionDevice.", nameof(Device));
        if (RequireCuda && Device == ExecutionDevice.Cpu)
            throw new ArgumentException("RequireCuda = true contradicts Device = Cpu; use Device = Cuda or Auto.", nameof(RequireCuda));
        if (CudaDeviceId < 0)
            throw new ArgumentOutOfRangeException(nameof(CudaDeviceId), CudaDeviceId, "CudaDeviceId must be >= 0.");
        if (CudaMemoryLimitBytes is <= 0)
            throw new ArgumentOutOfRangeException(nameof(CudaMemoryLimitBytes), CudaMemoryLimitBytes,
                "CudaMemoryLimitBytes must be positive (or null for no limit).");
        if (IntraOpThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be >= 0 (0 = ONNX Runtime's default).");
        if (InterOpThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(InterOpThreads), InterOpThreads, "InterOpThreads must be >= 0 (0 = ONNX Runtime's default).");
        if (MaxBatchSize is <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "MaxBatchSize must be positive (or null to never split).");
        if (OptimizedModelPath is { } p)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(p));
            if (dir is not null && !Directory.Exists(dir))
                throw new DirectoryNotFoundException($"The folder of OptimizedModelPath '{p}' does not exist.");
        }
    }
}
