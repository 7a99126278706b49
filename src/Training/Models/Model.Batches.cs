using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using static TorchSharp.torch;

namespace OnnxKeras.Models;

// Fit, Evaluate and Predict on a .NET sequence of batches (Keras's fit on a generator or a PyDataset). The sequence is
// enumerated anew for every epoch (an iterator method restarts, a list is read again); its batches are fed as they are.
public partial class Model
{
    /// <summary>
    /// Trains on a sequence of <c>(x, y)</c> batches of .NET arrays (Keras's <c>fit</c> on a generator), enumerated anew for
    /// every epoch and converted batch by batch as <see cref="TensorConvert.ToTensor"/> does. A collection (a list or an
    /// array of batches) tells Fit its size; other sequences have an unknown size, so the progress bar counts without a
    /// total. The other parameters are those of <see cref="Fit(Dataset, int, int, IEnumerable{Callback}?, ValidationData?,
    /// IReadOnlyDictionary{int, double}?, int, int?, int?, int)"/>.
    /// </summary>
    /// <example><code>
    /// IEnumerable&lt;(Array X, Array Y)&gt; Batches() { for (int i = 0; i &lt; 4; i++) yield return (xBatches[i], yBatches[i]); }
    /// model.Fit(Batches(), epochs: 3);
    /// </code></example>
    public History Fit(IEnumerable<(Array X, Array Y)> batches, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null,
        ValidationData? validationData = null, IReadOnlyDictionary<int, double>? classWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null,
        int? validationSteps = null, int validationFreq = 1) =>
        Fit(BatchSequenceDataset.OfArrays(batches, b => [b.X, b.Y], "Fit"), epochs, verbose, callbacks, validationData, classWeight, initialEpoch,
            stepsPerEpoch, validationSteps, validationFreq);

    /// <summary>Trains on a sequence of <c>(x, y)</c> tensor batches; the tensors stay the caller's (Fit never disposes them).
    /// See <see cref="Fit(IEnumerable{ValueTuple{Array, Array}}, int, int, IEnumerable{Callback}?, ValidationData?,
    /// IReadOnlyDictionary{int, double}?, int, int?, int?, int)"/>.</summary>
    /// <example><code>model.Fit(tensorBatches, epochs: 2);   // a List&lt;(Tensor X, Tensor Y)&gt;</code></example>
    public History Fit(IEnumerable<(Tensor X, Tensor Y)> batches, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null,
        ValidationData? validationData = null, IReadOnlyDictionary<int, double>? classWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null,
        int? validationSteps = null, int validationFreq = 1) =>
        Fit(BatchSequenceDataset.OfTensors(batches, b => [b.X, b.Y], "Fit"), epochs, verbose, callbacks, validationData, classWeight, initialEpoch,
            stepsPerEpoch, validationSteps, validationFreq);

    /// <summary>
    /// Trains on a sequence of batches laid out as dataset elements: the inputs (in <see cref="InputNames"/> order), then
    /// the targets (in <see cref="OutputNames"/> order), then optionally sample weights. For models with several inputs or
    /// outputs. The tensors stay the caller's.
    /// </summary>
    /// <example><code>model.Fit(new List&lt;Tensor[]&gt; { new[] { xa, xb, y } }, epochs: 2);</code></example>
    public History Fit(IEnumerable<Tensor[]> batches, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null,
        ValidationData? validationData = null, IReadOnlyDictionary<int, double>? classWeight = null, int initialEpoch = 0, int? stepsPerEpoch = null,
        int? validationSteps = null, int validationFreq = 1) =>
        Fit(BatchSequenceDataset.OfTensors(batches, b => b ?? throw new ArgumentException("Fit: a batch is null."), "Fit"), epochs, verbose, callbacks,
            validationData, classWeight, initialEpoch, stepsPerEpoch, validationSteps, validationFreq);

    /// <summary>Loss and metrics over a sequence of <c>(x, y)</c> array batches; <paramref name="steps"/> stops early.</summary>
    /// <example><code>double loss = model.Evaluate(Batches())["loss"];</code></example>
    public Dictionary<string, double> Evaluate(IEnumerable<(Array X, Array Y)> batches, int? steps = null, int verbose = 0,
        IEnumerable<Callback>? callbacks = null) =>
        Evaluate(BatchSequenceDataset.OfArrays(batches, b => [b.X, b.Y], "Evaluate"), steps, verbose, callbacks);

    /// <summary>Loss and metrics over a sequence of <c>(x, y)</c> tensor batches.</summary>
    /// <example><code>double loss = model.Evaluate(tensorBatches)["loss"];</code></example>
    public Dictionary<string, double> Evaluate(IEnumerable<(Tensor X, Tensor Y)> batches, int? steps = null, int verbose = 0,
        IEnumerable<Callback>? callbacks = null) =>
        Evaluate(BatchSequenceDataset.OfTensors(batches, b => [b.X, b.Y], "Evaluate"), steps, verbose, callbacks);

    /// <summary>Loss and metrics over a sequence of batches laid out as dataset elements (inputs, targets[, weights]).</summary>
    /// <example><code>double loss = model.Evaluate(new List&lt;Tensor[]&gt; { new[] { xa, xb, y } })["loss"];</code></example>
    public Dictionary<string, double> Evaluate(IEnumerable<Tensor[]> batches, int? steps = null, int verbose = 0, IEnumerable<Callback>? callbacks = null) =>
        Evaluate(BatchSequenceDataset.OfTensors(batches, b => b ?? throw new ArgumentException("Evaluate: a batch is null."), "Evaluate"), steps,
            verbose, callbacks);

    /// <summary>Predictions of a one-input, one-output model for a sequence of input batches, concatenated in order.</summary>
    /// <example><code>NDArray p = model.Predict(inputBatches);   // a List&lt;Tensor&gt;</code></example>
    public NDArray Predict(IEnumerable<Tensor> batches, int? steps = null, int verbose = 0) =>
        Predict(BatchSequenceDataset.OfTensors(batches, b => [b], "Predict"), steps, verbose);

    /// <summary>Predictions, by output name, for a sequence of batches of the model's inputs (in <see cref="InputNames"/> order).</summary>
    /// <example><code>NDArray p = model.Predict(new List&lt;Tensor[]&gt; { new[] { xa, xb } })["score"];</code></example>
    public Dictionary<string, NDArray> Predict(IEnumerable<Tensor[]> batches, int? steps = null)
    {
        var ds = BatchSequenceDataset.OfTensors(batches, b => b ?? throw new ArgumentException("Predict: a batch is null."), "Predict");
        return NamedOutputs(PredictCore(ds, steps));
    }

    /// <summary>One NDArray per output name; disposes the tensors.</summary>
    private Dictionary<string, NDArray> NamedOutputs(Tensor[] outputs)
    {
        var names = OutputNames;
        var result = new Dictionary<string, NDArray>(StringComparer.Ordinal);
        try
        {
            for (int k = 0; k < outputs.Length; k++) result[names[k]] = TensorConvert.ToNDArray(outputs[k]);
        }
        finally
        {
            foreach (var o in outputs) o.Dispose();
        }
        return result;
    }
}
