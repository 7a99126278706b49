using System.Collections.ObjectModel;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

/// <summary>
/// An ONNX model loaded into an ONNX Runtime session, ready for prediction. Needs no training stack (no TorchSharp).
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> One instance serves any number of concurrent callers: every <c>Predict</c> call creates its
/// own native values and run options, and ONNX Runtime's <c>InferenceSession.Run</c> is thread-safe. Create one
/// model per process and share it. <see cref="Dispose"/> waits for calls in flight to finish before it releases the
/// session; calls that start after it throw <see cref="ObjectDisposedException"/>.</para>
/// <para><b>Ownership.</b> Inputs stay owned by the caller and are read in place (pinned only during the call).
/// Outputs are copied into new managed arrays before the native values are released; the caller owns them and they
/// outlive the model. The model owns its native session; dispose it when done.</para>
/// <para><b>Validation.</b> Input names, element types, ranks, fixed dimensions and element counts are checked before
/// ONNX Runtime is called; a mismatch throws <see cref="ArgumentException"/> naming the input with the expected and
/// actual shapes. Errors raised inside the model while it runs (e.g. a Reshape that cannot apply) surface as ONNX
/// Runtime's <see cref="OnnxRuntimeException"/>.</para>
/// <para><b>NaN.</b> NaN and infinite inputs are passed through unchanged; outputs may then contain NaN. Nothing is
/// checked or replaced.</para>
/// </remarks>
public sealed class OnnxModel : IDisposable
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

    /// <summary>Loads an ONNX model file.</summary>
    /// <param name="path">The .onnx file. External-data files, if any, are looked up next to it.</param>
    /// <param name="options">Session options; null = defaults (CPU, all graph optimizations).</param>
    /// <exception cref="FileNotFoundException">The file does not exist (the message names the full path).</exception>
    /// <exception cref="InvalidDataException">ONNX Runtime cannot load the file (corrupt, truncated, unsupported IR
    /// version or operator); the message names the file and includes ONNX Runtime's reason.</exception>
    /// <exception cref="ExecutionProviderException">CUDA was required but cannot be used; the message has the reason.</exception>
    /// <exception cref="OnnxRuntimeNotFoundException">The application carries no ONNX Runtime native package; the message names the packages to add.</exception>
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
    /// <exception cref="OnnxRuntimeNotFoundException">The application carries no ONNX Runtime native package; the message names the packages to add.</exception>
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

    // ---------------------------------------------------------------- prediction

    /// <summary>
    /// Runs a model with one input and one output, both rank 2 (e.g. [batch, features] -> [batch, classes]).
    /// </summary>
    /// <param name="x">The input rows; read in place, not copied.</param>
    /// <param name="maxBatchSize">Run at most this many rows per ONNX Runtime call (null = <see cref="InferenceOptions.MaxBatchSize"/>);
    /// see <see cref="Predict(IReadOnlyDictionary{string, TensorInput}, IReadOnlyCollection{string}?, int?)"/>.</param>
    /// <returns>A new array owned by the caller.</returns>
    /// <exception cref="ArgumentException">The shape does not match the model's input (the message names the input and
    /// both shapes).</exception>
    /// <exception cref="InvalidOperationException">The model does not have exactly one input and one rank-2 float output.</exception>
    /// <example><code>float[,] probabilities = model.Predict(testX);   // [batch, 784] -> [batch, 10]</code></example>
    public float[,] Predict(float[,] x, int? maxBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var result = Predict(new TensorInput(x), maxBatchSize);
        if (result.Rank != 2)
            throw new InvalidOperationException(
                $"Output '{Outputs[0].Name}' has shape {TensorInput.ShapeText(result.Shape)}, not rank 2; use Predict(TensorInput) for it.");
        return result.To2DArray();
    }

    /// <summary>Runs a single-input, single-output model on row-major data with the given shape (no input copy).</summary>
    /// <param name="data">The input elements, row-major; read in place while the call runs.</param>
    /// <param name="shape">The input shape; its element count must equal <c>data.Length</c>.</param>
    /// <param name="maxBatchSize">See <see cref="Predict(IReadOnlyDictionary{string, TensorInput}, IReadOnlyCollection{string}?, int?)"/>.</param>
    /// <returns>The output, copied into a new array owned by the caller.</returns>
    /// <example><code>
    /// float[] pixels = new float[4 * 28 * 28];
    /// DenseTensorResult y = model.Predict(pixels, [4, 28, 28, 1]);
    /// float first = y[0, 0];
    /// </code></example>
    public DenseTensorResult Predict(ReadOnlyMemory<float> data, long[] shape, int? maxBatchSize = null) =>
        Predict(new TensorInput(data, shape), maxBatchSize);

    /// <summary>Runs a single-input, single-output model.</summary>
    /// <param name="input">The input; read in place while the call runs.</param>
    /// <param name="maxBatchSize">See <see cref="Predict(IReadOnlyDictionary{string, TensorInput}, IReadOnlyCollection{string}?, int?)"/>.</param>
    /// <returns>The output, copied into a new array owned by the caller.</returns>
    /// <exception cref="InvalidOperationException">The model has several inputs or outputs: use the dictionary overload.</exception>
    /// <example><code>
    /// DenseTensorResult features = encoder.Predict(new TensorInput(testX));
    /// DenseTensorResult scores = head.Predict(features);   // a result converts to a TensorInput
    /// </code></example>
    public DenseTensorResult Predict(TensorInput input, int? maxBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfDisposed();
        if (Inputs.Count != 1 || Outputs.Count != 1)
            throw new InvalidOperationException(
                $"This overload needs a model with one input and one output, but the model has inputs ({string.Join(", ", Inputs)}) " +
                $"and outputs ({string.Join(", ", Outputs)}); use Predict(IReadOnlyDictionary<string, TensorInput>).");
        if ((maxBatchSize ?? defaultMaxBatchSize) is null)
        {
            // The common case (one input, one output, no batch splitting) without the dictionaries of the general path.
            using var call = EnterCall();
            string inputName = Inputs[0].Name;
            ValidateInputs([(inputName, input.ElementType, (IReadOnlyList<long>?)input.Shape, (long?)input.Length)], "inputs");
            var outputs = singleOutputName ??= ResolveOutputs(null);
            return RunOnce(singleInputName ??= [inputName], [input], outputs, 0, -1)[outputs[0]];
        }
        var results = Predict(new Dictionary<string, TensorInput> { [Inputs[0].Name] = input }, null, maxBatchSize);
        return results[Outputs[0].Name];
    }

    private string[]? singleInputName;
    private string[]? singleOutputName;

    /// <summary>Runs the model on named inputs and returns the named outputs.</summary>
    /// <param name="inputs">One entry per model input (all are required); read in place while the call runs.</param>
    /// <param name="outputNames">The outputs to compute; null = all, in declaration order.</param>
    /// <param name="maxBatchSize">If the inputs have more rows (first dimension) than this, run them in slices of at most
    /// this many rows and concatenate the outputs along the first dimension. Only done when the first dimension of every
    /// input and every requested output is symbolic (a batch dimension) and all inputs have the same row count;
    /// otherwise the whole input is run at once (and a warning is logged once per model). Null =
    /// <see cref="InferenceOptions.MaxBatchSize"/>. Slicing does not copy the inputs.</param>
    /// <returns>A new dictionary of outputs copied into managed arrays owned by the caller.</returns>
    /// <exception cref="ArgumentException">An input is missing, unknown, of the wrong element type or shape, or its data
    /// length does not match its shape; an output name is unknown. The message names the input and both shapes.</exception>
    /// <exception cref="NotSupportedException">A requested output is a string, float16 or non-tensor output.</exception>
    /// <exception cref="OnnxRuntimeException">The model failed while running.</exception>
    /// <example><code>
    /// var outputs = model.Predict(new Dictionary&lt;string, TensorInput&gt;
    /// {
    ///     ["a"] = new TensorInput(a),
    ///     ["b"] = new TensorInput(bData, 2, 8),
    /// }, outputNames: ["prod"]);
    /// float[] prod = outputs["prod"].Data;
    /// </code></example>
    public IReadOnlyDictionary<string, DenseTensorResult> Predict(
        IReadOnlyDictionary<string, TensorInput> inputs, IReadOnlyCollection<string>? outputNames = null, int? maxBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using var call = EnterCall();
        if (maxBatchSize is <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, "maxBatchSize must be positive.");
        ValidateInputs(inputs.Select(kv => (kv.Key, kv.Value?.ElementType ?? TensorElementType.Float, (IReadOnlyList<long>?)kv.Value?.Shape, (long?)kv.Value?.Length)),
                       nameof(inputs));
        var outputs = ResolveOutputs(outputNames);
        string[] inputNames = inputs.Keys.ToArray();
        TensorInput[] values = inputNames.Select(n => inputs[n]).ToArray();

        int? limit = maxBatchSize ?? defaultMaxBatchSize;
        if (limit is int max && values.Length > 0 && values[0].Shape.Count > 0 && values[0].Shape[0] > max)
        {
            if (CanSplit(inputNames, values, outputs, out string? why))
                return RunInSlices(inputNames, values, outputs, values[0].Shape[0], max);
            if (Interlocked.Exchange(ref splitWarningLogged, 1) == 0)
                log?.Invoke($"OnnxKeras.Inference: not splitting into batches of {max} rows ({Source}): {why}.");
        }
        return RunOnce(inputNames, values, outputs, 0, -1);
    }

    /// <summary>
    /// Creates an I/O binding for repeated runs with fixed input shapes: input and output buffers are allocated and
    /// bound once, and each <see cref="ModelBinding.Run"/> reuses them. For a single-input model.
    /// </summary>
    /// <param name="inputShape">The concrete input shape (symbolic dimensions given values).</param>
    /// <example><code>
    /// using var binding = model.CreateBinding(1, 784);
    /// sample.CopyTo(binding.GetInputBuffer&lt;float&gt;(model.Inputs[0].Name));
    /// binding.Run();
    /// ReadOnlySpan&lt;float&gt; scores = binding.GetOutput(model.Outputs[0].Name);
    /// </code></example>
    public ModelBinding CreateBinding(params long[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        ThrowIfDisposed();
        if (Inputs.Count != 1)
            throw new InvalidOperationException(
                $"This overload needs a single-input model but the model has inputs {string.Join(", ", Inputs)}; pass a dictionary of shapes.");
        return CreateBinding(new Dictionary<string, long[]> { [Inputs[0].Name] = inputShape });
    }

    /// <summary>
    /// Creates an I/O binding for repeated runs with fixed input shapes (one entry per model input). The binding is
    /// used by one thread at a time; create one per thread to run bindings concurrently on this model.
    /// </summary>
    /// <param name="inputShapes">The concrete shape of every input.</param>
    /// <exception cref="ArgumentException">A shape does not match the model (the message names the input).</exception>
    /// <example><code>using var binding = model.CreateBinding(new Dictionary&lt;string, long[]&gt; { ["a"] = [1, 8], ["b"] = [1, 8] });</code></example>
    public ModelBinding CreateBinding(IReadOnlyDictionary<string, long[]> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        ThrowIfDisposed();
        ValidateInputs(inputShapes.Select(kv => (kv.Key, inputsByName.TryGetValue(kv.Key, out var i) ? i.ElementType : TensorElementType.Float,
                                                 (IReadOnlyList<long>?)kv.Value, (long?)null)), nameof(inputShapes));
        using var call = EnterCall();
        var binding = new ModelBinding(this, session, inputShapes);
        bindings[binding] = 0;
        return binding;
    }

    /// <summary>
    /// Checks one input before its data exists: the name, the element type, the rank and the fixed dimensions, with the
    /// messages <c>Predict</c> gives. A server can refuse a request by its declared shape before reading its data.
    /// </summary>
    /// <param name="name">The input's name.</param>
    /// <param name="elementType">The element type the caller will send.</param>
    /// <param name="shape">The shape the caller will send.</param>
    /// <exception cref="ArgumentException">The model has no such input, or the type, rank or a fixed dimension differs
    /// (the message names the input and both shapes).</exception>
    /// <exception cref="NotSupportedException">The input is not a tensor.</exception>
    public void ValidateInput(string name, TensorElementType elementType, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ValidateInputs([(name, elementType, shape, null)], nameof(shape), requireAll: false);
    }

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

    // ---------------------------------------------------------------- internals

    /// <summary>Checks names, element types, ranks, fixed dimensions, element counts and shared symbolic dimensions.</summary>
    internal void ValidateInputs(IEnumerable<(string Name, TensorElementType Type, IReadOnlyList<long>? Shape, long? Length)> given, string paramName,
                                 bool requireAll = true)
    {
        var seen = new HashSet<string>();
        var symbols = new Dictionary<string, (string Input, long Value)>();
        foreach (var (name, type, shape, length) in given)
        {
            if (name is null || !inputsByName.TryGetValue(name, out var info))
                throw new ArgumentException(
                    $"The model has no input named '{name}'. Its inputs are: {string.Join("; ", Inputs)}.", paramName);
            seen.Add(name);
            if (shape is null)
                throw new ArgumentException($"Input '{name}' is null; expected shape {info.ShapeText}.", paramName);
            if (!info.IsTensor)
                throw new NotSupportedException($"Input '{name}' is not a tensor (sequence, map or optional); this library feeds tensors only.");
            if (type != info.ElementType)
                throw new ArgumentException(
                    $"Input '{name}' expects {info.ElementType} elements but got {type}.", paramName);
            string Actual() => TensorInput.ShapeText(shape); // only formatted for error messages (hot path)
            if (shape.Count != info.Rank)
                throw new ArgumentException(
                    $"Input '{name}' expects shape {info.ShapeText} (rank {info.Rank}) but got shape {Actual()} (rank {shape.Count}).", paramName);
            for (int d = 0; d < shape.Count; d++)
            {
                var dim = info.Dimensions[d];
                if (shape[d] < 0)
                    throw new ArgumentException($"Input '{name}' got shape {Actual()} with a negative dimension {d}.", paramName);
                if (dim.Value is long fixedSize && shape[d] != fixedSize)
                    throw new ArgumentException(
                        $"Input '{name}' expects shape {info.ShapeText} but got shape {Actual()}: dimension {d} must be {fixedSize}.", paramName);
                if (dim.Name is { } symbol)
                {
                    if (symbols.TryGetValue(symbol, out var other) && other.Value != shape[d])
                        throw new ArgumentException(
                            $"Input '{name}' got shape {Actual()} with {symbol} = {shape[d]}, but input '{other.Input}' has {symbol} = {other.Value}; " +
                            $"inputs that share the dimension '{symbol}' must agree.", paramName);
                    symbols[symbol] = (name, shape[d]);
                }
            }
            if (length is long len)
            {
                long needed = 1;
                bool overflow = false;
                foreach (var s in shape)
                {
                    try { needed = checked(needed * s); }
                    catch (OverflowException) { overflow = true; break; }
                }
                if (overflow || needed != len)
                    throw new ArgumentException(
                        $"Input '{name}' has shape {Actual()}, which needs {(overflow ? "more than long.MaxValue" : needed.ToString(System.Globalization.CultureInfo.InvariantCulture))} " +
                        $"elements, but its data holds {len}.", paramName);
            }
        }
        var missing = requireAll ? Inputs.Where(i => !seen.Contains(i.Name)).ToArray() : [];
        if (missing.Length > 0)
            throw new ArgumentException(
                $"Missing model input(s): {string.Join("; ", missing.Select(m => $"'{m.Name}' (expected shape {m.ShapeText})"))}.", paramName);
    }

    /// <summary>The output element types <see cref="Predict(IReadOnlyDictionary{string, TensorInput}, IReadOnlyCollection{string}?, int?)"/>
    /// returns (<see cref="DenseTensorResult.ElementType"/>).</summary>
    public static IReadOnlySet<TensorElementType> SupportedOutputTypes { get; } = new HashSet<TensorElementType>
    {
        TensorElementType.Float, TensorElementType.Double, TensorElementType.Int64, TensorElementType.Int32, TensorElementType.Int16,
        TensorElementType.Int8, TensorElementType.UInt64, TensorElementType.UInt32, TensorElementType.UInt16, TensorElementType.UInt8,
        TensorElementType.Bool,
    };

    private string[] ResolveOutputs(IReadOnlyCollection<string>? outputNames)
    {
        var names = outputNames?.ToArray() ?? Outputs.Select(o => o.Name).ToArray();
        if (names.Length == 0)
            throw new ArgumentException("outputNames is empty; pass null for all outputs.", nameof(outputNames));
        foreach (var n in names)
        {
            if (n is null || !outputsByName.TryGetValue(n, out var info))
                throw new ArgumentException(
                    $"The model has no output named '{n}'. Its outputs are: {string.Join("; ", Outputs)}.", nameof(outputNames));
            if (!info.IsTensor || !SupportedOutputTypes.Contains(info.ElementType))
                throw new NotSupportedException(
                    $"Output '{n}' is {(info.IsTensor ? info.ElementType.ToString() : "not a tensor")}; this library returns numeric and bool tensors (not strings or float16).");
        }
        if (names.Distinct().Count() != names.Length)
            throw new ArgumentException($"outputNames lists an output twice: {string.Join(", ", names)}.", nameof(outputNames));
        return names;
    }

    private bool CanSplit(string[] inputNames, TensorInput[] values, string[] outputs, out string? why)
    {
        long rows = values[0].Shape[0];
        for (int i = 0; i < inputNames.Length; i++)
        {
            var info = inputsByName[inputNames[i]];
            if (info.Rank == 0 || info.Dimensions[0].IsFixed)
            {
                why = $"input '{info.Name}' has shape {info.ShapeText}, whose first dimension is not symbolic";
                return false;
            }
            if (values[i].Shape[0] != rows)
            {
                why = $"input '{info.Name}' has {values[i].Shape[0]} rows but input '{inputNames[0]}' has {rows}";
                return false;
            }
        }
        foreach (var o in outputs)
        {
            var info = outputsByName[o];
            if (info.Rank == 0 || info.Dimensions[0].IsFixed)
            {
                why = $"output '{o}' has shape {info.ShapeText}, whose first dimension is not symbolic";
                return false;
            }
        }
        why = null;
        return true;
    }

    private Dictionary<string, DenseTensorResult> RunInSlices(string[] inputNames, TensorInput[] values, string[] outputs, long rows, int max)
    {
        var merged = new Dictionary<string, (Array Data, long[] Shape)>();
        for (long start = 0; start < rows; start += max)
        {
            long count = Math.Min(max, rows - start);
            var part = RunOnce(inputNames, values, outputs, start, count);
            foreach (var name in outputs)
            {
                var r = part[name];
                if (r.Rank == 0 || r.Shape[0] != count)
                    throw new InvalidOperationException(
                        $"Output '{name}' has shape {TensorInput.ShapeText(r.Shape)} for a slice of {count} rows, so its first dimension is not " +
                        "the batch dimension; call Predict without maxBatchSize.");
                if (!merged.TryGetValue(name, out var m))
                {
                    var shape = r.Shape.ToArray();
                    shape[0] = rows;
                    long rowSize = count == 0 ? 0 : r.Values.Length / count;
                    m = (Array.CreateInstance(r.Values.GetType().GetElementType()!, checked(rows * rowSize)), shape);
                    merged[name] = m;
                }
                else if (!r.Shape.Skip(1).SequenceEqual(m.Shape.Skip(1)))
                    throw new InvalidOperationException(
                        $"Output '{name}' has shape {TensorInput.ShapeText(r.Shape)} for one slice but {TensorInput.ShapeText(m.Shape.Skip(1).Prepend(count))} " +
                        "expected from the first; the model's output rows depend on the batch, so call Predict without maxBatchSize.");
                long offset = start * (m.Data.Length / rows);
                Array.Copy(r.Values, 0, m.Data, offset, r.Values.Length);
            }
        }
        return merged.ToDictionary(kv => kv.Key, kv => new DenseTensorResult(kv.Value.Data, kv.Value.Shape));
    }

    private Dictionary<string, DenseTensorResult> RunOnce(string[] inputNames, TensorInput[] values, string[] outputs, long rowStart, long rowCount)
    {
        var ortValues = new List<OrtValue>(values.Length);
        try
        {
            foreach (var v in values)
                ortValues.Add(v.ToOrtValue(rowStart, rowCount));
            if (KnownOutputShapes(inputNames, values, outputs, rowCount) is { } shapes && TryRunIntoArrays(inputNames, ortValues, outputs, shapes) is { } direct)
                return direct;
            using var results = session.Run(runOptions, inputNames, ortValues, outputs);
            var dict = new Dictionary<string, DenseTensorResult>(outputs.Length);
            int k = 0;
            foreach (var value in results)
            {
                dict[outputs[k]] = CopyOut(outputs[k], value);
                k++;
            }
            return dict;
        }
        finally
        {
            foreach (var v in ortValues) v.Dispose();
        }
    }

    /// <summary>
    /// Output shapes when every output is float32 and each dimension is fixed or a symbol that an input fixes (such as
    /// <c>batch</c>); null otherwise. Then ONNX Runtime can write straight into managed arrays (no output copy).
    /// </summary>
    private long[][]? KnownOutputShapes(string[] inputNames, TensorInput[] values, string[] outputs, long rowCount)
    {
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < inputNames.Length; i++)
        {
            var dims = inputsByName[inputNames[i]].Dimensions;
            for (int d = 0; d < dims.Count && d < values[i].Shape.Count; d++)
                if (dims[d].Name is string name) symbols[name] = d == 0 && rowCount >= 0 ? rowCount : values[i].Shape[d];
        }
        var result = new long[outputs.Length][];
        for (int k = 0; k < outputs.Length; k++)
        {
            var info = outputsByName[outputs[k]];
            if (info.ElementType != TensorElementType.Float) return null;
            var shape = new long[info.Rank];
            for (int d = 0; d < shape.Length; d++)
            {
                var dim = info.Dimensions[d];
                if (dim.Value is long v) shape[d] = v;
                else if (dim.Name is string name && symbols.TryGetValue(name, out var bound)) shape[d] = bound;
                else return null;
            }
            result[k] = shape;
        }
        return result;
    }

    /// <summary>Runs with outputs pre-allocated as managed arrays; null if ONNX Runtime's output shapes differ from the metadata's.</summary>
    private Dictionary<string, DenseTensorResult>? TryRunIntoArrays(string[] inputNames, List<OrtValue> inputs, string[] outputs, long[][] shapes)
    {
        var arrays = new float[outputs.Length][];
        var outValues = new List<OrtValue>(outputs.Length);
        try
        {
            for (int k = 0; k < outputs.Length; k++)
            {
                long n = 1;
                foreach (var d in shapes[k]) n = checked(n * d);
                arrays[k] = new float[n];
                outValues.Add(OrtValue.CreateTensorValueFromMemory(arrays[k], shapes[k]));
            }
            try
            {
                session.Run(runOptions, inputNames, inputs, outputs, outValues);
            }
            catch (OnnxRuntimeException)
            {
                return null; // the model's metadata promised other shapes: fall back to letting ONNX Runtime allocate
            }
            var dict = new Dictionary<string, DenseTensorResult>(outputs.Length);
            for (int k = 0; k < outputs.Length; k++) dict[outputs[k]] = new DenseTensorResult(arrays[k], shapes[k]);
            return dict;
        }
        finally
        {
            foreach (var v in outValues) v.Dispose();
        }
    }

    internal static DenseTensorResult CopyOut(string name, OrtValue value)
    {
        if (!value.IsTensor)
            throw new NotSupportedException($"Output '{name}' is a {value.OnnxType}, not a tensor.");
        var info = value.GetTensorTypeAndShape();
        Array values = info.ElementDataType switch
        {
            TensorElementType.Float => value.GetTensorDataAsSpan<float>().ToArray(),
            TensorElementType.Double => value.GetTensorDataAsSpan<double>().ToArray(),
            TensorElementType.Int64 => value.GetTensorDataAsSpan<long>().ToArray(),
            TensorElementType.Int32 => value.GetTensorDataAsSpan<int>().ToArray(),
            TensorElementType.Int16 => value.GetTensorDataAsSpan<short>().ToArray(),
            TensorElementType.Int8 => value.GetTensorDataAsSpan<sbyte>().ToArray(),
            TensorElementType.UInt64 => value.GetTensorDataAsSpan<ulong>().ToArray(),
            TensorElementType.UInt32 => value.GetTensorDataAsSpan<uint>().ToArray(),
            TensorElementType.UInt16 => value.GetTensorDataAsSpan<ushort>().ToArray(),
            TensorElementType.UInt8 => value.GetTensorDataAsSpan<byte>().ToArray(),
            TensorElementType.Bool => value.GetTensorDataAsSpan<bool>().ToArray(),
            _ => throw new NotSupportedException($"Output '{name}' is {info.ElementDataType}; this library returns numeric and bool tensors (not strings or float16)."),
        };
        return new DenseTensorResult(values, info.Shape);
    }
}
