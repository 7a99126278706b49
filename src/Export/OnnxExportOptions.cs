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

    /// <summary>
    /// The most weight bytes an ONNX file can hold inline: protobuf's 2 GB limit on one message (2^31 - 1 bytes) less
    /// 1 MiB left for the graph, names and metadata. Above it, path export always writes external data and stream or
    /// byte export fails.
    /// </summary>
    public const long MaxInlineWeightBytes = (1L << 31) - (1L << 20);

    /// <summary>
    /// When the weights exceed this many bytes, path export writes them to an external data file next to the model
    /// (default <see cref="MaxInlineWeightBytes"/>; a larger value cannot keep weights above that limit inline).
    /// </summary>
    public long ExternalDataThreshold { get; init; } = MaxInlineWeightBytes;

    /// <summary>Whether weights of <paramref name="weightBytes"/> bytes fit inline in one ONNX protobuf message (<see cref="MaxInlineWeightBytes"/>).</summary>
    public static bool FitsInline(long weightBytes) => weightBytes <= MaxInlineWeightBytes;

    /// <summary>Whether path export with these options writes weights of <paramref name="weightBytes"/> bytes to external
    /// data: above <see cref="ExternalDataThreshold"/>, or when they do not fit inline.</summary>
    public bool UsesExternalData(long weightBytes) => weightBytes > ExternalDataThreshold || !FitsInline(weightBytes);

    /// <summary>Run the exported model in ONNX Runtime (CPU) against the TorchSharp forward on random inputs, and fail on a mismatch.</summary>
    public bool Verify { get; init; }
}
