namespace OnnxKeras.Layers;

/// <summary>Average pooling over [batch, height, width, channels] inputs (Keras's <c>AveragePooling2D</c>); with "same"
/// padding, padded positions are not counted.</summary>
/// <example><code>new AveragePooling2D(poolSize: (2, 2), strides: null, padding: "valid")</code></example>
public sealed class AveragePooling2D : BasePooling
{
    /// <summary>Creates a AveragePooling2D layer; Keras's defaults: pool size (2, 2), strides equal to the pool size, "valid" padding.</summary>
    public AveragePooling2D(IntTuple? poolSize = null, IntTuple? strides = null, string padding = "valid", string? dataFormat = null)
        : base(2, false, poolSize ?? (2, 2), strides, padding, dataFormat)
    {
    }
}
