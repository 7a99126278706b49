namespace OnnxKeras.Layers;

/// <summary>Exponential linear unit layer (Keras's <c>ELU</c>): <c>x</c> for <c>x &gt; 0</c>, else <c>alpha * (exp(x) - 1)</c>.</summary>
/// <example><code>new ELU(alpha: 0.5)</code></example>
public sealed class ELU : Layer
{
    /// <summary>Creates the layer with scale <paramref name="alpha"/> of the negative part.</summary>
    public ELU(double alpha = 1.0)
    {
        if (!double.IsFinite(alpha)) throw new ArgumentException($"ELU: alpha must be a finite number; got {alpha}.", nameof(alpha));
        Alpha = alpha;
    }

    /// <summary>Scale of the negative part.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Elu(inputs, Alpha);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("alpha", Alpha);
}
