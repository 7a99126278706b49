using TorchSharp;

namespace OnnxKeras.Layers;

/// <summary>
/// Base of the random geometric augmentation layers (<see cref="RandomRotation"/>, <see cref="RandomZoom"/>,
/// <see cref="RandomTranslation"/>): during training each image gets its own random affine transform (Keras's
/// <c>affine_transform</c>), sampled by <see cref="Interpolation"/>, points outside the image filled by
/// <see cref="FillMode"/>.
/// </summary>
public abstract class BaseRandomAffine : BaseRandomImageLayer
{
    /// <summary>Checks the fill arguments and the data format and stores them.</summary>
    private protected BaseRandomAffine(string layer, string fillMode, string interpolation, long? seed, double fillValue, string? dataFormat)
        : base(layer, seed, dataFormat)
    {
        ImageAugmentation.CheckFill(layer, fillMode, interpolation, fillValue);
        FillMode = fillMode;
        Interpolation = interpolation;
        FillValue = fillValue;
    }

    /// <summary><c>"reflect"</c>, <c>"wrap"</c>, <c>"constant"</c> or <c>"nearest"</c>.</summary>
    public string FillMode { get; }

    /// <summary><c>"bilinear"</c> or <c>"nearest"</c>.</summary>
    public string Interpolation { get; }

    /// <summary>The value outside the image with the constant fill mode.</summary>
    public double FillValue { get; }

    /// <summary>
    /// One 8-value transform per image (Keras's <c>[a0, a1, a2, b0, b1, b2, c0, c1]</c>: output pixel (x, y) reads the input
    /// at <c>(a0 x + a1 y + a2, b0 x + b1 y + b2)</c>) for <paramref name="n"/> images of height <paramref name="h"/> and
    /// width <paramref name="w"/>, drawn from the layer's random stream.
    /// </summary>
    private protected abstract float[][] Transforms(long n, double h, double w);

    private protected override torch.Tensor Augment(torch.Tensor images) => ImageAugmentation.AffineTransform(
        images, Transforms(images.shape[0], images.shape[1], images.shape[2]), Interpolation, FillMode, FillValue);
}
