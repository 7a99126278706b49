using static TorchSharp.torch;

namespace OnnxKeras.Models.Jit;

/// <summary>
/// The argument list of a function generated from a <see cref="ScriptTracer"/>: the call's data tensors, then the traced
/// variables' current values, then the trace's constants, which this object owns. <see cref="Header"/> writes the
/// matching TorchScript parameter list. One array is reused across calls; its data and variable slots are cleared after
/// each, so it keeps no batch alive.
/// </summary>
internal sealed class ScriptArguments : IDisposable
{
    private readonly Variable[] parameters;
    private readonly Tensor[] constants;
    private readonly object[] values;
    private readonly int dataCount;

    /// <summary>The arguments of a function over <paramref name="dataCount"/> data tensors and <paramref name="tracer"/>'s variables and constants.</summary>
    public ScriptArguments(ScriptTracer tracer, int dataCount)
    {
        parameters = [.. tracer.Parameters];
        constants = [.. tracer.Constants];
        this.dataCount = dataCount;
        values = new object[dataCount + parameters.Length + constants.Length];
        for (int i = 0; i < constants.Length; i++) values[dataCount + parameters.Length + i] = constants[i];
    }

    /// <summary>
    /// The TorchScript parameter list (<c>x0: Tensor, ..., p0: Tensor, ..., c0: Tensor, ...</c>) for data named
    /// <paramref name="dataNames"/> and <paramref name="tracer"/>'s variables and constants, in the order of the values.
    /// </summary>
    public static string Header(IEnumerable<string> dataNames, ScriptTracer tracer) =>
        string.Join(", ", dataNames.Concat(tracer.Parameters.Select((_, i) => $"p{i}")).Concat(tracer.Constants.Select((_, i) => $"c{i}"))
            .Select(n => $"{n}: Tensor"));

    /// <summary>Calls <paramref name="function"/> of <paramref name="unit"/> on <paramref name="data"/> and the variables' current values.</summary>
    /// <exception cref="InvalidOperationException">Another number of data tensors than the function was generated for.</exception>
    public object Invoke(jit.CompilationUnit unit, string function, IReadOnlyList<Tensor> data)
    {
        if (data.Count != dataCount)
            throw new InvalidOperationException("The compiled function was called with another batch layout than it was compiled for.");
        for (int i = 0; i < dataCount; i++) values[i] = data[i];
        for (int i = 0; i < parameters.Length; i++) values[dataCount + i] = parameters[i].Value;
        try
        {
            return unit.invoke(function, values);
        }
        finally
        {
            Array.Clear(values, 0, dataCount + parameters.Length);
        }
    }

    /// <summary>Releases the constants.</summary>
    public void Dispose()
    {
        foreach (var c in constants) c.Dispose();
    }
}
