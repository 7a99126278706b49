namespace OnnxKeras.Layers;

/// <summary>Max pooling over the time axis of [batch, steps, channels] inputs (Keras's <c>MaxPooling1D</c>).</summary>
/// <example><code>new MaxPooling1D(poolSize: 2, strides: null, padding: "valid")</code></example>
public sealed class MaxPooling1D : BasePooling
{
    /// <summary>Creates a MaxPooling1D layer; Keras's defaults: pool size 2, strides equal to the pool size, "valid" padding.</summary>
    public MaxPooling1D(IntTuple? poolSize = null, IntTuple? strides = null, string padding = "valid", string? dataFormat = null)
        : base(1, true, poolSize ?? 2, strides, padding, dataFormat)
    {
    }
}
