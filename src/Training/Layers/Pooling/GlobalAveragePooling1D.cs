namespace OnnxKeras.Layers;

/// <summary>Mean over the time axis of [batch, steps, channels] inputs (Keras's <c>GlobalAveragePooling1D</c>). Output
/// [batch, channels], or with <c>keepdims</c> the spatial axes kept with size 1.</summary>
/// <example><code>new GlobalAveragePooling1D(keepdims: false)</code></example>
public sealed class GlobalAveragePooling1D : BaseGlobalPooling
{
    /// <summary>Creates a GlobalAveragePooling1D layer (Keras's defaults: channels_last, keepdims false).</summary>
    public GlobalAveragePooling1D(string? dataFormat = null, bool keepdims = false) : base(1, false, dataFormat, keepdims)
    {
    }
}
