namespace OnnxKeras.Layers;

/// <summary>
/// Rectified linear unit layer with Keras's options (Keras's <c>ReLU</c>): <c>min(x, max_value)</c> for
/// <c>x &gt; threshold</c>, else <c>negative_slope * (x - threshold)</c>. The defaults give <c>max(x, 0)</c>.
/// </summary>
/// <example><code>new ReLU(maxValue: 6); new ReLU(negativeSlope: 0.1, threshold: 0.5);</code></example>
public sealed class ReLU : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="maxValue">Upper bound of the output (&gt;= 0), or null for none.</param>
    /// <param name="negativeSlope">Slope below the threshold (&gt;= 0).</param>
    /// <param name="threshold">Values at or below it are damped (&gt;= 0).</param>
    public ReLU(double? maxValue = null, double negativeSlope = 0.0, double threshold = 0.0)
    {
        if (maxValue is double m && !(m >= 0)) throw new ArgumentException($"ReLU: max_value cannot be negative; got {m}.", nameof(maxValue));
        if (!(negativeSlope >= 0) || double.IsInfinity(negativeSlope))
            throw new ArgumentException($"ReLU: negative_slope must be a finite number >= 0; got {negativeSlope}.", nameof(negativeSlope));
        if (!(threshold >= 0) || double.IsInfinity(threshold))
            throw new ArgumentException($"ReLU: threshold must be a finite number >= 0; got {threshold}.", nameof(threshold));
        MaxValue = maxValue;
        NegativeSlope = negativeSlope;
        Threshold = threshold;
    }

    /// <summary>Upper bound, or null.</summary>
    public double? MaxValue { get; }
    /// <summary>Slope below the threshold.</summary>
    public double NegativeSlope { get; }
    /// <summary>The threshold.</summary>
    public double Threshold { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Relu(inputs, NegativeSlope, MaxValue, Threshold);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer (it acts on each timestep alone).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("max_value", MaxValue).With("negative_slope", NegativeSlope).With("threshold", Threshold);
}
