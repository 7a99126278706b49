using static TorchSharp.torch;

namespace OnnxKeras;

// keras.ops.einsum (in Keras's numpy group; its own file to keep Ops.Numpy.cs short).
public static partial class Ops
{
    /// <summary>
    /// Einstein summation (Keras's <c>ops.einsum</c>): <paramref name="subscripts"/> such as <c>"abc,cd-&gt;abd"</c> name each
    /// operand's axes with letters; letters missing from the output are summed over. The output must be explicit
    /// (<c>-&gt;</c>) and ellipses (<c>...</c>) are not supported. Exports as ONNX <c>Einsum</c> (opset 12 and later).
    /// </summary>
    /// <exception cref="ArgumentException">The subscripts do not name each operand's axes, or the output is implicit.</exception>
    /// <exception cref="NotSupportedException">An ellipsis.</exception>
    public static KTensor Einsum(string subscripts, params KTensor[] operands)
    {
        ArgumentNullException.ThrowIfNull(subscripts);
        string eq = subscripts.Replace(" ", "", StringComparison.Ordinal);
        if (eq.Contains("...", StringComparison.Ordinal))
            throw new NotSupportedException($"einsum: ellipses ('...') are not supported; got '{subscripts}'. Name every axis with a letter.");
        int arrow = eq.IndexOf("->", StringComparison.Ordinal);
        if (arrow < 0) throw new ArgumentException($"einsum: the equation needs an explicit output ('->'); got '{subscripts}'.");
        var inputs = eq[..arrow].Split(',');
        string output = eq[(arrow + 2)..];
        if (inputs.Length != operands.Length)
            throw new ArgumentException($"einsum: '{subscripts}' names {inputs.Length} operand(s); got {operands.Length}.");
        var sizes = new Dictionary<char, long>();
        for (int i = 0; i < inputs.Length; i++)
        {
            var spec = inputs[i];
            if (spec.Any(c => !char.IsAsciiLetter(c)) || spec.Length != operands[i].Rank)
                throw new ArgumentException($"einsum: operand {i} has rank {operands[i].Rank} but '{subscripts}' names its axes '{spec}'.");
            for (int k = 0; k < spec.Length; k++)
            {
                long d = operands[i].Value.shape[k];
                if (sizes.TryGetValue(spec[k], out long other) && other != d && other != 1 && d != 1)
                    throw new ArgumentException($"einsum: axis '{spec[k]}' of '{subscripts}' has sizes {other} and {d}.");
                sizes[spec[k]] = Math.Max(d, sizes.GetValueOrDefault(spec[k]));
            }
        }
        if (output.Any(c => !sizes.ContainsKey(c)) || output.Distinct().Count() != output.Length)
            throw new ArgumentException($"einsum: the output '{output}' of '{subscripts}' must name distinct axes of the operands.");
        return Emit(new EinsumOp(eq), operands, () => einsum(eq, operands.Select(o => o.Value).ToArray()));
    }
}

/// <summary><c>ops.einsum</c> with its equation (spaces removed, explicit output).</summary>
internal sealed record EinsumOp(string Equation) : OpInfo;
