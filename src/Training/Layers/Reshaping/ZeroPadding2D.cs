namespace OnnxKeras.Layers;

/// <summary>
/// Pads the height and width of [batch, height, width, channels] inputs with zeros (Keras's <c>ZeroPadding2D</c>).
/// <c>padding</c> is an int (all sides), (height, width) (symmetric per axis) or ((top, bottom), (left, right)).
/// </summary>
/// <example><code>new ZeroPadding2D(((0, 1), (0, 1)))</code></example>
public sealed class ZeroPadding2D : Layer
{
    /// <summary>Creates a ZeroPadding2D layer (Keras's default padding: 1 on every side).</summary>
    public ZeroPadding2D(IntPairs? padding = null, string? dataFormat = null)
    {
        Padding = (padding ?? 1).Expand(2, nameof(ZeroPadding2D), "padding");
        DataFormat = ConvArgs.DataFormat(dataFormat, nameof(ZeroPadding2D));
        InputSpec = new InputSpec { Rank = 4 };
    }

    /// <summary>(top, bottom) and (left, right) padding.</summary>
    public (int Before, int After)[] Padding { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.ZeroPad(inputs, Padding);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"Layer '{Name}' (ZeroPadding2D) expects input of rank 4; got shape {inputShape} (rank {inputShape.Rank}).");
        return new Shape(inputShape[0], inputShape[1] + Padding[0].Before + Padding[0].After, inputShape[2] + Padding[1].Before + Padding[1].After,
            inputShape[3]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("padding", Padding.Select(p => new[] { p.Before, p.After }).ToArray()).With("data_format", DataFormat);
}
