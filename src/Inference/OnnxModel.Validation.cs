using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxKeras.Inference;

// Checking inputs and requested outputs against the model's metadata before ONNX Runtime is called.
public sealed partial class OnnxModel
{
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
                        $"Input '{name}' has shape {Actual()}, which needs " +
                        $"{(overflow ? "more than long.MaxValue" : needed.ToString(System.Globalization.CultureInfo.InvariantCulture))} " +
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
                    $"Output '{n}' is {(info.IsTensor ? info.ElementType.ToString() : "not a tensor")}; " +
                    "this library returns numeric and bool tensors (not strings or float16).");
        }
        if (names.Distinct().Count() != names.Length)
            throw new ArgumentException($"outputNames lists an output twice: {string.Join(", ", names)}.", nameof(outputNames));
        return names;
    }
}
