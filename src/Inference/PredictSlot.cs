using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

/// <summary>
/// What <c>Predict</c> reuses between calls for one input shape of a single-input, single-float32-output model: a pinned
/// input buffer, a pinned output buffer, their <see cref="OrtValue"/>s and an I/O binding that binds both. A slot never
/// changes after construction (another shape gets another slot), so the pool can compare a slot's shape without taking
/// it. One call at a time uses a slot: the pool hands it out exclusively.
/// </summary>
internal sealed class PredictSlot : IDisposable
{
    private readonly byte[] input;
    private readonly float[] output;
    private readonly OrtValue? inputValue;
    private readonly OrtValue? outputValue;
    private readonly OrtIoBinding? binding;
    private readonly long[] inputShape;
    private readonly long[] outputShape;
    private readonly TensorElementType inputType;
    private readonly int inputLength;

    /// <param name="session">The model's session.</param>
    /// <param name="inputName">The model's only input.</param>
    /// <param name="outputName">The model's only output (float32).</param>
    /// <param name="inputType">The input's element type.</param>
    /// <param name="inputShape">The validated input shape (copied).</param>
    /// <param name="inputLength">Its element count (at least 1).</param>
    /// <param name="elementSize">Bytes per input element.</param>
    /// <param name="outputShape">The output shape the model's metadata gives for this input (copied; at least 1 element).</param>
    public PredictSlot(InferenceSession session, string inputName, string outputName, TensorElementType inputType,
                       ReadOnlySpan<long> inputShape, int inputLength, int elementSize, ReadOnlySpan<long> outputShape)
    {
        this.inputType = inputType;
        this.inputLength = inputLength;
        this.inputShape = inputShape.ToArray();
        this.outputShape = outputShape.ToArray();
        long outputLength = 1;
        foreach (long d in this.outputShape) outputLength *= d;
        // Pinned object heap: the addresses never change, so the native values can point at them for the slot's life.
        input = GC.AllocateArray<byte>(checked(inputLength * elementSize), pinned: true);
        output = GC.AllocateArray<float>(checked((int)outputLength), pinned: true);
        try
        {
            var cpu = OrtMemoryInfo.DefaultInstance;
            inputValue = OrtValue.CreateTensorValueWithData(
                cpu, inputType, this.inputShape, Marshal.UnsafeAddrOfPinnedArrayElement(input, 0), input.Length);
            outputValue = OrtValue.CreateTensorValueWithData(
                cpu, TensorElementType.Float, this.outputShape, Marshal.UnsafeAddrOfPinnedArrayElement(output, 0), (long)output.Length * sizeof(float));
            binding = session.CreateIoBinding();
            binding.BindInput(inputName, inputValue);
            binding.BindOutput(outputName, outputValue);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Whether this slot was built for an input of this element type, shape and element count.</summary>
    public bool Matches(TensorElementType type, long[] shape, int length) =>
        type == inputType && length == inputLength && shape.AsSpan().SequenceEqual(inputShape);

    /// <summary>Copies <paramref name="data"/> (the input's bytes) in, runs the bound session and copies the output into a
    /// new array owned by the caller.</summary>
    /// <exception cref="OnnxRuntimeException">The run failed (also when the output's real shape differs from the metadata's).</exception>
    public DenseTensorResult Run(InferenceSession session, RunOptions options, ReadOnlySpan<byte> data)
    {
        data.CopyTo(input);
        session.RunWithBinding(options, binding!);
        binding!.SynchronizeBoundOutputs();
        return DenseTensorResult.OwnedFloat(output.AsSpan().ToArray(), outputShape);
    }

    public void Dispose()
    {
        binding?.Dispose();
        inputValue?.Dispose();
        outputValue?.Dispose();
    }
}
