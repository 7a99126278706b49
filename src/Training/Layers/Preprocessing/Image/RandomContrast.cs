using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Scales the contrast of each channels_last image [N, H, W, C] by a random factor during training only (Keras 3's
/// <c>keras.layers.RandomContrast</c>): per image one factor <c>c</c> uniform in [1 - lower, 1 + upper], and per image and
/// channel the mean <c>m</c> over height and width; each value becomes <c>(x - m) c + m</c>, clipped to
/// <see cref="ValueRange"/>. As Keras 3 computes (lower, upper) = (max(-f, 0), f) for a single number <c>f</c>, a single
/// number only raises the contrast (factors in [1, 1 + f]); pass the pair (f, f) for [1 - f, 1 + f]. At inference the
/// inputs pass through unchanged, so the layer leaves no trace in an ONNX export. Training outputs are float32.
/// </summary>
/// <example><code>var contrast = new RandomContrast([0.2, 0.2], valueRange: [0, 1], seed: 11);   // factors in [0.8, 1.2]</code></example>
public sealed class RandomContrast : BaseRandomImageLayer
{
    private readonly double[] valueRange;

    /// <summary>Creates the layer with factors in [1, 1 + factor] (Keras 3's rule for one number).</summary>
    /// <param name="factor">In [0, 1].</param>
    /// <param name="valueRange">The (low, high) range the outputs are clipped to; Keras's default (0, 255).</param>
    /// <param name="seed">Seed of the layer's own random stream; null draws from the global generator.</param>
    /// <param name="dataFormat">Only <c>"channels_last"</c> (or null, its default).</param>
    /// <exception cref="ArgumentException">A factor outside [0, 1], a value range that is not two finite values low &lt;= high,
    /// or another data format.</exception>
    public RandomContrast(double factor, double[]? valueRange = null, long? seed = null, string? dataFormat = null)
        : this([factor], valueRange, seed, dataFormat)
    {
    }

    /// <summary>Creates the layer with factors in [1 - lower, 1 + upper] for a (lower, upper) pair (sorted), or as the other constructor.</summary>
    /// <inheritdoc cref="RandomContrast(double, double[], long?, string)"/>
    public RandomContrast(double[] factor, double[]? valueRange = null, long? seed = null, string? dataFormat = null)
        : base("RandomContrast", seed, dataFormat)
    {
        var (lower, upper) = ImageAugmentation.Factor("RandomContrast", nameof(factor), factor, 0, 1, eachInRange: false);
        valueRange ??= [0, 255];
        if (valueRange.Length != 2 || valueRange.Any(v => !double.IsFinite(v)) || valueRange[0] > valueRange[1])
            throw new ArgumentException($"RandomContrast: valueRange must be two finite values [low, high] with low <= high; got " +
                $"[{string.Join(", ", valueRange)}].", nameof(valueRange));
        Factor = [lower, upper];
        this.valueRange = (double[])valueRange.Clone();
    }

    /// <summary>(lower, upper): contrast factors are drawn from [1 - lower, 1 + upper].</summary>
    public IReadOnlyList<double> Factor { get; }

    /// <summary>(low, high): the outputs are clipped to it.</summary>
    public IReadOnlyList<double> ValueRange => valueRange;

    /// <inheritdoc />
    private protected override Tensor Augment(Tensor x)
    {
        long n = x.shape[0];
        var draws = ImageAugmentation.Uniform(n, 1 - Factor[0], 1 + Factor[1], Stream);
        using var factor = tensor(draws.Select(v => (float)v).ToArray(), device: x.device).view(n, 1, 1, 1);
        var mean = x.mean([1, 2], keepdim: true);
        return ((x - mean) * factor + mean).clamp(valueRange[0], valueRange[1]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("factor", Factor.ToArray()).With("value_range", valueRange.ToArray()).With("seed", Seed);
}
