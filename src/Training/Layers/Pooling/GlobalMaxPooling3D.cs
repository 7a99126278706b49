namespace OnnxKeras.Layers;

/// <summary>
/// Maximum over the three spatial axes of [batch, dim1, dim2, dim3, channels] inputs (Keras's <c>GlobalMaxPooling3D</c>).
/// Output [batch, channels], or with <c>keepdims</c> the spatial axes kept with size 1.
/// </summary>
/// <example><code>new GlobalMaxPooling3D(keepdims: false)</code></example>
public sealed class GlobalMaxPooling3D : BaseGlobalPooling
{
    /// <summary>Creates a GlobalMaxPooling3D layer (Keras's defaults: channels_last, keepdims false).</summary>
    public GlobalMaxPooling3D(string? dataFormat = null, bool keepdims = false) : base(3, true, dataFormat, keepdims)
    {
    }
}
