namespace OnnxKeras.Layers;

/// <summary>
/// Pads the steps axis of [batch, steps, features] inputs with zeros (Keras's <c>ZeroPadding1D</c>). <c>padding</c> is an
/// int (both ends) or (before, after).
/// </summary>
/// <example><code>new ZeroPadding1D((2, 1))</code></example>
public sealed class ZeroPadding1D : BaseZeroPadding
{
    /// <summary>Creates a ZeroPadding1D layer (Keras's default padding: 1 at each end).</summary>
    public ZeroPadding1D(IntTuple? padding = null) : base(1, [Pair(padding ?? 1, nameof(ZeroPadding1D), "padding")], null)
    {
    }

    /// <summary>Keras's <c>standardize_tuple(value, 2, allow_zero=True)</c> as one (before, after) pair.</summary>
    internal static (int, int) Pair(IntTuple value, string owner, string argument)
    {
        var p = value.Expand(2, owner, argument, allowZero: true);
        return (p[0], p[1]);
    }
}
