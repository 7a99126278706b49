using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// What the random image layers share: Keras's factor rules, their random streams, and Keras's <c>affine_transform</c>
/// (each output pixel (x, y) reads the input at <c>((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)</c>,
/// <c>k = c0 x + c1 y + 1</c>, by <c>map_coordinates</c> with order 0 or 1 and a fill mode). All eager: these layers are
/// identities at inference, so nothing of them reaches an ONNX export.
/// </summary>
internal static class ImageAugmentation
{
    public static readonly string[] FillModes = ["reflect", "wrap", "constant", "nearest"];

    /// <summary>
    /// Keras's factor rule: a single number <c>f</c> in [<paramref name="low"/>, <paramref name="high"/>] gives
    /// (max(-|f|, low), |f|); a pair is sorted, and refused when its smaller value is above <paramref name="high"/> or its
    /// larger below <paramref name="low"/> (the base layers' <c>_set_factor</c>); with <paramref name="eachInRange"/> each value
    /// of a pair must lie in [low, high] (RandomZoom's and RandomTranslation's own check).
    /// </summary>
    public static (double Lower, double Upper) Factor(string layer, string argument, double[]? factor, double low, double high, bool eachInRange)
    {
        string range = $"a number (or a list of two numbers) in the range [{low}, {high}]";
        if (factor is null || factor.Length is not (1 or 2) || factor.Any(f => !double.IsFinite(f)))
            throw new ArgumentException($"{layer}: {argument} must be {range}; got {Show(factor)}.", argument);
        if (factor.Length == 1)
        {
            double f = factor[0];
            if (f < low || f > high) throw new ArgumentException($"{layer}: {argument} must be {range}; got {Show(factor)}.", argument);
            return (Math.Max(-Math.Abs(f), low), Math.Abs(f));
        }
        double lower = Math.Min(factor[0], factor[1]), upper = Math.Max(factor[0], factor[1]);
        bool bad = eachInRange ? lower < low || upper > high : lower > high || upper < low;
        if (bad) throw new ArgumentException($"{layer}: {argument} must be {range}; got {Show(factor)}.", argument);
        return (lower, upper);
    }

    private static string Show(double[]? v) => v is null ? "null" : v.Length == 1 ? $"{v[0]}" : $"[{string.Join(", ", v)}]";

    /// <summary>A number as Keras writes it back (the number itself), a pair as a list.</summary>
    public static object ConfigValue(double[] factor) => factor.Length == 1 ? factor[0] : factor.ToArray();

    public static void CheckFill(string layer, string fillMode, string interpolation, double fillValue)
    {
        if (!FillModes.Contains(fillMode))
            throw new ArgumentException($"{layer}: fillMode must be one of \"reflect\", \"wrap\", \"constant\", \"nearest\"; " +
                $"got \"{fillMode}\".", nameof(fillMode));
        if (interpolation is not ("bilinear" or "nearest"))
            throw new ArgumentException($"{layer}: interpolation must be \"bilinear\" or \"nearest\"; got \"{interpolation}\".", nameof(interpolation));
        if (!double.IsFinite(fillValue)) throw new ArgumentException($"{layer}: fillValue must be finite; got {fillValue}.", nameof(fillValue));
    }

    /// <summary>The layer's own stream when it has a seed (reproducible), else the global one (<see cref="Keras.SetRandomSeed"/>).</summary>
    public static Generator? Stream(long? seed) => seed is long s ? new Generator((ulong)s) : null;

    /// <summary>float64 values uniform in [lower, upper), one per image, drawn on the CPU.</summary>
    public static double[] Uniform(long count, double lower, double upper, Generator? generator)
    {
        using var u = rand([count], ScalarType.Float64, CPU, generator: generator ?? Keras.Generator);
        return u.data<double>().Select(v => lower + (upper - lower) * v).ToArray();
    }

    /// <summary>Keras's <c>affine_transform</c> of float32 images [N, H, W, C] with one 8-value transform per image.</summary>
    public static Tensor AffineTransform(Tensor images, float[][] transforms, string interpolation, string fillMode, double fillValue)
    {
        long n = images.shape[0], h = images.shape[1], w = images.shape[2], c = images.shape[3];
        using var scope = NewDisposeScope();
        var t = tensor(transforms.SelectMany(r => r).ToArray(), [n, 8], ScalarType.Float32).to(images.device);
        Tensor Coef(int i) => t[TensorIndex.Colon, i].view(n, 1, 1);
        var x = arange(w, ScalarType.Float32, images.device).view(1, 1, w);
        var y = arange(h, ScalarType.Float32, images.device).view(1, h, 1);
        var k = Coef(6) * x + Coef(7) * y + 1;
        var xIn = (Coef(0) * x + Coef(1) * y + Coef(2)) / k;
        var yIn = (Coef(3) * x + Coef(4) * y + Coef(5)) / k;
        var flat = images.reshape(n * h * w, c);
        var batchOffset = (arange(n, ScalarType.Int64, images.device) * (h * w)).view(n, 1, 1);
        Tensor? result = null;
        foreach (var (yi, yw) in Taps(yIn, interpolation))
        {
            foreach (var (xi, xw) in Taps(xIn, interpolation))
            {
                var index = batchOffset + Fix(yi, h, fillMode) * w + Fix(xi, w, fillMode);
                var values = flat.index_select(0, index.reshape(-1)).view(n, h, w, c);
                if (fillMode == "constant")
                {
                    var inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w);
                    values = values.masked_fill(inside.logical_not().unsqueeze(-1), fillValue);
                }
                var term = (yw * xw).unsqueeze(-1) * values;
                result = result is null ? term : result + term;
            }
        }
        return result!.MoveToOuterDisposeScope();
    }

    /// <summary>map_coordinates' taps: nearest rounds (half to even, as numpy); linear takes floor and floor + 1.</summary>
    private static IEnumerable<(Tensor Index, Tensor Weight)> Taps(Tensor coordinate, string interpolation)
    {
        if (interpolation == "nearest")
        {
            yield return (coordinate.round().to_type(ScalarType.Int64), ones_like(coordinate));
            yield break;
        }
        var lower = coordinate.floor();
        var upperWeight = coordinate - lower;
        var index = lower.to_type(ScalarType.Int64);
        yield return (index, 1 - upperWeight);
        yield return (index + 1, upperWeight);
    }

    /// <summary>map_coordinates' index fixers: where an index outside [0, size) reads from.</summary>
    private static Tensor Fix(Tensor index, long size, string fillMode) => fillMode switch
    {
        "wrap" => index.remainder(size),
        // (d c b a | a b c d | d c b a): Keras's reflect fixer, floor((mirror(2i + 1, 2 size + 1) - 1) / 2).
        "reflect" => (Mirror(2 * index + 1, 2 * size + 1) - 1).floor_divide(2),
        _ => index.clamp(0, size - 1), // nearest; constant reads a clamped index and masks it
    };

    /// <summary>The triangular wave |((i + s) mod 2s) - s| with s = size - 1.</summary>
    private static Tensor Mirror(Tensor index, long size)
    {
        long s = size - 1;
        return ((index + s).remainder(2 * s) - s).abs();
    }
}
