namespace OnnxKeras.Layers;

/// <summary>Mean over the height and width of [batch, height, width, channels] inputs (Keras's
/// <c>GlobalAveragePooling2D</c>). Output [batch, channels], or with <c>keepdims</c> the spatial axes kept with
/// size 1.</summary>
/// <example><code>new GlobalAveragePooling2D(keepdims: false)</code></example>
public sealed class GlobalAveragePooling2D : BaseGlobalPooling
{
    /// <summary>Creates a GlobalAveragePooling2D layer (Keras's defaults: channels_last, keepdims false).</summary>
    public GlobalAveragePooling2D(string? dataFormat = null, bool keepdims = false) : base(2, false, dataFormat, keepdims)
    {
    }
}
