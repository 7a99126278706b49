using TorchSharp;

namespace OnnxKeras.Layers;

/// <summary>
/// Base of the random image augmentation layers (<see cref="RandomFlip"/>, <see cref="RandomContrast"/> and the
/// <see cref="BaseRandomAffine"/> layers): channels_last images [N, H, W, C] are transformed as float32 during training only,
/// with draws from the layer's own random stream when <see cref="Seed"/> is set. At inference the inputs pass through
/// unchanged, so such a layer leaves no trace in an ONNX export.
/// </summary>
public abstract class BaseRandomImageLayer : Layer
{
    /// <summary>Checks the data format (only channels_last) and opens the layer's random stream.</summary>
    private protected BaseRandomImageLayer(string layer, long? seed, string? dataFormat)
    {
        ImageLayers.CheckDataFormat(layer, dataFormat);
        Seed = seed;
        Stream = ImageAugmentation.Stream(seed);
    }

    /// <summary>Seed of the layer's random stream, or null.</summary>
    public long? Seed { get; }

    /// <summary>The layer's own random stream, or null to draw from the global generator.</summary>
    private protected torch.Generator? Stream { get; }

    /// <inheritdoc />
    public override void Build(Shape inputShape) => ImageLayers.CheckImages(this, inputShape, needSize: false);

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false) =>
        training ? (KTensor)Augment(inputs.Value.to_type(torch.ScalarType.Float32)) : inputs;

    /// <summary>The training-time transform of float32 images [N, H, W, C].</summary>
    private protected abstract torch.Tensor Augment(torch.Tensor images);

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
}
