namespace OnnxKeras.Layers;

/// <summary>
/// Mean over the three spatial axes of [batch, dim1, dim2, dim3, channels] inputs (Keras's <c>GlobalAveragePooling3D</c>).
/// Output [batch, channels], or with <c>keepdims</c> the spatial axes kept with size 1.
/// </summary>
/// <example><code>new GlobalAveragePooling3D(keepdims: false)</code></example>
public sealed class GlobalAveragePooling3D : BaseGlobalPooling
{
    /// <summary>Creates a GlobalAveragePooling3D layer (Keras's defaults: channels_last, keepdims false).</summary>
    public GlobalAveragePooling3D(string? dataFormat = null, bool keepdims = false) : base(3, false, dataFormat, keepdims)
    {
    }
}
