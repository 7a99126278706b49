namespace OnnxKeras.Layers;

/// <summary>Max pooling over [batch, dim1, dim2, dim3, channels] inputs (Keras's <c>MaxPooling3D</c>).</summary>
/// <example><code>new MaxPooling3D(poolSize: (2, 2, 2), strides: null, padding: "valid")</code></example>
public sealed class MaxPooling3D : BasePooling
{
    /// <summary>Creates a MaxPooling3D layer; Keras's defaults: pool size (2, 2, 2), strides equal to the pool size, "valid" padding.</summary>
    public MaxPooling3D(IntTuple? poolSize = null, IntTuple? strides = null, string padding = "valid", string? dataFormat = null)
        : base(3, true, poolSize ?? (2, 2, 2), strides, padding, dataFormat)
    {
    }
}
