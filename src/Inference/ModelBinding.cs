using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

/// <summary>
/// Input and output buffers bound once to an <see cref="OnnxModel"/> (ONNX Runtime I/O binding) for repeated runs with
/// the same input shapes: write the inputs into <see cref="GetInputBuffer{T}(string)"/> (or <see cref="SetInput{T}(string, ReadOnlySpan{T})"/>),
/// call <see cref="Run"/>, read <see cref="GetOutput(string)"/>. No per-run allocation of inputs or of outputs whose
/// shapes follow from the input shapes.
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> A binding is used by one thread at a time (a concurrent <see cref="Run"/> throws). Create one
/// binding per thread; several bindings of one model run concurrently.</para>
/// <para><b>Ownership.</b> The binding owns its buffers (pinned managed arrays) and native handles. Spans returned by
/// <see cref="GetInputBuffer{T}(string)"/> and <see cref="GetOutput(string)"/> point into them: they stay valid until the
/// binding is disposed, and output spans are overwritten by the next <see cref="Run"/>. Use
/// <see cref="GetOutputCopy(string)"/> for a result that outlives the binding. Disposing the model disposes its open
/// bindings.</para>
/// <para><b>Outputs.</b> Float32 outputs whose shape is fixed or uses only symbolic dimensions named in an input
/// (e.g. <c>batch</c>) are preallocated and written in place by ONNX Runtime; other float32 outputs are allocated by ONNX
/// Runtime on each run and copied into the binding's buffer. Outputs of other element types are not bound (not computed).
/// With CUDA, ONNX Runtime copies the bound CPU inputs to the GPU and the outputs back on each run.</para>
/// <para><b>NaN.</b> As with <c>Predict</c>, NaN inputs are passed through and outputs may contain NaN.</para>
/// </remarks>
public sealed class ModelBinding : IDisposable
{
    private readonly OnnxModel model;
    private readonly InferenceSession session;
    private readonly OrtIoBinding binding;
    private readonly RunOptions runOptions;
    private readonly Dictionary<string, BoundInput> inputs = [];
    private readonly Dictionary<string, BoundOutput> outputs = [];
    private readonly bool anyUnsizedOutput;
    private int running;
    private bool hasRun;
    private volatile bool disposed;
    private int disposeState;

    private sealed class BoundInput(Array buffer, long[] shape, OrtValue value)
    {
        public Array Buffer { get; } = buffer;
        public long[] Shape { get; } = shape;
        public OrtValue Value { get; } = value;
    }

    private sealed class BoundOutput
    {
        public float[] Buffer = [];
        public long[] Shape = [];
        public OrtValue? Value; // null: ONNX Runtime allocates it on each run
    }

    /// <summary>The element count of a bound buffer; <see cref="ArgumentException"/> when one .NET array cannot hold it.</summary>
    private static int ElementCount(long[] shape, string what)
    {
        if (shape.Contains(0)) return 0;
        long n = 1;
        foreach (long d in shape)
        {
            if (n > Array.MaxLength / d)
                throw new ArgumentException(
                    $"{what} would have shape {TensorInput.ShapeText(shape)}: more elements than one .NET array holds ({Array.MaxLength:N0}).",
                    "inputShapes");
            n *= d;
        }
        return (int)n;
    }

    internal ModelBinding(OnnxModel model, InferenceSession session, IReadOnlyDictionary<string, long[]> inputShapes)
    {
        this.model = model;
        this.session = session;
        runOptions = new RunOptions();
        binding = session.CreateIoBinding();
        try
        {
            var symbols = new Dictionary<string, long>();
            foreach (var (name, shapeIn) in inputShapes)
            {
                var info = model.InputInfo(name);
                var shape = (long[])shapeIn.Clone();
                for (int d = 0; d < shape.Length; d++)
                    if (info.Dimensions[d].Name is { } symbol) symbols[symbol] = shape[d];
                int count = ElementCount(shape, $"Input '{name}'");
                (Array buffer, OrtValue value) = info.ElementType switch
                {
                    TensorElementType.Float => Bind<float>(count, shape),
                    TensorElementType.Int64 => Bind<long>(count, shape),
                    TensorElementType.Int32 => Bind<int>(count, shape),
                    _ => throw new NotSupportedException($"Input '{name}' is {info.ElementType}; bindings support float32, int64 and int32 inputs."),
                };
                inputs[name] = new BoundInput(buffer, shape, value);
                binding.BindInput(name, value);
            }

            foreach (var info in model.Outputs)
            {
                if (!info.IsTensor || info.ElementType != TensorElementType.Float) continue;
                var output = new BoundOutput();
                var shape = new long[info.Rank];
                bool sized = true;
                for (int d = 0; d < shape.Length && sized; d++)
                {
                    var dim = info.Dimensions[d];
                    if (dim.Value is long v) shape[d] = v;
                    else if (dim.Name is { } s && symbols.TryGetValue(s, out var sv)) shape[d] = sv;
                    else sized = false;
                }
                if (sized)
                {
                    output.Buffer = GC.AllocateArray<float>(ElementCount(shape, $"Output '{info.Name}'"), pinned: true);
                    output.Shape = shape;
                    output.Value = OrtValue.CreateTensorValueFromMemory(output.Buffer, shape);
                    binding.BindOutput(info.Name, output.Value);
                }
                else
                {
                    anyUnsizedOutput = true;
                    binding.BindOutputToDevice(info.Name, OrtMemoryInfo.DefaultInstance);
                }
                outputs[info.Name] = output;
            }
            if (outputs.Count == 0)
                throw new NotSupportedException($"The model has no float32 output to bind (outputs: {string.Join("; ", model.Outputs)}).");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private static (Array, OrtValue) Bind<T>(int count, long[] shape) where T : unmanaged
    {
        var buffer = GC.AllocateArray<T>(count, pinned: true);
        return (buffer, OrtValue.CreateTensorValueFromMemory(buffer, shape));
    }

    /// <summary>The bound inputs.</summary>
    public IReadOnlyCollection<string> InputNames => inputs.Keys;

    /// <summary>The bound (float32) outputs.</summary>
    public IReadOnlyCollection<string> OutputNames => outputs.Keys;

    /// <summary>The bound buffer of an input, to write into before <see cref="Run"/>. Row-major, of the bound shape.</summary>
    /// <typeparam name="T">float, long or int, matching the input's element type.</typeparam>
    /// <example><code>
    /// Span&lt;float&gt; input = binding.GetInputBuffer&lt;float&gt;("pixels");
    /// sample.CopyTo(input);
    /// </code></example>
    public Span<T> GetInputBuffer<T>(string name) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var input = Input(name);
        if (input.Buffer is not T[] typed)
            throw new ArgumentException(
                $"Input '{name}' holds {input.Buffer.GetType().GetElementType()!.Name} elements, not {typeof(T).Name}.", nameof(T));
        return typed;
    }

    /// <summary>Copies <paramref name="values"/> into an input's bound buffer.</summary>
    /// <exception cref="ArgumentException">The length differs from the bound shape's element count.</exception>
    /// <example><code>binding.SetInput&lt;float&gt;("pixels", sample);</code></example>
    public void SetInput<T>(string name, ReadOnlySpan<T> values) where T : unmanaged
    {
        var buffer = GetInputBuffer<T>(name);
        if (values.Length != buffer.Length)
            throw new ArgumentException(
                $"Input '{name}' is bound with shape {TensorInput.ShapeText(inputs[name].Shape)} ({buffer.Length} elements) but got {values.Length} values.",
                nameof(values));
        values.CopyTo(buffer);
    }

    /// <summary>The bound shape of an input.</summary>
    public IReadOnlyList<long> GetInputShape(string name) => Input(name).Shape;

    /// <summary>Runs the model on the bound inputs, filling the bound outputs.</summary>
    /// <exception cref="InvalidOperationException">Another thread is running this binding.</exception>
    /// <exception cref="OnnxRuntimeException">The model failed while running.</exception>
    /// <example><code>
    /// binding.SetInput&lt;float&gt;("pixels", sample);
    /// binding.Run();
    /// float best = binding.GetOutput("probabilities").ToArray().Max();
    /// </code></example>
    public void Run()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var call = model.EnterCall();
        if (Interlocked.Exchange(ref running, 1) == 1)
            throw new InvalidOperationException("ModelBinding.Run was called while another thread runs this binding; use one binding per thread.");
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            // ONNX Runtime keeps the value it allocated for a device-bound output and would reuse it as a preallocated
            // buffer next time (failing if the shape changes), so unsized outputs are re-bound before every run.
            if (anyUnsizedOutput)
                foreach (var (name, output) in outputs)
                    if (output.Value is null) binding.BindOutputToDevice(name, OrtMemoryInfo.DefaultInstance);
            session.RunWithBinding(runOptions, binding);
            binding.SynchronizeBoundOutputs();
            if (anyUnsizedOutput)
            {
                var names = binding.GetOutputNames();
                using var values = binding.GetOutputValues();
                int i = 0;
                foreach (var value in values)
                {
                    var output = outputs[names[i++]];
                    if (output.Value is not null) continue;
                    var shape = value.GetTensorTypeAndShape().Shape;
                    var data = value.GetTensorDataAsSpan<float>();
                    if (output.Buffer.Length != data.Length) output.Buffer = new float[data.Length];
                    data.CopyTo(output.Buffer);
                    output.Shape = shape;
                }
            }
            hasRun = true;
        }
        finally
        {
            Volatile.Write(ref running, 0);
        }
    }

    /// <summary>An output of the last <see cref="Run"/>, row-major. Points into the binding's buffer: overwritten by
    /// the next run, invalid after <see cref="Dispose"/>.</summary>
    /// <example><code>
    /// binding.Run();
    /// ReadOnlySpan&lt;float&gt; scores = binding.GetOutput("probabilities");   // valid until the next Run
    /// </code></example>
    public ReadOnlySpan<float> GetOutput(string name) => Output(name).Buffer;

    /// <summary>The shape of an output of the last <see cref="Run"/>.</summary>
    public IReadOnlyList<long> GetOutputShape(string name) => Output(name).Shape;

    /// <summary>A copy of an output of the last <see cref="Run"/>, owned by the caller.</summary>
    /// <example><code>DenseTensorResult kept = binding.GetOutputCopy("probabilities");   // outlives the binding</code></example>
    public DenseTensorResult GetOutputCopy(string name)
    {
        var output = Output(name);
        return new DenseTensorResult((float[])output.Buffer.Clone(), output.Shape);
    }

    private BoundInput Input(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return inputs.TryGetValue(name, out var input)
            ? input
            : throw new ArgumentException($"The binding has no input named '{name}'; its inputs are {string.Join(", ", inputs.Keys)}.", nameof(name));
    }

    private BoundOutput Output(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!outputs.TryGetValue(name, out var output))
            throw new ArgumentException($"The binding has no output named '{name}'; its outputs are {string.Join(", ", outputs.Keys)}.", nameof(name));
        if (!hasRun)
            throw new InvalidOperationException($"Output '{name}' is not available before the first Run().");
        return output;
    }

    /// <summary>Releases the native binding and values. The buffers become garbage.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposeState, 1) != 0) return;
        disposed = true;
        var spin = new SpinWait();
        while (Volatile.Read(ref running) != 0) spin.SpinOnce(); // a Run in flight on another thread (misuse) finishes first
        model.Forget(this);
        binding.Dispose();
        foreach (var input in inputs.Values) input.Value.Dispose();
        foreach (var output in outputs.Values) output.Value?.Dispose();
        runOptions.Dispose();
    }
}
