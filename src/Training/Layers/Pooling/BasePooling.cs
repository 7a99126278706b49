namespace OnnxKeras.Layers;

/// <summary>
/// Shared implementation of the max and average pooling layers (Keras's <c>BasePooling</c>) on channels_last inputs.
/// <c>strides</c> default to <c>pool_size</c>; "same" padding puts the extra pixel at the end and never counts padded
/// positions (they cannot win a max and are left out of an average).
/// </summary>
public abstract class BasePooling : Layer
{
    private readonly bool max;

    /// <summary>Validates and stores the arguments for pooling over <paramref name="rank"/> spatial axes.</summary>
    protected BasePooling(int rank, bool max, IntTuple poolSize, IntTuple? strides, string padding, string? dataFormat)
    {
        string owner = GetType().Name;
        this.max = max;
        Rank = rank;
        PoolSize = poolSize.Expand(rank, owner, "pool_size");
        Strides = strides is IntTuple s ? s.Expand(rank, owner, "strides") : PoolSize.ToArray();
        Padding = ConvArgs.Padding(padding, owner, "valid", "same");
        DataFormat = ConvArgs.DataFormat(dataFormat, owner);
        InputSpec = new InputSpec { Rank = rank + 2 };
    }

    /// <summary>Number of spatial axes.</summary>
    public int Rank { get; }
    /// <summary>Window size per spatial axis.</summary>
    public int[] PoolSize { get; }
    /// <summary>Stride per spatial axis (the pool size unless given).</summary>
    public int[] Strides { get; }
    /// <summary>"valid" or "same".</summary>
    public string Padding { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        max ? Ops.MaxPool(inputs, PoolSize, Strides, Padding) : Ops.AveragePool(inputs, PoolSize, Strides, Padding);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) =>
        ConvArgs.ConvOutputShape(this, inputShape, PoolSize, Strides, Padding, Enumerable.Repeat(1, Rank).ToArray(), inputShape[^1]);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("pool_size", PoolSize.ToArray()).With("padding", Padding).With("strides", Strides.ToArray()).With("data_format", DataFormat);
}
