using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// Creates a weight's initial values (Keras's <c>keras.initializers</c>). Values are generated on the
/// CPU in float32 from the seed given, or from the global generator (<see cref="Keras.SetRandomSeed"/>),
/// so the same seed gives the same weights on every device. Converts implicitly from a Keras name.
/// </summary>
/// <example><code>new Dense(64, kernelInitializer: new Orthogonal(gain: 1.0)); new Dense(64, kernelInitializer: "he_normal");</code></example>
public abstract class Initializer
{
    /// <summary>The Keras identifier, e.g. <c>glorot_uniform</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Seed for this initializer; a seeded initializer returns the same values on every call (as in Keras).</summary>
    public long? Seed { get; init; }

    /// <summary>Returns a new float32 CPU tensor of the given shape.</summary>
    public Tensor Generate(params long[] shape)
    {
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"{GetType().Name}: invalid shape ({string.Join(", ", shape)}).");
        }
        using var g = Seed is long s ? new Generator((ulong)s) : null;
        return Sample(shape, g ?? Keras.Generator);
    }

    /// <summary>Draws values for <paramref name="shape"/> using <paramref name="generator"/>.</summary>
    protected abstract Tensor Sample(long[] shape, Generator generator);

    /// <summary>
    /// Keras config of this initializer (constructor arguments, snake_case keys). Empty by default, as Keras's
    /// <c>Initializer.get_config</c>; random initializers add their <c>seed</c>.
    /// </summary>
    public virtual IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>();

    /// <summary>Looks up an initializer by Keras name.</summary>
    public static implicit operator Initializer(string name) => Initializers.Get(name);

    /// <summary>Keras's fan-in and fan-out: rank 2 [in, out]; convolution kernels multiply by the receptive field.</summary>
    public static (double FanIn, double FanOut) ComputeFans(long[] shape)
    {
        return shape.Length switch
        {
            0 => (1, 1),
            1 => (shape[0], shape[0]),
            2 => (shape[0], shape[1]),
            _ => Receptive(shape),
        };

        static (double, double) Receptive(long[] shape)
        {
            double field = 1;
            for (int i = 0; i < shape.Length - 2; i++) field *= shape[i];
            return (shape[^2] * field, shape[^1] * field);
        }
    }

    /// <summary>
    /// Samples a normal distribution truncated at two standard deviations, as Keras does, by inverting the CDF:
    /// <c>u ~ U(-erf(sqrt 2), erf(sqrt 2))</c>, <c>x = mean + stddev * sqrt(2) * erfinv(u)</c>.
    /// </summary>
    /// <remarks>TorchSharp 0.107's <c>nn.init.trunc_normal_</c> is not usable here: it ignores its generator
    /// (so seeds have no effect) and its native code multiplies by the mean and adds the standard deviation,
    /// so with mean 0 every value equals the standard deviation.</remarks>
    protected static Tensor TruncatedNormal(long[] shape, double mean, double stddev, Generator g)
    {
        const double ErfSqrt2 = 0.95449973610364158; // P(|Z| < 2) = Phi(2) - Phi(-2)
        var t = empty(shape, ScalarType.Float32);
        using (no_grad())
        {
            t.uniform_(-ErfSqrt2, ErfSqrt2, g);
            t.erfinv_().mul_(stddev * Math.Sqrt(2.0)).add_(mean).clamp_(mean - 2 * stddev, mean + 2 * stddev);
        }
        return t;
    }
}

/// <summary>Fills with zeros (Keras's default bias initializer).</summary>
public sealed class Zeros : Initializer
{
    /// <inheritdoc />
    public override string Name => "zeros";
    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g) => zeros(shape, ScalarType.Float32);
}

/// <summary>Fills with ones.</summary>
public sealed class Ones : Initializer
{
    /// <inheritdoc />
    public override string Name => "ones";
    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g) => ones(shape, ScalarType.Float32);
}

/// <summary>Fills with a constant value.</summary>
public sealed class Constant(double value = 0.0) : Initializer
{
    /// <summary>The value.</summary>
    public double Value { get; } = value;
    /// <inheritdoc />
    public override string Name => "constant";
    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g) => full(shape, Value, ScalarType.Float32);
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["value"] = Value };
}

/// <summary>Uniform on [minval, maxval) (Keras defaults -0.05, 0.05).</summary>
public sealed class RandomUniform(double minval = -0.05, double maxval = 0.05) : Initializer
{
    /// <summary>Lower bound.</summary>
    public double Minval { get; } = minval;
    /// <summary>Upper bound.</summary>
    public double Maxval { get; } = maxval;
    /// <inheritdoc />
    public override string Name => "random_uniform";
    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g)
    {
        var t = empty(shape, ScalarType.Float32);
        using (no_grad()) t.uniform_(Minval, Maxval, g);
        return t;
    }
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["minval"] = Minval, ["maxval"] = Maxval, ["seed"] = Seed };
}

/// <summary>Normal with mean and standard deviation (Keras defaults 0, 0.05).</summary>
public sealed class RandomNormal(double mean = 0.0, double stddev = 0.05) : Initializer
{
    /// <summary>Mean.</summary>
    public double Mean { get; } = mean;
    /// <summary>Standard deviation.</summary>
    public double Stddev { get; } = stddev;
    /// <inheritdoc />
    public override string Name => "random_normal";
    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g)
    {
        var t = empty(shape, ScalarType.Float32);
        using (no_grad()) t.normal_(Mean, Stddev, g);
        return t;
    }
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["mean"] = Mean, ["stddev"] = Stddev, ["seed"] = Seed };
}

/// <summary>Normal truncated at two standard deviations from the mean (Keras defaults 0, 0.05).</summary>
public sealed class TruncatedNormalInitializer(double mean = 0.0, double stddev = 0.05) : Initializer
{
    /// <summary>Mean.</summary>
    public double Mean { get; } = mean;
    /// <summary>Standard deviation before truncation.</summary>
    public double Stddev { get; } = stddev;
    /// <inheritdoc />
    public override string Name => "truncated_normal";
    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g) => TruncatedNormal(shape, Mean, Stddev, g);
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["mean"] = Mean, ["stddev"] = Stddev, ["seed"] = Seed };
}

/// <summary>Fan mode for <see cref="VarianceScaling"/>.</summary>
public enum FanMode
{
    /// <summary>Number of input units.</summary>
    FanIn,
    /// <summary>Number of output units.</summary>
    FanOut,
    /// <summary>Average of the two.</summary>
    FanAvg,
}

/// <summary>Distribution for <see cref="VarianceScaling"/>.</summary>
public enum ScalingDistribution
{
    /// <summary>Normal truncated at 2 sigma, with sigma corrected by 0.87962566 so the variance is <c>scale / n</c>.</summary>
    TruncatedNormal,
    /// <summary>Plain normal with variance <c>scale / n</c>.</summary>
    UntruncatedNormal,
    /// <summary>Uniform on <c>[-sqrt(3 scale / n), sqrt(3 scale / n)]</c>.</summary>
    Uniform,
}

/// <summary>
/// Keras's VarianceScaling: variance <c>scale / n</c> with n the fan-in, fan-out or their average.
/// The Glorot, He and LeCun initializers are instances of it.
/// </summary>
public class VarianceScaling(double scale = 1.0, FanMode mode = FanMode.FanIn,
    ScalingDistribution distribution = ScalingDistribution.TruncatedNormal, string name = "variance_scaling") : Initializer
{
    /// <summary>Scale factor.</summary>
    public double Scale { get; } = scale > 0 ? scale : throw new ArgumentException($"VarianceScaling: scale must be positive; got {scale}.");
    /// <summary>Which fan n is.</summary>
    public FanMode Mode { get; } = mode;
    /// <summary>The distribution.</summary>
    public ScalingDistribution Distribution { get; } = distribution;
    /// <inheritdoc />
    public override string Name { get; } = name;

    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g)
    {
        var (fanIn, fanOut) = ComputeFans(shape);
        double n = Mode switch { FanMode.FanIn => fanIn, FanMode.FanOut => fanOut, _ => (fanIn + fanOut) / 2 };
        double s = Scale / Math.Max(1.0, n);
        switch (Distribution)
        {
            case ScalingDistribution.TruncatedNormal:
                return TruncatedNormal(shape, 0, Math.Sqrt(s) / 0.87962566103423978, g);
            case ScalingDistribution.UntruncatedNormal:
                {
                    var t = empty(shape, ScalarType.Float32);
                    using (no_grad()) t.normal_(0, Math.Sqrt(s), g);
                    return t;
                }
            default:
                {
                    double limit = Math.Sqrt(3 * s);
                    var t = empty(shape, ScalarType.Float32);
                    using (no_grad()) t.uniform_(-limit, limit, g);
                    return t;
                }
        }
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["scale"] = Scale,
        ["mode"] = Mode switch { FanMode.FanIn => "fan_in", FanMode.FanOut => "fan_out", _ => "fan_avg" },
        ["distribution"] = Distribution switch
        {
            ScalingDistribution.TruncatedNormal => "truncated_normal",
            ScalingDistribution.UntruncatedNormal => "untruncated_normal",
            _ => "uniform",
        },
        ["seed"] = Seed,
    };
}

/// <summary>
/// A fixed VarianceScaling preset (Glorot, He, LeCun). As in Keras, its config holds only the seed: the
/// preset's constructor takes no scale, mode or distribution.
/// </summary>
public abstract class VarianceScalingPreset(double scale, FanMode mode, ScalingDistribution distribution, string name)
    : VarianceScaling(scale, mode, distribution, name)
{
    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["seed"] = Seed };
}

/// <summary>Glorot (Xavier) uniform: limit <c>sqrt(6 / (fan_in + fan_out))</c>. Keras's default kernel initializer.</summary>
public sealed class GlorotUniform() : VarianceScalingPreset(1.0, FanMode.FanAvg, ScalingDistribution.Uniform, "glorot_uniform");
/// <summary>Glorot (Xavier) truncated normal: stddev <c>sqrt(2 / (fan_in + fan_out))</c>.</summary>
public sealed class GlorotNormal() : VarianceScalingPreset(1.0, FanMode.FanAvg, ScalingDistribution.TruncatedNormal, "glorot_normal");
/// <summary>He uniform: limit <c>sqrt(6 / fan_in)</c>.</summary>
public sealed class HeUniform() : VarianceScalingPreset(2.0, FanMode.FanIn, ScalingDistribution.Uniform, "he_uniform");
/// <summary>He truncated normal: stddev <c>sqrt(2 / fan_in)</c>.</summary>
public sealed class HeNormal() : VarianceScalingPreset(2.0, FanMode.FanIn, ScalingDistribution.TruncatedNormal, "he_normal");
/// <summary>LeCun uniform: limit <c>sqrt(3 / fan_in)</c>.</summary>
public sealed class LecunUniform() : VarianceScalingPreset(1.0, FanMode.FanIn, ScalingDistribution.Uniform, "lecun_uniform");
/// <summary>LeCun truncated normal: stddev <c>sqrt(1 / fan_in)</c>.</summary>
public sealed class LecunNormal() : VarianceScalingPreset(1.0, FanMode.FanIn, ScalingDistribution.TruncatedNormal, "lecun_normal");

/// <summary>
/// Orthogonal matrix (Saxe et al.) scaled by <paramref name="gain"/>, Keras's algorithm: QR of a normal matrix
/// of shape (max(rows, cols), min(rows, cols)) with rows the product of all but the last dimension, signs
/// fixed by diag(R), transposed when rows &lt; cols.
/// </summary>
public sealed class Orthogonal(double gain = 1.0) : Initializer
{
    /// <summary>Multiplier.</summary>
    public double Gain { get; } = gain;
    /// <inheritdoc />
    public override string Name => "orthogonal";

    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g)
    {
        if (shape.Length < 2) throw new ArgumentException($"Orthogonal initializer needs a shape of rank >= 2; got ({string.Join(", ", shape)}).");
        long rows = 1;
        for (int i = 0; i < shape.Length - 1; i++) rows *= shape[i];
        long cols = shape[^1];
        using var scope = NewDisposeScope();
        var a = randn([Math.Max(rows, cols), Math.Min(rows, cols)], ScalarType.Float32, generator: g);
        var (q, r) = linalg.qr(a);
        var d = r.diagonal().sign();
        q = q * d;
        if (rows < cols) q = q.t();
        return (q * Gain).reshape(shape).contiguous().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["gain"] = Gain, ["seed"] = Seed };
}

/// <summary>
/// Identity matrix scaled by <paramref name="gain"/> (rank-2 shapes only): Keras 3's <c>IdentityInitializer</c> (also read
/// as <c>Identity</c> and <c>"identity"</c>); the name <c>Identity</c> is the layer <see cref="Layers.Identity"/>.
/// </summary>
public sealed class IdentityInitializer(double gain = 1.0) : Initializer
{
    /// <summary>Multiplier.</summary>
    public double Gain { get; } = gain;
    /// <inheritdoc />
    public override string Name => "identity";

    /// <inheritdoc />
    protected override Tensor Sample(long[] shape, Generator g)
    {
        if (shape.Length != 2) throw new ArgumentException($"Identity initializer needs a rank-2 shape; got ({string.Join(", ", shape)}).");
        using var e = eye(shape[0], shape[1], ScalarType.Float32);
        return e * Gain;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["gain"] = Gain };
}

/// <summary>Keras's built-in initializers by name.</summary>
public static class Initializers
{
    private static readonly Dictionary<string, Func<Initializer>> Factories = new(StringComparer.Ordinal)
    {
        ["zeros"] = () => new Zeros(),
        ["ones"] = () => new Ones(),
        ["constant"] = () => new Constant(),
        ["zero"] = () => new Zeros(),
        ["one"] = () => new Ones(),
        ["random_uniform"] = () => new RandomUniform(),
        ["random_normal"] = () => new RandomNormal(),
        ["uniform"] = () => new RandomUniform(),
        ["normal"] = () => new RandomNormal(),
        ["truncated_normal"] = () => new TruncatedNormalInitializer(),
        ["variance_scaling"] = () => new VarianceScaling(),
        ["glorot_uniform"] = () => new GlorotUniform(),
        ["glorot_normal"] = () => new GlorotNormal(),
        ["he_uniform"] = () => new HeUniform(),
        ["he_normal"] = () => new HeNormal(),
        ["lecun_uniform"] = () => new LecunUniform(),
        ["lecun_normal"] = () => new LecunNormal(),
        ["orthogonal"] = () => new Orthogonal(),
        ["identity"] = () => new IdentityInitializer(),
    };

    /// <summary>All names <see cref="Get"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>A new initializer for a Keras name (also accepts the CamelCase class names Keras accepts, e.g. <c>GlorotUniform</c>).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static Initializer Get(string name)
    {
        if (Factories.TryGetValue(name, out var f)) return f();
        var snake = ToSnake(name);
        if (Factories.TryGetValue(snake, out f)) return f();
        throw new ArgumentException($"Unknown initializer '{name}'. Valid names: {string.Join(", ", Factories.Keys.Order())}.", nameof(name));
    }

    private static string ToSnake(string s) =>
        string.Concat(s.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
