namespace OnnxKeras.Layers;

/// <summary>
/// Upsamples the height and width of [batch, height, width, channels] inputs by integer factors (Keras's
/// <c>UpSampling2D</c>): "nearest" repeats rows and columns, "bilinear" interpolates with half-pixel centers.
/// </summary>
/// <example><code>new UpSampling2D(size: 2)</code></example>
public sealed class UpSampling2D : Layer
{
    /// <summary>Creates an UpSampling2D layer (Keras's defaults: size (2, 2), nearest interpolation).</summary>
    public UpSampling2D(IntTuple? size = null, string? dataFormat = null, string interpolation = "nearest")
    {
        const string owner = nameof(UpSampling2D);
        Size = (size ?? 2).Expand(2, owner, "size");
        DataFormat = ConvArgs.DataFormat(dataFormat, owner);
        Interpolation = (interpolation ?? "").ToLowerInvariant();
        if (Interpolation is not ("nearest" or "bilinear"))
            throw new ArgumentException($"{owner}: interpolation must be 'nearest' or 'bilinear'; got '{interpolation}'.", nameof(interpolation));
        InputSpec = new InputSpec { Rank = 4 };
    }

    /// <summary>Upsampling factors (height, width).</summary>
    public int[] Size { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }
    /// <summary>"nearest" or "bilinear".</summary>
    public string Interpolation { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.UpSample(inputs, Size, Interpolation);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"Layer '{Name}' (UpSampling2D) expects input of rank 4; got shape {inputShape} (rank {inputShape.Rank}).");
        return new Shape(inputShape[0], inputShape[1] * Size[0], inputShape[2] * Size[1], inputShape[3]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("size", Size.ToArray()).With("data_format", DataFormat).With("interpolation", Interpolation);
}
