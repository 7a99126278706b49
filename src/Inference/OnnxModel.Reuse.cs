using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

// Predict without per-call setup for small inputs of single-input, single-float32-output models (issue 17): a pool of
// PredictSlots, each holding pinned input and output buffers, their native values and an I/O binding for one input
// shape. A call with a shape seen before takes a matching slot (exclusively), copies the input in, runs the binding and
// copies the output out: no validation (that shape passed it), no OrtValue, no name lookup, no dictionary. Inputs and
// outputs above PooledBytesLimit, other models and other shapes while the pool is busy take the general path.
public sealed partial class OnnxModel
{
    /// <summary>Inputs and outputs up to this many bytes go through pooled buffers; larger ones are read and written in
    /// place. Below it, copying the data costs less than creating and releasing a native value over the caller's memory.</summary>
    internal const int PooledBytesLimit = 16 * 1024;

    // Per output dimension: a fixed size, or the input dimension (index >= 0) whose size it takes. Null: calls are not
    // pooled (not one input and one float32 output, or an output dimension the input's shape does not determine).
    private readonly (long Fixed, int FromInput)[]? pooledOutputDims;
    // Enough for every core to have a call in flight twice over; a slot holds at most 2 x PooledBytesLimit of buffers.
    private readonly PredictSlot?[] slots = new PredictSlot?[Math.Clamp(2 * Environment.ProcessorCount, 4, 32)];
    private int nextVictim;
    private int pooledRunsDisabled; // 1 once a model's output shape differed from its metadata's

    /// <summary>Whether this process's calls go through the pool (for tests and benchmarks: false = the general path
    /// always).</summary>
    internal static bool PoolingEnabled { get; set; } = true;

    private (long Fixed, int FromInput)[]? PlanPooling()
    {
        if (Inputs.Count != 1 || Outputs.Count != 1) return null;
        ModelTensorInfo input = Inputs[0], output = Outputs[0];
        if (!input.IsTensor || !output.IsTensor || output.ElementType != TensorElementType.Float
            || input.ElementType is not (TensorElementType.Float or TensorElementType.Int64 or TensorElementType.Int32))
            return null;
        var plan = new (long Fixed, int FromInput)[output.Rank];
        for (int d = 0; d < plan.Length; d++)
        {
            var dim = output.Dimensions[d];
            int from = dim.Name is { } symbol ? IndexOfSymbol(input, symbol) : -1;
            if (dim.Value is long size) plan[d] = (size, -1);
            else if (from >= 0) plan[d] = (0, from);
            else return null;
        }
        return plan;
    }

    private static int IndexOfSymbol(ModelTensorInfo info, string symbol)
    {
        for (int d = 0; d < info.Rank; d++)
            if (info.Dimensions[d].Name == symbol) return d;
        return -1;
    }

    /// <summary>
    /// Runs one input through a pooled slot; null when the call is not for the pool (the caller then takes the general
    /// path, which also gives every refusal its usual exception). <paramref name="failed"/>: ONNX Runtime refused the
    /// pooled run; if the general path then succeeds, the metadata's output shape was wrong (see <see cref="AfterPooled"/>).
    /// </summary>
    private DenseTensorResult? TryPredictPooled(TensorElementType type, ReadOnlySpan<byte> data, long[]? shape, int length,
                                                int? maxBatchSize, out bool failed)
    {
        failed = false;
        if (pooledOutputDims is null || shape is null || length == 0 || data.Length > PooledBytesLimit || maxBatchSize is <= 0
            || !PoolingEnabled || Volatile.Read(ref pooledRunsDisabled) != 0 || Volatile.Read(ref disposeState) != 0)
            return null;
        if ((maxBatchSize ?? defaultMaxBatchSize) is int limit && (shape.Length == 0 || shape[0] > limit))
            return null; // may be split: the general path decides
        using var call = EnterCall();
        var slot = TakeSlot(type, shape, length);
        if (slot is null)
        {
            foreach (long d in shape)
                if (d < 0) return null; // TensorInput's own message
            ValidateInputs([(Inputs[0].Name, type, (IReadOnlyList<long>?)shape, (long?)length)], "inputs");
            slot = CreateSlot(type, shape, length);
            if (slot is null) return null;
        }
        DenseTensorResult result;
        try
        {
            result = slot.Run(session, runOptions, data);
        }
        catch (OnnxRuntimeException)
        {
            slot.Dispose();
            failed = true;
            return null;
        }
        ReturnSlot(slot);
        return result;
    }

    /// <summary>After a pooled run failed and the general path succeeded: the output's real shape is not the one its
    /// metadata gives, so this model's calls stop trying the pool.</summary>
    private DenseTensorResult AfterPooled(bool failed, DenseTensorResult result)
    {
        if (failed) Volatile.Write(ref pooledRunsDisabled, 1);
        return result;
    }

    private PredictSlot? CreateSlot(TensorElementType type, long[] shape, int length)
    {
        var plan = pooledOutputDims!;
        var outputShape = new long[plan.Length];
        long count = 1;
        for (int d = 0; d < plan.Length; d++)
        {
            outputShape[d] = plan[d].FromInput >= 0 ? shape[plan[d].FromInput] : plan[d].Fixed;
            count *= outputShape[d];
            if (count == 0 || count > PooledBytesLimit / sizeof(float)) return null;
        }
        int elementSize = type == TensorElementType.Int64 ? sizeof(long) : sizeof(float);
        return new PredictSlot(session, Inputs[0].Name, Outputs[0].Name, type, shape, length, elementSize, outputShape);
    }

    /// <summary>A pooled slot for this input, removed from the pool (so no other call uses it); null if none is free.</summary>
    private PredictSlot? TakeSlot(TensorElementType type, long[] shape, int length)
    {
        for (int i = 0; i < slots.Length; i++)
        {
            var s = Volatile.Read(ref slots[i]);
            if (s is not null && s.Matches(type, shape, length) && Interlocked.CompareExchange(ref slots[i], null, s) == s)
                return s;
        }
        return null;
    }

    /// <summary>Puts a slot back: into a free place, else in place of a pooled (idle) slot, which is released.</summary>
    private void ReturnSlot(PredictSlot slot)
    {
        for (int i = 0; i < slots.Length; i++)
            if (Interlocked.CompareExchange(ref slots[i], slot, null) is null) return;
        int victim = (int)((uint)Interlocked.Increment(ref nextVictim) % (uint)slots.Length);
        Interlocked.Exchange(ref slots[victim], slot)?.Dispose();
    }

    /// <summary>Releases the pooled slots (from <see cref="Dispose"/>, once no call is in flight).</summary>
    private void DisposeSlots()
    {
        for (int i = 0; i < slots.Length; i++) Interlocked.Exchange(ref slots[i], null)?.Dispose();
    }
}
