using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Flips each channels_last image [N, H, W, C] left-right and/or top-bottom with probability 1/2 during training only
/// (Keras 3's <c>keras.layers.RandomFlip</c>: one draw <c>u &lt;= 0.5</c> per image, used for both axes in
/// <c>"horizontal_and_vertical"</c>). At inference the inputs pass through unchanged, so the layer leaves no trace in an
/// ONNX export. Training outputs are float32.
/// </summary>
/// <example><code>var flip = new RandomFlip("horizontal", seed: 1);</code></example>
public sealed class RandomFlip : BaseRandomImageLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="mode"><c>"horizontal"</c> (left-right), <c>"vertical"</c> (top-bottom) or <c>"horizontal_and_vertical"</c>.</param>
    /// <param name="seed">Seed of the layer's own random stream; null draws from the global generator.</param>
    /// <param name="dataFormat">Only <c>"channels_last"</c> (or null, its default).</param>
    /// <exception cref="ArgumentException">Another mode or data format.</exception>
    public RandomFlip(string mode = "horizontal_and_vertical", long? seed = null, string? dataFormat = null)
        : base("RandomFlip", seed, dataFormat)
    {
        if (mode is not ("horizontal" or "vertical" or "horizontal_and_vertical"))
            throw new ArgumentException($"RandomFlip: mode must be \"horizontal\", \"vertical\" or \"horizontal_and_vertical\"; got \"{mode}\".", nameof(mode));
        Mode = mode;
    }

    /// <summary><c>"horizontal"</c>, <c>"vertical"</c> or <c>"horizontal_and_vertical"</c>.</summary>
    public string Mode { get; }

    /// <inheritdoc />
    private protected override Tensor Augment(Tensor x)
    {
        long n = x.shape[0];
        var draws = ImageAugmentation.Uniform(n, 0, 1, Stream);
        using var flips = tensor(draws.Select(u => u <= 0.5).ToArray(), device: x.device).view(n, 1, 1, 1);
        if (Mode != "vertical") x = where(flips, x.flip(2), x);
        if (Mode != "horizontal") x = where(flips, x.flip(1), x);
        return x;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("mode", Mode).With("seed", Seed).With("data_format", "channels_last");
}
