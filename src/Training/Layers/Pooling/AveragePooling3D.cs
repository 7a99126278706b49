namespace OnnxKeras.Layers;

/// <summary>Average pooling over [batch, dim1, dim2, dim3, channels] inputs (Keras's <c>AveragePooling3D</c>).</summary>
/// <example><code>new AveragePooling3D(poolSize: (2, 2, 2), strides: null, padding: "valid")</code></example>
public sealed class AveragePooling3D : BasePooling
{
    /// <summary>Creates a AveragePooling3D layer; Keras's defaults: pool size (2, 2, 2), strides equal to the pool size, "valid" padding.</summary>
    public AveragePooling3D(IntTuple? poolSize = null, IntTuple? strides = null, string padding = "valid", string? dataFormat = null)
        : base(3, false, poolSize ?? (2, 2, 2), strides, padding, dataFormat)
    {
    }
}
