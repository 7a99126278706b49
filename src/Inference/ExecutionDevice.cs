namespace OnnxKeras.Inference;

/// <summary>Where an <see cref="OnnxModel"/> runs.</summary>
public enum ExecutionDevice
{
    /// <summary>
    /// Try the CUDA execution provider; if it cannot be used (no CUDA 13/cuDNN 9 libraries, no GPU, or an ONNX Runtime
    /// package without CUDA), fall back to the CPU and report the reason through <see cref="InferenceOptions.Log"/>.
    /// </summary>
    Auto,

    /// <summary>The CPU execution provider only. The default: it never probes for CUDA, so it logs nothing.</summary>
    Cpu,

    /// <summary>The CUDA execution provider (with the CPU provider for nodes CUDA does not implement); loading fails with
    /// <see cref="ExecutionProviderException"/> if CUDA cannot be used.</summary>
    Cuda,
}

/// <summary>How cuDNN picks convolution algorithms (ONNX Runtime's <c>cudnn_conv_algo_search</c>).</summary>
public enum CudnnConvAlgoSearch
{
    /// <summary>Benchmark every algorithm on the first run of each shape (ONNX Runtime's default; slow first call).</summary>
    Exhaustive,

    /// <summary>Use cuDNN's heuristics (fast first call, possibly slower steady state).</summary>
    Heuristic,

    /// <summary>Always use cuDNN's default algorithm.</summary>
    Default,
}
