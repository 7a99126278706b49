namespace OnnxKeras.Layers;

/// <summary>Max pooling over [batch, height, width, channels] inputs (Keras's <c>MaxPooling2D</c>).</summary>
/// <example><code>new MaxPooling2D(poolSize: (2, 2), strides: null, padding: "valid")</code></example>
public sealed class MaxPooling2D : BasePooling
{
    /// <summary>Creates a MaxPooling2D layer; Keras's defaults: pool size (2, 2), strides equal to the pool size, "valid" padding.</summary>
    public MaxPooling2D(IntTuple? poolSize = null, IntTuple? strides = null, string padding = "valid", string? dataFormat = null)
        : base(2, true, poolSize ?? (2, 2), strides, padding, dataFormat)
    {
    }
}
