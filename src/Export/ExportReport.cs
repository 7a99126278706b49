namespace OnnxKeras.Export;

/// <summary>What an export produced.</summary>
public sealed class ExportReport
{
    /// <summary>The opset written.</summary>
    public required int Opset { get; init; }

    /// <summary>The IR version written.</summary>
    public required long IrVersion { get; init; }

    /// <summary>Number of nodes of each ONNX op type.</summary>
    public required IReadOnlyDictionary<string, int> NodesByOpType { get; init; }

    /// <summary>Number of scalars in the initializers (weights and folded constants).</summary>
    public required long ParameterCount { get; init; }

    /// <summary>Bytes of the model file (and of the external data file, if any), 0 for in-memory exports.</summary>
    public long FileSize { get; internal set; }

    /// <summary>The external data file, if the weights were written separately.</summary>
    public string? ExternalDataPath { get; internal set; }

    /// <summary>With <see cref="OnnxExportOptions.Verify"/>: the largest absolute difference between ONNX Runtime and TorchSharp.</summary>
    public double? MaxAbsDifference { get; internal set; }

    /// <inheritdoc />
    public override string ToString() =>
        $"opset {Opset} (IR {IrVersion}), {NodesByOpType.Values.Sum()} nodes " +
        $"({string.Join(", ", NodesByOpType.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value}"))}), " +
        $"{ParameterCount:N0} parameters" +
        (FileSize > 0 ? $", {FileSize:N0} bytes" : "") + (MaxAbsDifference is double d ? $", max |diff| {d:E2}" : "");
}

/// <summary>An export failed: unsupported layers (all listed), a bad option, or a verification mismatch.</summary>
public sealed class OnnxExportException(string message, Exception? inner = null) : Exception(message, inner);
