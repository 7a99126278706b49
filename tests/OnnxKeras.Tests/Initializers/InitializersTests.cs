using OnnxKeras.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.InitializersFamily;

// The test namespace shadows the OnnxKeras.Initializers class; an alias inside the namespace wins.

/// <summary>
/// Keras 3 initializers (keras/src/initializers/random_initializers.py, constant_initializers.py): moments and
/// bounds of large samples against Keras's formulas, fans, orthogonality, seeding and name lookup.
/// </summary>
/// <remarks>
/// Statistical bounds. Every random test draws N = 400 * 500 = 200,000 values with a fixed seed. For a
/// distribution with standard deviation s:
/// - the sample mean has standard error s / sqrt(N) = 0.00224 s; the tests allow 5 standard errors;
/// - the sample standard deviation has relative standard error sqrt((kurtosis - 1) / (4 N)), at most
///   sqrt(2 / 800,000) = 0.00158 for the distributions here (kurtosis: uniform 1.8, normal 3, truncated
///   normal below 3); the tests allow 0.8% (5 standard errors).
/// The alternatives the tests must reject are further away: on [400, 500], fan_in / fan_avg / fan_out give
/// standard deviations that differ by 5.4% to 11.8%, the truncation correction 1/0.8796 is 13.7%, and the
/// He/Glorot/LeCun scales differ by factors of sqrt 2.
/// </remarks>
public class InitializersTests
{
    private const long Rows = 400, Cols = 500;
    private const double N = Rows * Cols;
    private const double MeanTolInSigmas = 5.0 / 447.21359549995793; // 5 / sqrt(200,000)
    private const double StdRelTol = 0.008;

    private sealed record Stats(double Mean, double Std, double Min, double Max, int Count);

    private static float[] Values(Tensor t)
    {
        Assert.Equal(ScalarType.Float32, t.dtype);
        return t.contiguous().data<float>().ToArray();
    }

    private static Stats Describe(float[] v)
    {
        double sum = 0, min = double.MaxValue, max = double.MinValue;
        foreach (var x in v)
        {
            sum += x;
            min = Math.Min(min, x);
            max = Math.Max(max, x);
        }
        double mean = sum / v.Length;
        double ss = 0;
        foreach (var x in v) ss += (x - mean) * (x - mean);
        return new Stats(mean, Math.Sqrt(ss / v.Length), min, max, v.Length);
    }

    private static Stats Sample(Initializer init, params long[] shape)
    {
        using var t = init.Generate(shape);
        Assert.Equal(shape, t.shape);
        return Describe(Values(t));
    }

    private static void AssertMoments(Stats s, double mean, double std, string what)
    {
        Assert.True(Math.Abs(s.Mean - mean) <= MeanTolInSigmas * std, $"{what}: mean {s.Mean:R}, expected {mean:R} +- {MeanTolInSigmas * std:E2}");
        Assert.True(Math.Abs(s.Std - std) <= StdRelTol * std, $"{what}: std {s.Std:R}, expected {std:R} (+-0.8%)");
    }

    /// <summary>All values in [lo, hi], and both ends are reached to within 1% of the half-width.</summary>
    private static void AssertFillsRange(Stats s, double lo, double hi, string what)
    {
        // The last 1% of the half-width at each end holds, for 200,000 values, 0.005 * 200,000 = 1,000
        // expected values of a uniform sample and 226 of a 2-sigma truncated normal (see CheckVarianceScaling):
        // missing them all cannot happen by chance, while a range too narrow by more than 1% fails.
        double slack = 0.01 * (hi - lo) / 2;
        Assert.True(s.Min >= lo && s.Max <= hi, $"{what}: values in [{s.Min:R}, {s.Max:R}], allowed [{lo:R}, {hi:R}]");
        Assert.True(s.Min <= lo + slack && s.Max >= hi - slack, $"{what}: values in [{s.Min:R}, {s.Max:R}] do not reach the ends of [{lo:R}, {hi:R}]");
    }

    // ---- the truncation constant --------------------------------------------------------------------

    /// <summary>
    /// Standard deviation of N(0, 1) truncated to [-2, 2]: var = 1 - 2 * 2 * phi(2) / (Phi(2) - Phi(-2)) with
    /// phi(2) = exp(-2) / sqrt(2 pi) and Phi(2) - Phi(-2) = erf(sqrt 2) = 0.954499736103642 (P(|Z| &lt; 2), the
    /// "95.45%" of normal tables; Abramowitz &amp; Stegun 26.2).
    /// </summary>
    private static readonly double TruncatedStdFactor = Math.Sqrt(1 - 2 * 2 * (Math.Exp(-2) / Math.Sqrt(2 * Math.PI)) / 0.954499736103642);

    [Fact]
    public void TruncationFactor_DerivedByHand_IsKerasConstant()
    {
        // Keras divides the stddev by 0.87962566103423978 so the truncated sample has the intended variance.
        Assert.Equal(0.87962566103423978, TruncatedStdFactor, 1e-12);
    }

    // ---- fans ---------------------------------------------------------------------------------------

    [Fact]
    public void ComputeFans_FollowsKeras()
    {
        Assert.Equal((1.0, 1.0), Initializer.ComputeFans([]));
        Assert.Equal((7.0, 7.0), Initializer.ComputeFans([7]));
        Assert.Equal((400.0, 500.0), Initializer.ComputeFans([400, 500]));
        // Conv2D kernel [kh, kw, in, out]: receptive field 3 * 3 = 9; fan_in = 9 * 16 = 144, fan_out = 9 * 32 = 288.
        Assert.Equal((144.0, 288.0), Initializer.ComputeFans([3, 3, 16, 32]));
        // Conv1D kernel [k, in, out] = [5, 4, 3]: fan_in = 5 * 4 = 20, fan_out = 5 * 3 = 15.
        Assert.Equal((20.0, 15.0), Initializer.ComputeFans([5, 4, 3]));
    }

    [Theory]
    [InlineData(FanMode.FanIn, 144.0)]   // 3 * 3 * 16
    [InlineData(FanMode.FanOut, 288.0)]  // 3 * 3 * 32
    [InlineData(FanMode.FanAvg, 216.0)]  // (144 + 288) / 2
    public void VarianceScalingUniform_ConvKernel_UsesReceptiveFieldFans(FanMode mode, double n)
    {
        // limit = sqrt(3 * scale / n) with scale 2. 3 * 3 * 16 * 32 = 4,608 values: the top 1% of the
        // half-width holds 0.005 * 4,608 = 23 expected values per side (P(none) = 0.995^4608 = 1e-10), and the
        // next fan mode's limit differs by at least sqrt(288 / 216) = 1.15, so AssertFillsRange tells them apart.
        double limit = Math.Sqrt(3.0 * 2.0 / n);
        var s = Sample(new VarianceScaling(2.0, mode, ScalingDistribution.Uniform) { Seed = 11 }, 3, 3, 16, 32);
        AssertFillsRange(s, -limit, limit, $"conv {mode}");
    }

    // ---- VarianceScaling: every distribution and mode ---------------------------------------------

    public static TheoryData<ScalingDistribution, FanMode> AllVarianceScalings()
    {
        var d = new TheoryData<ScalingDistribution, FanMode>();
        foreach (var dist in new[] { ScalingDistribution.Uniform, ScalingDistribution.TruncatedNormal, ScalingDistribution.UntruncatedNormal })
        {
            foreach (var mode in new[] { FanMode.FanIn, FanMode.FanOut, FanMode.FanAvg }) d.Add(dist, mode);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(AllVarianceScalings))]
    public void VarianceScaling_MatchesKerasFormula(ScalingDistribution distribution, FanMode mode)
    {
        const double scale = 2.5;
        double n = mode switch { FanMode.FanIn => 400.0, FanMode.FanOut => 500.0, _ => (400.0 + 500.0) / 2 };
        var s = Sample(new VarianceScaling(scale, mode, distribution) { Seed = 1234 }, Rows, Cols);
        CheckVarianceScaling(s, scale, n, distribution, $"variance_scaling({distribution}, {mode})");
    }

    /// <summary>
    /// Keras: the target standard deviation is sqrt(scale / n) for every distribution (for the uniform,
    /// limit / sqrt 3 = sqrt(3 scale / n) / sqrt 3; for the truncated normal after the 0.8796 correction).
    /// </summary>
    private static void CheckVarianceScaling(Stats s, double scale, double n, ScalingDistribution distribution, string what)
    {
        double std = Math.Sqrt(scale / n);
        AssertMoments(s, 0.0, std, what);
        switch (distribution)
        {
            case ScalingDistribution.Uniform:
                {
                    double limit = Math.Sqrt(3.0 * scale / n);
                    AssertFillsRange(s, -limit, limit, what);
                    break;
                }
            case ScalingDistribution.TruncatedNormal:
                {
                    // Truncated at 2 sigma of the pre-correction stddev sqrt(scale / n) / 0.8796. The density at the
                    // cut is phi(2) / 0.9545 = 0.0566 per sigma, so the last 1% of the half-width (0.02 sigma) holds
                    // 0.0566 * 0.02 * 200,000 = 226 expected values per side.
                    double bound = 2 * std / 0.87962566103423978;
                    AssertFillsRange(s, -bound, bound, what);
                    break;
                }
            default:
                {
                    // Not truncated: |x| > 3.5 sigma has probability 4.65e-4, so ~93 expected values; a sample
                    // truncated at 2 sigma (2.27 sigma effective) could have none.
                    Assert.True(Math.Max(-s.Min, s.Max) > 3.5 * std, $"{what}: max |x| = {Math.Max(-s.Min, s.Max):R} looks truncated (std {std:R})");
                    break;
                }
        }
    }

    public static TheoryData<string, double, FanMode, ScalingDistribution> NamedVarianceScalings => new()
    {
        // Keras: glorot = scale 1, fan_avg; he = scale 2, fan_in; lecun = scale 1, fan_in. "_normal" is truncated.
        { "glorot_uniform", 1.0, FanMode.FanAvg, ScalingDistribution.Uniform },     // limit sqrt(6 / (in + out))
        { "glorot_normal", 1.0, FanMode.FanAvg, ScalingDistribution.TruncatedNormal }, // stddev sqrt(2 / (in + out))
        { "he_uniform", 2.0, FanMode.FanIn, ScalingDistribution.Uniform },          // limit sqrt(6 / in)
        { "he_normal", 2.0, FanMode.FanIn, ScalingDistribution.TruncatedNormal },   // stddev sqrt(2 / in)
        { "lecun_uniform", 1.0, FanMode.FanIn, ScalingDistribution.Uniform },       // limit sqrt(3 / in)
        { "lecun_normal", 1.0, FanMode.FanIn, ScalingDistribution.TruncatedNormal }, // stddev sqrt(1 / in)
    };

    [Theory]
    [MemberData(nameof(NamedVarianceScalings))]
    public void NamedVarianceScaling_MatchesKerasFormula(string name, double scale, FanMode mode, ScalingDistribution distribution)
    {
        var init = Initializers.Get(name);
        Assert.Equal(name, init.Name);
        var vs = Assert.IsAssignableFrom<VarianceScaling>(init);
        Assert.Equal((scale, mode, distribution), (vs.Scale, vs.Mode, vs.Distribution));
        double n = mode == FanMode.FanIn ? 400.0 : (400.0 + 500.0) / 2;
        var s = Sample(Seeded(name, 99), Rows, Cols);
        CheckVarianceScaling(s, scale, n, distribution, name);
    }

    [Fact]
    public void GlorotUniform_LimitIsSqrtSixOverFanInPlusFanOut()
    {
        // Written out for the common case: limit = sqrt(6 / (400 + 500)) = 0.0816497, std = limit / sqrt 3.
        double limit = Math.Sqrt(6.0 / (400 + 500));
        var s = Sample(new GlorotUniform { Seed = 5 }, Rows, Cols);
        AssertFillsRange(s, -limit, limit, "glorot_uniform");
        AssertMoments(s, 0.0, limit / Math.Sqrt(3.0), "glorot_uniform");
    }

    [Fact]
    public void HeNormal_StddevIsSqrtTwoOverFanIn_AfterTruncation()
    {
        // stddev sqrt(2 / 400) = 0.0707107 measured on the sample (so including the truncation correction);
        // values bounded by 2 * 0.0707107 / 0.8796257 = 0.1607743.
        double std = Math.Sqrt(2.0 / 400);
        var s = Sample(new HeNormal { Seed = 6 }, Rows, Cols);
        AssertMoments(s, 0.0, std, "he_normal");
        AssertFillsRange(s, -2 * std / TruncatedStdFactor, 2 * std / TruncatedStdFactor, "he_normal");
    }

    [Fact]
    public void VarianceScaling_RejectsNonPositiveScale()
    {
        Assert.Throws<ArgumentException>(() => new VarianceScaling(0.0));
        Assert.Throws<ArgumentException>(() => new VarianceScaling(-1.0));
    }

    [Fact]
    public void VarianceScaling_DefaultsAreKeras()
    {
        // Keras: scale=1.0, mode="fan_in", distribution="truncated_normal".
        var vs = new VarianceScaling();
        Assert.Equal((1.0, FanMode.FanIn, ScalingDistribution.TruncatedNormal), (vs.Scale, vs.Mode, vs.Distribution));
        Assert.Equal("variance_scaling", vs.Name);
    }

    // ---- RandomUniform / RandomNormal / TruncatedNormal ----------------------------------------------

    [Fact]
    public void RandomUniform_DefaultsAndCustomRange()
    {
        // Keras defaults minval -0.05, maxval 0.05: mean 0, std (0.05 - -0.05) / sqrt 12 = 0.0288675.
        var d = Sample(new RandomUniform { Seed = 21 }, Rows, Cols);
        AssertMoments(d, 0.0, 0.1 / Math.Sqrt(12.0), "random_uniform default");
        AssertFillsRange(d, -0.05, 0.05, "random_uniform default");
        Assert.True(d.Max < 0.05, "maxval is exclusive");

        // [1, 3): mean 2, std 2 / sqrt 12 = 0.5773503.
        var c = Sample(new RandomUniform(1.0, 3.0) { Seed = 22 }, Rows, Cols);
        AssertMoments(c, 2.0, 2.0 / Math.Sqrt(12.0), "random_uniform [1, 3)");
        AssertFillsRange(c, 1.0, 3.0, "random_uniform [1, 3)");
    }

    [Fact]
    public void RandomNormal_DefaultsAndCustom()
    {
        // Keras defaults mean 0, stddev 0.05; untruncated (some |x| beyond 3.5 sigma).
        var d = Sample(new RandomNormal { Seed = 31 }, Rows, Cols);
        AssertMoments(d, 0.0, 0.05, "random_normal default");
        Assert.True(Math.Max(-d.Min, d.Max) > 3.5 * 0.05);

        var c = Sample(new RandomNormal(1.5, 0.3) { Seed = 32 }, Rows, Cols);
        AssertMoments(c, 1.5, 0.3, "random_normal(1.5, 0.3)");
        Assert.True(c.Max > 1.5 + 3.5 * 0.3 || c.Min < 1.5 - 3.5 * 0.3);
    }

    [Fact]
    public void TruncatedNormal_CutsAtTwoStddev_WithoutVarianceCorrection()
    {
        // Keras's TruncatedNormal(mean, stddev) is not corrected: the sample std is stddev * 0.8796257, and every
        // value lies within mean +- 2 stddev. Defaults mean 0, stddev 0.05.
        var d = Sample(new TruncatedNormalInitializer { Seed = 41 }, Rows, Cols);
        Assert.Equal("truncated_normal", new TruncatedNormalInitializer().Name);
        AssertMoments(d, 0.0, 0.05 * TruncatedStdFactor, "truncated_normal default");
        AssertFillsRange(d, -0.1, 0.1, "truncated_normal default");

        var c = Sample(new TruncatedNormalInitializer(1.0, 0.5) { Seed = 42 }, Rows, Cols);
        AssertMoments(c, 1.0, 0.5 * TruncatedStdFactor, "truncated_normal(1, 0.5)");
        AssertFillsRange(c, 0.0, 2.0, "truncated_normal(1, 0.5)");
    }

    // ---- Orthogonal ---------------------------------------------------------------------------------

    /// <summary>Max |(M M^T or M^T M) - gain^2 I| for the matrix viewed as [rows, cols], computed in double.</summary>
    private static double OrthogonalityError(float[] w, int rows, int cols, double gain)
    {
        bool tall = rows >= cols; // columns orthonormal: W^T W = I_cols; else rows orthonormal: W W^T = I_rows
        int k = tall ? cols : rows;
        int len = tall ? rows : cols;
        double worst = 0;
        for (int a = 0; a < k; a++)
        {
            for (int b = 0; b < k; b++)
            {
                double dot = 0;
                for (int i = 0; i < len; i++)
                {
                    double x = tall ? w[i * cols + a] : w[a * cols + i];
                    double y = tall ? w[i * cols + b] : w[b * cols + i];
                    dot += x * y;
                }
                double target = a == b ? gain * gain : 0.0;
                worst = Math.Max(worst, Math.Abs(dot - target));
            }
        }
        return worst;
    }

    [Theory]
    [InlineData(new long[] { 64, 32 }, 64, 32)]
    [InlineData(new long[] { 32, 64 }, 32, 64)]
    [InlineData(new long[] { 3, 3, 4, 8 }, 36, 8)] // Keras flattens all but the last dimension: 3 * 3 * 4 = 36 rows
    [InlineData(new long[] { 40, 40 }, 40, 40)]
    public void Orthogonal_IsOrthogonal(long[] shape, int rows, int cols)
    {
        using var t = new Orthogonal { Seed = 7 }.Generate(shape);
        Assert.Equal(shape, t.shape);
        var w = Values(t);
        double err = OrthogonalityError(w, rows, cols, 1.0);
        Assert.True(err < 1e-5, $"orthogonality error {err:E2}");
        // Not trivially a permutation or identity: a random orthogonal matrix has no entry near +-1.
        Assert.True(w.Max(Math.Abs) < 0.9);
    }

    [Fact]
    public void Orthogonal_GainScales()
    {
        // Same seed, same underlying Q: gain 2.5 multiplies every entry by 2.5, so W^T W = 6.25 I.
        using var a = new Orthogonal(1.0) { Seed = 8 }.Generate(64, 32);
        using var b = new Orthogonal(2.5) { Seed = 8 }.Generate(64, 32);
        var wa = Values(a);
        var wb = Values(b);
        for (int i = 0; i < wa.Length; i++) Assert.True(Math.Abs(wb[i] - 2.5 * wa[i]) <= 1e-6 * Math.Max(1, Math.Abs(wb[i])), $"entry {i}");
        double err = OrthogonalityError(wb, 64, 32, 2.5);
        Assert.True(err < 6.25e-5, $"orthogonality error {err:E2}");
    }

    [Fact]
    public void Orthogonal_NeedsRankTwo()
    {
        Assert.Throws<ArgumentException>(() => new Orthogonal().Generate(5));
    }

    // ---- constant initializers ----------------------------------------------------------------------

    [Fact]
    public void Identity_WithGain()
    {
        using var t = new IdentityInitializer(2.0).Generate(3, 4);
        Assert.Equal(new float[] { 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0 }, Values(t));
        using var tall = new IdentityInitializer().Generate(3, 2);
        Assert.Equal(new float[] { 1, 0, 0, 1, 0, 0 }, Values(tall));
        Assert.Throws<ArgumentException>(() => new IdentityInitializer().Generate(2, 2, 2));
        Assert.Equal("identity", new IdentityInitializer().Name);
    }

    [Fact]
    public void ZerosOnesConstant()
    {
        using var z = new Zeros().Generate(2, 3);
        using var o = new Ones().Generate(2, 3);
        using var c = new Constant(-1.25).Generate(2, 3);
        using var c0 = new Constant().Generate(4);
        Assert.Equal(new long[] { 2, 3 }, z.shape);
        Assert.All(Values(z), v => Assert.Equal(0f, v));
        Assert.All(Values(o), v => Assert.Equal(1f, v));
        Assert.All(Values(c), v => Assert.Equal(-1.25f, v));
        Assert.All(Values(c0), v => Assert.Equal(0f, v)); // Keras Constant default value 0.0
        Assert.Equal(6, Values(c).Length);
    }

    [Fact]
    public void Generate_RejectsNegativeDimension()
    {
        Assert.Throws<ArgumentException>(() => new Zeros().Generate(2, -1));
    }

    // ---- seeding ------------------------------------------------------------------------------------

    public static TheoryData<string> RandomNames => new()
    {
        "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
        "variance_scaling", "random_uniform", "random_normal", "truncated_normal", "orthogonal",
    };

    [Theory]
    [MemberData(nameof(RandomNames))]
    public void SameSeed_GivesIdenticalValues_OnEveryCall_DifferentSeedsDiffer(string name)
    {
        var a = Seeded(name, 2024);
        using var first = a.Generate(20, 30);
        using var second = a.Generate(20, 30);
        using var other = Seeded(name, 2024).Generate(20, 30);
        using var different = Seeded(name, 2025).Generate(20, 30);
        Assert.Equal(Values(first), Values(second));
        Assert.Equal(Values(first), Values(other));
        var d = Values(different);
        var f = Values(first);
        int same = f.Zip(d).Count(p => p.First == p.Second);
        Assert.True(same < 5, $"{name}: {same} of 600 values equal under different seeds");
    }

    [Theory]
    [MemberData(nameof(RandomNames))]
    public void GlobalSeed_MakesUnseededInitializersReproducible(string name)
    {
        Keras.SetRandomSeed(77);
        using var a = Initializers.Get(name).Generate(20, 30);
        Keras.SetRandomSeed(77);
        using var b = Initializers.Get(name).Generate(20, 30);
        Keras.SetRandomSeed(78);
        using var c = Initializers.Get(name).Generate(20, 30);
        Assert.Equal(Values(a), Values(b));
        var va = Values(a);
        var vc = Values(c);
        Assert.True(va.Zip(vc).Count(p => p.First == p.Second) < 5, $"{name}: global seeds 77 and 78 gave the same values");
    }

    private static Initializer Seeded(string name, long seed) => name switch
    {
        "glorot_uniform" => new GlorotUniform { Seed = seed },
        "glorot_normal" => new GlorotNormal { Seed = seed },
        "he_uniform" => new HeUniform { Seed = seed },
        "he_normal" => new HeNormal { Seed = seed },
        "lecun_uniform" => new LecunUniform { Seed = seed },
        "lecun_normal" => new LecunNormal { Seed = seed },
        "variance_scaling" => new VarianceScaling { Seed = seed },
        "random_uniform" => new RandomUniform { Seed = seed },
        "random_normal" => new RandomNormal { Seed = seed },
        "truncated_normal" => new TruncatedNormalInitializer { Seed = seed },
        "orthogonal" => new Orthogonal { Seed = seed },
        _ => throw new ArgumentException(name),
    };

    // ---- lookup -------------------------------------------------------------------------------------

    [Theory]
    [InlineData("glorot_uniform", typeof(GlorotUniform))]
    [InlineData("GlorotUniform", typeof(GlorotUniform))]
    [InlineData("glorot_normal", typeof(GlorotNormal))]
    [InlineData("GlorotNormal", typeof(GlorotNormal))]
    [InlineData("he_uniform", typeof(HeUniform))]
    [InlineData("HeUniform", typeof(HeUniform))]
    [InlineData("he_normal", typeof(HeNormal))]
    [InlineData("HeNormal", typeof(HeNormal))]
    [InlineData("lecun_uniform", typeof(LecunUniform))]
    [InlineData("LecunUniform", typeof(LecunUniform))]
    [InlineData("lecun_normal", typeof(LecunNormal))]
    [InlineData("LecunNormal", typeof(LecunNormal))]
    [InlineData("variance_scaling", typeof(VarianceScaling))]
    [InlineData("VarianceScaling", typeof(VarianceScaling))]
    [InlineData("random_uniform", typeof(RandomUniform))]
    [InlineData("RandomUniform", typeof(RandomUniform))]
    [InlineData("uniform", typeof(RandomUniform))]
    [InlineData("random_normal", typeof(RandomNormal))]
    [InlineData("RandomNormal", typeof(RandomNormal))]
    [InlineData("normal", typeof(RandomNormal))]
    [InlineData("truncated_normal", typeof(TruncatedNormalInitializer))]
    [InlineData("TruncatedNormal", typeof(TruncatedNormalInitializer))]
    [InlineData("orthogonal", typeof(Orthogonal))]
    [InlineData("Orthogonal", typeof(Orthogonal))]
    [InlineData("identity", typeof(IdentityInitializer))]
    [InlineData("Identity", typeof(IdentityInitializer))]
    [InlineData("zeros", typeof(Zeros))]
    [InlineData("Zeros", typeof(Zeros))]
    [InlineData("zero", typeof(Zeros))] // Keras alias
    [InlineData("ones", typeof(Ones))]
    [InlineData("Ones", typeof(Ones))]
    [InlineData("one", typeof(Ones))]   // Keras alias
    [InlineData("constant", typeof(Constant))]
    [InlineData("Constant", typeof(Constant))]
    public void Get_AcceptsKerasNamesAndClassNames(string name, Type type)
    {
        var init = Initializers.Get(name);
        Assert.IsType(type, init);
        Initializer implicitly = name; // the implicit conversion layers use
        Assert.IsType(type, implicitly);
        Assert.NotSame(init, Initializers.Get(name)); // a fresh instance each time, as Keras's get
    }

    [Fact]
    public void Get_UniformAndNormalAliases_HaveKerasDefaults()
    {
        var u = Assert.IsType<RandomUniform>(Initializers.Get("uniform"));
        Assert.Equal((-0.05, 0.05), (u.Minval, u.Maxval));
        var n = Assert.IsType<RandomNormal>(Initializers.Get("normal"));
        Assert.Equal((0.0, 0.05), (n.Mean, n.Stddev));
    }

    [Fact]
    public void Get_UnknownName_ThrowsListingValidNames()
    {
        var e = Assert.Throws<ArgumentException>(() => Initializers.Get("glorot_unifrom"));
        Assert.Contains("glorot_unifrom", e.Message);
        foreach (var name in new[] { "glorot_uniform", "he_normal", "lecun_uniform", "orthogonal", "zeros", "random_normal" })
            Assert.Contains(name, e.Message);
        Assert.Throws<ArgumentException>(() => new Dense(2, kernelInitializer: "xavier"));
    }

    // ---- config (Keras's get_config keys) ------------------------------------------------------------

    [Fact]
    public void GetConfig_MatchesKerasKeys()
    {
        // Keras: GlorotUniform & co. serialize only their seed (their constructors take no scale/mode), Zeros
        // and Ones serialize nothing, VarianceScaling serializes everything.
        Assert.Equal(["seed"], new GlorotUniform().GetConfig().Keys.Order());
        Assert.Equal(["seed"], new HeNormal { Seed = 3 }.GetConfig().Keys.Order());
        Assert.Equal(3L, new HeNormal { Seed = 3 }.GetConfig()["seed"]);
        Assert.Empty(new Zeros().GetConfig());
        Assert.Empty(new Ones().GetConfig());
        var vs = new VarianceScaling(2.0, FanMode.FanAvg, ScalingDistribution.Uniform).GetConfig();
        Assert.Equal(["distribution", "mode", "scale", "seed"], vs.Keys.Order());
        Assert.Equal((2.0, "fan_avg", "uniform"), ((double)vs["scale"]!, (string)vs["mode"]!, (string)vs["distribution"]!));
        Assert.Equal(["maxval", "minval", "seed"], new RandomUniform().GetConfig().Keys.Order());
        Assert.Equal(["gain", "seed"], new Orthogonal().GetConfig().Keys.Order());
        Assert.Equal(["gain"], new IdentityInitializer().GetConfig().Keys.Order());
        Assert.Equal(["value"], new Constant(2).GetConfig().Keys.Order());
    }

    // ---- Dense defaults -----------------------------------------------------------------------------

    [Fact]
    public void Dense_DefaultKernelIsGlorotUniform_BiasZeros()
    {
        Keras.SetRandomSeed(3);
        using var dense = new Dense(500);
        Assert.IsType<GlorotUniform>(dense.KernelInitializer);
        Assert.IsType<Zeros>(dense.BiasInitializer);
        dense.EnsureBuilt(new Shape(null, 400));
        Assert.Equal(new long[] { 400, 500 }, dense.Kernel.Value.shape);
        var s = Describe(dense.Kernel.ToArray());
        // glorot_uniform on [400, 500]: limit sqrt(6 / (400 + 500)) = 0.0816497, std limit / sqrt 3.
        double limit = Math.Sqrt(6.0 / (400 + 500));
        AssertFillsRange(s, -limit, limit, "Dense kernel");
        AssertMoments(s, 0.0, limit / Math.Sqrt(3.0), "Dense kernel");
        Assert.All(dense.Bias!.ToArray(), b => Assert.Equal(0f, b));
        Assert.Equal(500, dense.Bias!.Size);
    }
}
