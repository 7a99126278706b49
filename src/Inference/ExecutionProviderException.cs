namespace OnnxKeras.Inference;

/// <summary>
/// Thrown by <see cref="OnnxModel.Load(string, InferenceOptions?)"/> when an execution provider that was required
/// (<see cref="ExecutionDevice.Cuda"/> or <see cref="InferenceOptions.RequireCuda"/>) cannot be used.
/// </summary>
public sealed class ExecutionProviderException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="provider">The ONNX Runtime provider name, e.g. <c>CUDAExecutionProvider</c>.</param>
    /// <param name="reason">Why it cannot be used (ONNX Runtime's own message where there is one).</param>
    /// <param name="inner">The ONNX Runtime exception, if any.</param>
    public ExecutionProviderException(string provider, string reason, Exception? inner = null)
        : base($"The {provider} execution provider was required but cannot be used: {reason}", inner)
    {
        Provider = provider;
        Reason = reason;
    }

    /// <summary>The ONNX Runtime provider name, e.g. <c>CUDAExecutionProvider</c>.</summary>
    public string Provider { get; }

    /// <summary>Why the provider cannot be used (ONNX Runtime's own message where there is one).</summary>
    public string Reason { get; }
}
