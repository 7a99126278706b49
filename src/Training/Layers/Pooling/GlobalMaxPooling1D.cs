namespace OnnxKeras.Layers;

/// <summary>Maximum over the time axis of [batch, steps, channels] inputs (Keras's <c>GlobalMaxPooling1D</c>). Output
/// [batch, channels], or with <c>keepdims</c> the spatial axes kept with size 1.</summary>
/// <example><code>new GlobalMaxPooling1D(keepdims: false)</code></example>
public sealed class GlobalMaxPooling1D : BaseGlobalPooling
{
    /// <summary>Creates a GlobalMaxPooling1D layer (Keras's defaults: channels_last, keepdims false).</summary>
    public GlobalMaxPooling1D(string? dataFormat = null, bool keepdims = false) : base(1, true, dataFormat, keepdims)
    {
    }
}
