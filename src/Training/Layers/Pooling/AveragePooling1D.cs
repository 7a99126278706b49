namespace OnnxKeras.Layers;

/// <summary>Average pooling over the time axis of [batch, steps, channels] inputs (Keras's <c>AveragePooling1D</c>);
/// with "same" padding, padded positions are not counted.</summary>
/// <example><code>new AveragePooling1D(poolSize: 2, strides: null, padding: "valid")</code></example>
public sealed class AveragePooling1D : BasePooling
{
    /// <summary>Creates a AveragePooling1D layer; Keras's defaults: pool size 2, strides equal to the pool size, "valid" padding.</summary>
    public AveragePooling1D(IntTuple? poolSize = null, IntTuple? strides = null, string padding = "valid", string? dataFormat = null)
        : base(1, false, poolSize ?? 2, strides, padding, dataFormat)
    {
    }
}
