namespace OnnxKeras.Layers;

/// <summary>Maximum over the height and width of [batch, height, width, channels] inputs (Keras's
/// <c>GlobalMaxPooling2D</c>). Output [batch, channels], or with <c>keepdims</c> the spatial axes kept with
/// size 1.</summary>
/// <example><code>new GlobalMaxPooling2D(keepdims: false)</code></example>
public sealed class GlobalMaxPooling2D : BaseGlobalPooling
{
    /// <summary>Creates a GlobalMaxPooling2D layer (Keras's defaults: channels_last, keepdims false).</summary>
    public GlobalMaxPooling2D(string? dataFormat = null, bool keepdims = false) : base(2, true, dataFormat, keepdims)
    {
    }
}
