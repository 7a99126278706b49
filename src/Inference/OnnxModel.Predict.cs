using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

// The public run surface: the Predict overloads and CreateBinding (I/O binding).
public sealed partial class OnnxModel
{
    /// <summary>
    /// Runs a model with one input and one output, both rank 2 (e.g. [batch, features] -> [batch, classes]).
    /// </summary>
    /// <param name="x">The input rows; read in place, or (up to 16 KiB) copied into a pooled buffer.</param>
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

    /// <summary>Runs a single-input, single-output model on row-major data with the given shape.</summary>
    /// <param name="data">The input elements, row-major; read in place while the call runs (up to 16 KiB, copied into a
    /// pooled buffer).</param>
    /// <param name="shape">The input shape; its element count must equal <c>data.Length</c>.</param>
    /// <param name="maxBatchSize">See <see cref="Predict(IReadOnlyDictionary{string, TensorInput}, IReadOnlyCollection{string}?, int?)"/>.</param>
    /// <returns>The output, copied into a new array owned by the caller.</returns>
    /// <example><code>
    /// float[] pixels = new float[4 * 28 * 28];
    /// DenseTensorResult y = model.Predict(pixels, [4, 28, 28, 1]);
    /// float first = y[0, 0];
    /// </code></example>
    public DenseTensorResult Predict(ReadOnlyMemory<float> data, long[] shape, int? maxBatchSize = null) =>
        TryPredictPooled(TensorElementType.Float, MemoryMarshal.AsBytes(data.Span), shape, data.Length, maxBatchSize, out bool failed)
        ?? AfterPooled(failed, PredictSingle(new TensorInput(data, shape), maxBatchSize));

    /// <summary>Runs a single-input, single-output model.</summary>
    /// <param name="input">The input; read in place while the call runs (up to 16 KiB, copied into a pooled buffer).</param>
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
        return TryPredictPooled(input.ElementType, input.Bytes, input.ShapeArray, input.Length, maxBatchSize, out bool failed)
            ?? AfterPooled(failed, PredictSingle(input, maxBatchSize));
    }

    private DenseTensorResult PredictSingle(TensorInput input, int? maxBatchSize)
    {
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
        var results = PredictGeneral(new Dictionary<string, TensorInput> { [Inputs[0].Name] = input }, null, maxBatchSize);
        return results[Outputs[0].Name];
    }

    private string[]? singleInputName;
    private string[]? singleOutputName;

    /// <summary>Runs the model on named inputs and returns the named outputs.</summary>
    /// <param name="inputs">One entry per model input (all are required); read in place while the call runs (see
    /// <see cref="OnnxModel"/> for the pooled copies).</param>
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
        // One input and the one output: the single-input path, with its pool.
        bool failed = false;
        if (pooledOutputDims is not null && inputs.Count == 1
            && (outputNames is null || (outputNames.Count == 1 && outputNames.Contains(Outputs[0].Name)))
            && inputs.TryGetValue(Inputs[0].Name, out var only) && only is not null
            && TryPredictPooled(only.ElementType, only.Bytes, only.ShapeArray, only.Length, maxBatchSize, out failed) is { } pooled)
            return new Dictionary<string, DenseTensorResult>(1) { [Outputs[0].Name] = pooled };
        var results = PredictGeneral(inputs, outputNames, maxBatchSize);
        if (failed) Volatile.Write(ref pooledRunsDisabled, 1);
        return results;
    }

    private Dictionary<string, DenseTensorResult> PredictGeneral(
        IReadOnlyDictionary<string, TensorInput> inputs, IReadOnlyCollection<string>? outputNames, int? maxBatchSize)
    {
        using var call = EnterCall();
        if (maxBatchSize is <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, "maxBatchSize must be positive.");
        ValidateInputs(
            inputs.Select(kv => (kv.Key, kv.Value?.ElementType ?? TensorElementType.Float,
                (IReadOnlyList<long>?)kv.Value?.Shape, (long?)kv.Value?.Length)),
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
}
