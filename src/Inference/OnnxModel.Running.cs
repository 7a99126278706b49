using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

// Running a validated call: batch slicing, one ONNX Runtime run, and copying outputs into managed arrays.
public sealed partial class OnnxModel
{
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
                        $"Output '{name}' has shape {TensorInput.ShapeText(r.Shape)} for one slice but " +
                        $"{TensorInput.ShapeText(m.Shape.Skip(1).Prepend(count))} " +
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
            if (KnownOutputShapes(inputNames, values, outputs, rowCount) is { } shapes
                && TryRunIntoArrays(inputNames, ortValues, outputs, shapes) is { } direct)
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
            _ => throw new NotSupportedException(
                $"Output '{name}' is {info.ElementDataType}; this library returns numeric and bool tensors (not strings or float16)."),
        };
        return new DenseTensorResult(values, info.Shape);
    }
}
