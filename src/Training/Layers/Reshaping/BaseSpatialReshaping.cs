namespace OnnxKeras.Layers;

/// <summary>
/// Shared implementation of the layers that pad, crop or upsample the spatial axes of channels_last inputs
/// [batch, *spatial, channels] (<c>ZeroPadding1D/2D/3D</c>, <c>Cropping1D/2D/3D</c>, <c>UpSampling1D/2D/3D</c>): the
/// rank check, the output shape axis by axis and the <c>data_format</c> entry (the 1-D layers have none, as in Keras).
/// </summary>
public abstract class BaseSpatialReshaping : Layer
{
    /// <summary>Stores the number of spatial axes and the data format (only "channels_last" is accepted).</summary>
    protected BaseSpatialReshaping(int rank, string? dataFormat)
    {
        Rank = rank;
        DataFormat = ConvArgs.DataFormat(dataFormat, GetType().Name);
        InputSpec = new InputSpec { Rank = rank + 2 };
    }

    /// <summary>Number of spatial axes.</summary>
    public int Rank { get; }
    /// <summary>Always "channels_last".</summary>
    public string DataFormat { get; }

    /// <summary>
    /// The output size of spatial axis <paramref name="axis"/> (0-based) of size <paramref name="size"/>; throws when the
    /// arguments do not fit.
    /// </summary>
    protected abstract long OutputSize(int axis, long size, Shape inputShape);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != Rank + 2)
        {
            throw new ArgumentException(
                $"Layer '{Name}' ({GetType().Name}) expects input of rank {Rank + 2}; got shape {inputShape} (rank {inputShape.Rank}).");
        }
        var dims = new long?[Rank + 2];
        dims[0] = inputShape[0];
        dims[^1] = inputShape[^1];
        for (int i = 0; i < Rank; i++) dims[1 + i] = inputShape[1 + i] is long n ? OutputSize(i, n, inputShape) : null;
        return new Shape(dims);
    }

    /// <summary>The base config, then <paramref name="key"/> = <paramref name="value"/>, then <c>data_format</c> (not for 1-D layers).</summary>
    protected LayerConfig ConfigWith(string key, object? value)
    {
        var config = base.GetConfig().With(key, value);
        return Rank == 1 ? config : config.With("data_format", DataFormat);
    }

    /// <summary>(before, after) pairs as a config value: <c>[before, after]</c> for one axis (Keras's 1-D form), else one pair per axis.</summary>
    protected object PairsConfig((int Before, int After)[] pairs) =>
        Rank == 1 ? new[] { pairs[0].Before, pairs[0].After } : pairs.Select(p => new[] { p.Before, p.After }).ToArray();

    /// <summary>(before, after) pairs in Python's text, e.g. <c>((1, 0), (0, 2))</c>.</summary>
    protected static string PairsText((int Before, int After)[] pairs) => "(" + string.Join(", ", pairs.Select(p => $"({p.Before}, {p.After})")) + ")";
}

/// <summary>Shared implementation of <c>ZeroPadding1D/2D/3D</c>: zeros before and after each spatial axis.</summary>
public abstract class BaseZeroPadding : BaseSpatialReshaping
{
    /// <summary>Stores one (before, after) pair per spatial axis.</summary>
    protected BaseZeroPadding(int rank, (int Before, int After)[] padding, string? dataFormat) : base(rank, dataFormat) => Padding = padding;

    /// <summary>(before, after) padding per spatial axis.</summary>
    public (int Before, int After)[] Padding { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.ZeroPad(inputs, Padding);

    /// <inheritdoc />
    protected override long OutputSize(int axis, long size, Shape inputShape) => size + Padding[axis].Before + Padding[axis].After;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => ConfigWith("padding", PairsConfig(Padding));
}

/// <summary>Shared implementation of <c>Cropping1D/2D/3D</c>: drops values before and after each spatial axis (the output is a view).</summary>
public abstract class BaseCropping : BaseSpatialReshaping
{
    /// <summary>Stores one (before, after) pair per spatial axis.</summary>
    protected BaseCropping(int rank, (int Before, int After)[] cropping, string? dataFormat) : base(rank, dataFormat) => Cropping = cropping;

    /// <summary>(before, after) cropping per spatial axis.</summary>
    public (int Before, int After)[] Cropping { get; }

    /// <inheritdoc />
    public override void Build(Shape inputShape) => ComputeOutputShape(inputShape);

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        ComputeOutputShape(inputs.Shape);
        return Ops.Crop(inputs, Cropping);
    }

    /// <inheritdoc />
    protected override long OutputSize(int axis, long size, Shape inputShape)
    {
        long kept = size - Cropping[axis].Before - Cropping[axis].After;
        if (kept <= 0)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}): cropping {PairsText(Cropping)} is too large for input shape {inputShape}.");
        return kept;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => ConfigWith("cropping", PairsConfig(Cropping));
}

/// <summary>Shared implementation of <c>UpSampling1D/2D/3D</c>: each spatial axis scaled by an integer factor.</summary>
public abstract class BaseUpSampling : BaseSpatialReshaping
{
    /// <summary>Stores the factors (one per spatial axis) and the interpolation ("nearest", or "bilinear" for 2-D).</summary>
    protected BaseUpSampling(int rank, int[] size, string? dataFormat, string interpolation) : base(rank, dataFormat)
    {
        Size = size;
        Interpolation = interpolation;
    }

    /// <summary>Upsampling factor per spatial axis.</summary>
    public int[] Size { get; }
    /// <summary>"nearest" (repeat) or, for <see cref="UpSampling2D"/>, "bilinear".</summary>
    public string Interpolation { get; }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) => Ops.UpSample(inputs, Size, Interpolation);

    /// <inheritdoc />
    protected override long OutputSize(int axis, long size, Shape inputShape) => size * Size[axis];

    /// <inheritdoc />
    public override LayerConfig GetConfig() => ConfigWith("size", Rank == 1 ? Size[0] : Size.ToArray());
}
