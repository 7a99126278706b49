namespace OnnxKeras.Layers;

/// <summary>Repeats a (batch, features) input <see cref="N"/> times into (batch, n, features) (Keras's <c>RepeatVector</c>).</summary>
/// <example><code>new RepeatVector(3)</code></example>
public sealed class RepeatVector : Layer
{
    /// <summary>Creates the layer; <paramref name="n"/> is the number of repetitions (&gt;= 1).</summary>
    public RepeatVector(int n)
    {
        if (n < 1) throw new ArgumentException($"RepeatVector: n must be a positive integer; got {n}.", nameof(n));
        N = n;
        InputSpec = new InputSpec { Rank = 2 };
    }

    /// <summary>Number of repetitions.</summary>
    public int N { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.Repeat(Ops.ExpandDims(inputs, 1), N, 1);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        InputSpec!.Check(this, inputShape);
        return new Shape(inputShape[0], N, inputShape[1]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("n", N);
}
