namespace OnnxKeras.Layers;

/// <summary>
/// Shared implementation of the global pooling layers (Keras's <c>BaseGlobalPooling</c>): reduces all spatial axes of a
/// channels_last input [batch, *spatial, channels] to [batch, channels], or to [batch, 1, ..., 1, channels] with <see cref="Keepdims"/>.
/// </summary>
public abstract class BaseGlobalPooling : Layer
{
    private readonly bool max;

    /// <summary>Validates and stores the arguments for global pooling over <paramref name="rank"/> spatial axes.</summary>
    protected BaseGlobalPooling(int rank, bool max, string? dataFormat, bool keepdims)
    {
        this.max = max;
        Rank = rank;
        DataFormat = ConvArgs.DataFormat(dataFormat, GetType().Name);
        Keepdims = keepdims;
        InputSpec = new InputSpec { Rank = rank + 2 };
    }

    /// <summary>Number of spatial axes.</summary>
    public int Rank { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }
    /// <summary>Whether the spatial axes are kept with size 1.</summary>
    public bool Keepdims { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        max ? Ops.GlobalMaxPool(inputs, Keepdims) : Ops.GlobalAveragePool(inputs, Keepdims);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != Rank + 2)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) expects input of rank {Rank + 2}; got shape {inputShape} " +
                $"(rank {inputShape.Rank}).");
        return Keepdims
            ? new Shape([inputShape[0], .. Enumerable.Repeat((long?)1, Rank), inputShape[^1]])
            : new Shape(inputShape[0], inputShape[^1]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("data_format", DataFormat).With("keepdims", Keepdims);
}
