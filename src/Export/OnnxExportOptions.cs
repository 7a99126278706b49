namespace OnnxKeras.Export;

/// <summary>Options of <see cref="OnnxExport.ExportOnnx(OnnxKeras.Models.Model, string, OnnxExportOptions?)"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>Lowest opset supported.</summary>
    public const int MinOpset = 17;

    /// <summary>Highest opset supported.</summary>
    public const int MaxOpset = 21;

    /// <summary>The ONNX opset (17 to 21; default 17). The IR version follows it (17-18: 8, 19-20: 9, 21: 10).</summary>
    public int Opset { get; init; } = MinOpset;

    /// <summary>Names of the graph inputs (default: the model's input names).</summary>
    public IReadOnlyList<string>? InputNames { get; init; }

    /// <summary>Names of the graph outputs (default: the model's output names).</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }

    /// <summary>Name of the symbolic batch dimension (default <c>batch</c>); null fixes the batch size to <see cref="FixedBatchSize"/>.</summary>
    public string? BatchDimension { get; init; } = "batch";

    /// <summary>The batch size when <see cref="BatchDimension"/> is null.</summary>
    public int FixedBatchSize { get; init; } = 1;

    /// <summary>
    /// Further dynamic axes by input name: axis (1-based past the batch, as in the input's full shape) to dimension name,
    /// e.g. <c>{ ["tokens"] = { [1] = "sequence" } }</c>. Dimensions declared unknown in the model's input are dynamic anyway.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<int, string>>? DynamicAxes { get; init; }

    /// <summary>Producer name written into the file.</summary>
    public string ProducerName { get; init; } = "OnnxKeras";

    /// <summary>Producer version written into the file.</summary>
    public string ProducerVersion { get; init; } = typeof(OnnxExportOptions).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    /// <summary>A description written into the file.</summary>
    public string? DocString { get; init; }

    /// <summary>Extra metadata_props entries (the model's Keras config is always written under <c>keras_config</c>).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>When the weights exceed this many bytes, they go to an external data file next to the model (path export only).</summary>
    public long ExternalDataThreshold { get; init; } = 1L << 31;

    /// <summary>Run the exported model in ONNX Runtime (CPU) against the TorchSharp forward on random inputs, and fail on a mismatch.</summary>
    public bool Verify { get; init; }
}
