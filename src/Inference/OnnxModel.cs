using System.Collections.ObjectModel;
using Microsoft.ML.OnnxRuntime;

namespace OnnxKeras.Inference;

/// <summary>
/// An ONNX model loaded into an ONNX Runtime session, ready for prediction. Needs no training stack (no TorchSharp).
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> One instance serves any number of concurrent callers: every <c>Predict</c> call uses native
/// values no other call uses at the same time (created for the call, or a pooled set taken for it), and ONNX Runtime's
/// <c>InferenceSession.Run</c> is thread-safe. Create one
/// model per process and share it. <see cref="Dispose"/> waits for calls in flight to finish before it releases the
/// session; calls that start after it throw <see cref="ObjectDisposedException"/>.</para>
/// <para><b>Ownership.</b> Inputs stay owned by the caller and are never written. For a model with one input and one
/// float32 output, inputs and outputs of at most 16 KiB pass through pinned buffers that the model pools per input
/// shape, with their native values and an I/O binding (so repeated calls cost what a bare ONNX Runtime run costs);
/// larger ones, and those of other models, are read in place (pinned only during the call). Outputs are copied into
/// new managed arrays; the caller owns them and they outlive the model. The model owns its native session and pooled
/// buffers; dispose it when done.</para>
/// <para><b>Validation.</b> Input names, element types, ranks, fixed dimensions and element counts are checked before
/// ONNX Runtime is called; a mismatch throws <see cref="ArgumentException"/> naming the input with the expected and
/// actual shapes. Errors raised inside the model while it runs (e.g. a Reshape that cannot apply) surface as ONNX
/// Runtime's <see cref="OnnxRuntimeException"/>.</para>
/// <para><b>NaN.</b> NaN and infinite inputs are passed through unchanged; outputs may then contain NaN. Nothing is
/// checked or replaced.</para>
/// </remarks>
public sealed partial class OnnxModel : IDisposable
{
    internal const string CpuProvider = "CPUExecutionProvider";
    internal const string CudaProvider = "CUDAExecutionProvider";

    private readonly InferenceSession session;
    // One RunOptions for every Predict call: it carries no per-call state we use, and creating one per call costs a native allocation.
    private readonly RunOptions runOptions = new();
    private readonly Dictionary<string, ModelTensorInfo> inputsByName;
    private readonly Dictionary<string, ModelTensorInfo> outputsByName;
    private readonly Action<string>? log;
    private readonly int? defaultMaxBatchSize;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ModelBinding, byte> bindings = new();
    private int splitWarningLogged;
    private int activeCalls;
    private int disposeState; // 0 = live, 1 = disposed

    private OnnxModel(InferenceSession session, string provider, string source, InferenceOptions options)
    {
        this.session = session;
        ActiveProvider = provider;
        Source = source;
        log = options.Log;
        defaultMaxBatchSize = options.MaxBatchSize;
        Inputs = session.InputNames.Select(n => new ModelTensorInfo(n, session.InputMetadata[n])).ToArray();
        Outputs = session.OutputNames.Select(n => new ModelTensorInfo(n, session.OutputMetadata[n])).ToArray();
        inputsByName = Inputs.ToDictionary(i => i.Name);
        outputsByName = Outputs.ToDictionary(o => o.Name);
        pooledOutputDims = PlanPooling();
        var meta = session.ModelMetadata;
        ProducerName = meta.ProducerName ?? "";
        GraphName = meta.GraphName ?? "";
        Domain = meta.Domain ?? "";
        Description = meta.Description ?? "";
        ModelVersion = meta.Version;
        MetadataProps = new ReadOnlyDictionary<string, string>(new Dictionary<string, string>(meta.CustomMetadataMap ?? []));
    }

    /// <summary>The ONNX Runtime execution provider the session was created with: <c>CPUExecutionProvider</c> or
    /// <c>CUDAExecutionProvider</c>. With CUDA, nodes CUDA does not implement still run on the CPU provider.</summary>
    public string ActiveProvider { get; }

    /// <summary>The device the session runs on: <see cref="ExecutionDevice.Cpu"/> or <see cref="ExecutionDevice.Cuda"/>
    /// (never <see cref="ExecutionDevice.Auto"/>).</summary>
    public ExecutionDevice ActiveDevice => ActiveProvider == CudaProvider ? ExecutionDevice.Cuda : ExecutionDevice.Cpu;

    /// <summary>Where the model came from: the full file path, or a description of the in-memory bytes.</summary>
    public string Source { get; }

    /// <summary>The graph inputs in declaration order (initializers excluded).</summary>
    public IReadOnlyList<ModelTensorInfo> Inputs { get; }

    /// <summary>The graph outputs in declaration order.</summary>
    public IReadOnlyList<ModelTensorInfo> Outputs { get; }

    /// <summary>The model's <c>producer_name</c> (empty if not set).</summary>
    public string ProducerName { get; }

    /// <summary>The graph's name (empty if not set).</summary>
    public string GraphName { get; }

    /// <summary>The model's <c>domain</c> (empty if not set).</summary>
    public string Domain { get; }

    /// <summary>The model's <c>doc_string</c> (empty if not set).</summary>
    public string Description { get; }

    /// <summary>The model's <c>model_version</c> (0 if not set).</summary>
    public long ModelVersion { get; }

    /// <summary>The model's <c>metadata_props</c> (key/value strings); empty if there are none.</summary>
    public IReadOnlyDictionary<string, string> MetadataProps { get; }

    /// <summary>The <c>keras_config</c> metadata entry (the Keras model config as JSON) or null if absent.</summary>
    public string? KerasConfig => MetadataProps.TryGetValue("keras_config", out var c) ? c : null;
    /// <summary>
    /// Releases the native session, after waiting for calls in flight to finish, and disposes the bindings created from
    /// this model that are still open. Later calls throw <see cref="ObjectDisposedException"/>. Idempotent.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposeState, 1) != 0) return;
        var spin = new SpinWait();
        while (Volatile.Read(ref activeCalls) != 0) spin.SpinOnce();
        foreach (var binding in bindings.Keys) binding.Dispose();
        DisposeSlots();
        session.Dispose();
        runOptions.Dispose();
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref disposeState) != 0, this);

    /// <summary>Marks a call in flight (Dispose waits for it); throws if the model is disposed.</summary>
    internal CallScope EnterCall()
    {
        Interlocked.Increment(ref activeCalls);
        if (Volatile.Read(ref disposeState) != 0)
        {
            Interlocked.Decrement(ref activeCalls);
            throw new ObjectDisposedException(nameof(OnnxModel));
        }
        return new CallScope(this);
    }

    internal readonly struct CallScope(OnnxModel model) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref model.activeCalls);
    }

    internal void Forget(ModelBinding binding) => bindings.TryRemove(binding, out _);

    internal ModelTensorInfo InputInfo(string name) => inputsByName[name];
}
