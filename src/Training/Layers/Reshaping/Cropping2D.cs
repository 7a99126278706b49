namespace OnnxKeras.Layers;

/// <summary>
/// Crops the height and width of [batch, height, width, channels] inputs (Keras's <c>Cropping2D</c>). <c>cropping</c> is
/// an int (all sides), (height, width) (symmetric per axis) or ((top, bottom), (left, right)). The output is a view of the input.
/// </summary>
/// <example><code>new Cropping2D(((2, 2), (4, 4)))</code></example>
public sealed class Cropping2D : Layer
{
    /// <summary>Creates a Cropping2D layer (Keras's default: no cropping).</summary>
    public Cropping2D(IntPairs? cropping = null, string? dataFormat = null)
    {
        Cropping = (cropping ?? 0).Expand(2, nameof(Cropping2D), "cropping");
        DataFormat = ConvArgs.DataFormat(dataFormat, nameof(Cropping2D));
        InputSpec = new InputSpec { Rank = 4 };
    }

    /// <summary>(top, bottom) and (left, right) cropping.</summary>
    public (int Before, int After)[] Cropping { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }

    /// <inheritdoc />
    public override void Build(Shape inputShape) => ComputeOutputShape(inputShape);

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        ComputeOutputShape(inputs.Shape);
        return Ops.Crop(inputs, Cropping);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"Layer '{Name}' (Cropping2D) expects input of rank 4; got shape {inputShape} (rank {inputShape.Rank}).");
        var dims = new long?[] { inputShape[0], null, null, inputShape[3] };
        for (int i = 0; i < 2; i++)
        {
            dims[1 + i] = inputShape[1 + i] - Cropping[i].Before - Cropping[i].After;
            if (dims[1 + i] is <= 0)
                throw new ArgumentException($"Layer '{Name}' (Cropping2D): cropping (({Cropping[0].Before}, {Cropping[0].After}), " +
                    $"({Cropping[1].Before}, {Cropping[1].After})) is too large for input shape {inputShape}.");
        }
        return new Shape(dims);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("cropping", Cropping.Select(p => new[] { p.Before, p.After }).ToArray()).With("data_format", DataFormat);
}
