namespace OnnxKeras.Layers;

/// <summary>
/// Returns its input unchanged and adds <c>l1 * sum(|x|) + l2 * sum(x^2)</c> of it to the loss (Keras's
/// <c>ActivityRegularization</c>: the layer's activity regularizer is <c>L1L2(l1, l2)</c>). As in Keras 3 the penalty is
/// summed over the whole batch, not divided by the batch size. The ONNX form is the identity (losses are not exported).
/// </summary>
/// <example><code>new ActivityRegularization(l1: 0.01, l2: 0.001)</code></example>
public sealed class ActivityRegularization : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="l1">L1 factor (finite, &gt;= 0).</param>
    /// <param name="l2">L2 factor (finite, &gt;= 0).</param>
    /// <exception cref="ArgumentException">A factor is negative, NaN or infinite.</exception>
    public ActivityRegularization(double l1 = 0.0, double l2 = 0.0)
    {
        if (!(l1 >= 0) || double.IsInfinity(l1)) throw new ArgumentException($"ActivityRegularization: l1 must be a finite number >= 0; got {l1}.", nameof(l1));
        if (!(l2 >= 0) || double.IsInfinity(l2)) throw new ArgumentException($"ActivityRegularization: l2 must be a finite number >= 0; got {l2}.", nameof(l2));
        L1 = l1;
        L2 = l2;
        activityRegularizer = Regularizers.L1L2(l1, l2);
    }

    /// <summary>L1 factor.</summary>
    public double L1 { get; }
    /// <summary>L2 factor.</summary>
    public double L2 { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => inputs;

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <summary>Keras passes the input mask through this layer.</summary>
    public override bool SupportsMasking => true;

    /// <summary>The base config without <c>activity_regularizer</c> (as Keras: it is <c>l1</c> and <c>l2</c>), then <c>l1</c>, <c>l2</c>.</summary>
    public override LayerConfig GetConfig()
    {
        var config = base.GetConfig();
        config.Remove("activity_regularizer");
        return config.With("l1", L1).With("l2", L2);
    }
}
