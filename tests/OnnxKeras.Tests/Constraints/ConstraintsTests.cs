using System.Text.Json;
using OnnxKeras.Saving;
using Xunit;
using static TorchSharp.torch;
using static OnnxKeras.Tests.Numeric;

namespace OnnxKeras.Tests.ConstraintsFamily;

/// <summary>
/// Keras 3's weight constraints (keras/src/constraints/constraints.py), each checked against its formula worked in
/// double precision here: with n = sqrt(sum(w^2, axis, keepdims)) and epsilon = 1e-7,
/// MaxNorm: w * clip(n, 0, m) / (epsilon + n); MinMaxNorm: w * (rate * clip(n, lo, hi) + (1 - rate) * n) / (epsilon + n);
/// NonNeg: max(w, 0); UnitNorm: w / (epsilon + n).
/// </summary>
public class ConstraintsTests
{
    private const double Eps = 1e-7;

    // W = [[3, 0], [4, 1]]: column norms (axis 0) are 5 and 1; row norms (axis 1) are 3 and sqrt(17).
    private static readonly float[] W = [3f, 0f, 4f, 1f];

    private static float[] Apply(Constraint c, float[] values, long[] shape)
    {
        using var scope = NewDisposeScope();
        var w = tensor(values, shape);
        var result = c.Call(new KTensor(w)).Value;
        Assert.Equal(shape, result.shape);
        Assert.Equal(values, w.data<float>().ToArray()); // the input is left as it was
        return result.contiguous().data<float>().ToArray();
    }

    [Fact]
    public void MaxNorm_ScalesOnlyColumnsAboveTheBound()
    {
        // Axis 0, max 2: column 0 (norm 5) scaled by 2 / (5 + eps); column 1 (norm 1) keeps 1 / (1 + eps).
        double s0 = 2 / (5 + Eps), s1 = 1 / (1 + Eps);
        AllClose(new[] { 3 * s0, 0, 4 * s0, 1 * s1 }, Apply(Constraints.MaxNorm(2), W, [2, 2]), rtol: 1e-6, atol: 1e-7);
        // Axis 1, max 2: row 0 (norm 3) and row 1 (norm sqrt 17) both scaled to norm 2.
        double r0 = 2 / (3 + Eps), r1 = 2 / (Math.Sqrt(17) + Eps);
        AllClose(new[] { 3 * r0, 0, 4 * r1, 1 * r1 }, Apply(Constraints.MaxNorm(2, 1), W, [2, 2]), rtol: 1e-6, atol: 1e-7);
        // Keras's defaults: max_value 2, axis 0.
        var d = Assert.IsType<MaxNormConstraint>(Constraints.MaxNorm());
        Assert.Equal(2.0, d.MaxValue);
        Assert.Equal([0], d.Axis);
    }

    [Fact]
    public void MaxNorm_OverSeveralAxes_TakesOneNormPerFilter()
    {
        // A conv-like kernel [2, 1, 2] (kh, in, filters) with axis [0, 1]: filter 0 holds (3, 4), norm 5; filter 1 holds
        // (0, 1), norm 1. Row-major order: w[0,0,0]=3, w[0,0,1]=0, w[1,0,0]=4, w[1,0,1]=1.
        double s0 = 2 / (5 + Eps), s1 = 1 / (1 + Eps);
        AllClose(new[] { 3 * s0, 0, 4 * s0, 1 * s1 }, Apply(new MaxNormConstraint(2, [0, 1]), W, [2, 1, 2]), rtol: 1e-6, atol: 1e-7);
        // Negative axes count from the end: axis -3, -2 is the same as 0, 1.
        AllClose(new[] { 3 * s0, 0, 4 * s0, 1 * s1 }, Apply(new MaxNormConstraint(2, [-3, -2]), W, [2, 1, 2]), rtol: 1e-6, atol: 1e-7);
    }

    [Fact]
    public void MinMaxNorm_MovesNormsIntoTheInterval_ByRate()
    {
        // [2, 4], rate 1: column 0 (norm 5) -> 4, column 1 (norm 1) -> 2.
        AllClose(new[] { 3 * 4 / (5 + Eps), 0, 4 * 4 / (5 + Eps), 1 * 2 / (1 + Eps) },
            Apply(Constraints.MinMaxNorm(2, 4, 1), W, [2, 2]), rtol: 1e-6, atol: 1e-7);
        // rate 0.5: desired = 0.5 * clip + 0.5 * n: column 0 -> 4.5, column 1 -> 1.5.
        AllClose(new[] { 3 * 4.5 / (5 + Eps), 0, 4 * 4.5 / (5 + Eps), 1 * 1.5 / (1 + Eps) },
            Apply(Constraints.MinMaxNorm(2, 4, 0.5), W, [2, 2]), rtol: 1e-6, atol: 1e-7);
        var d = Assert.IsType<MinMaxNormConstraint>(Constraints.MinMaxNorm());
        Assert.Equal((0.0, 1.0, 1.0), (d.MinValue, d.MaxValue, d.Rate));
        Assert.Equal([0], d.Axis);
    }

    [Fact]
    public void NonNeg_ZeroesNegativeEntries()
    {
        Assert.Equal(new float[] { 0, 2, 0.5f, 0 }, Apply(Constraints.NonNeg(), [-1f, 2f, 0.5f, -3f], [2, 2]));
    }

    [Fact]
    public void UnitNorm_DividesByTheNorm()
    {
        AllClose(new[] { 3 / (5 + Eps), 0, 4 / (5 + Eps), 1 / (1 + Eps) }, Apply(Constraints.UnitNorm(), W, [2, 2]), rtol: 1e-6, atol: 1e-7);
        // Over both axes: one norm sqrt(9 + 16 + 0 + 1) = sqrt(26).
        double n = Math.Sqrt(26) + Eps;
        AllClose(new[] { 3 / n, 0, 4 / n, 1 / n }, Apply(Constraints.UnitNorm(0, 1), W, [2, 2]), rtol: 1e-6, atol: 1e-7);
    }

    [Fact]
    public void BadArguments_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => Constraints.MaxNorm(-1));
        Assert.Throws<ArgumentException>(() => Constraints.MaxNorm(double.NaN));
        Assert.Throws<ArgumentException>(() => Constraints.MinMaxNorm(2, 1));
        Assert.Throws<ArgumentException>(() => Constraints.MinMaxNorm(0, 1, double.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => new UnitNormConstraint([]));
        Assert.Throws<ArgumentException>(() => Constraints.UnitNorm(0, 0));
        var e = Assert.Throws<ArgumentException>(() => Apply(Constraints.MaxNorm(2, 2), W, [2, 2]));
        Assert.Contains("MaxNorm", e.Message);
        Assert.Contains("axis 2", e.Message);
    }

    [Fact]
    public void Get_AcceptsKerasNamesAndClassNames()
    {
        Assert.IsType<MaxNormConstraint>(Constraints.Get("max_norm"));
        Assert.IsType<MaxNormConstraint>(Constraints.Get("MaxNorm"));
        Assert.IsType<MinMaxNormConstraint>(Constraints.Get("min_max_norm"));
        Assert.IsType<NonNegConstraint>(Constraints.Get("non_neg"));
        Assert.IsType<UnitNormConstraint>(Constraints.Get("UnitNorm"));
        Constraint implicitly = "non_neg";
        Assert.IsType<NonNegConstraint>(implicitly);
        var e = Assert.Throws<ArgumentException>(() => Constraints.Get("radial_constraint"));
        Assert.Contains("radial_constraint", e.Message);
    }

    [Fact]
    public void Serialized_AsKerasWritesIt_AndReadBack()
    {
        // Keras 3: {"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}, "registered_name": null}.
        using var doc = JsonDocument.Parse(ConfigJson.Write(Constraints.MaxNorm(2)));
        var root = doc.RootElement;
        Assert.Equal("keras.constraints", root.GetProperty("module").GetString());
        Assert.Equal("MaxNorm", root.GetProperty("class_name").GetString());
        Assert.Equal(2.0, root.GetProperty("config").GetProperty("max_value").GetDouble());
        Assert.Equal(0, root.GetProperty("config").GetProperty("axis").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("registered_name").ValueKind);
        Assert.Equal(["max_value", "axis"], root.GetProperty("config").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["min_value", "max_value", "rate", "axis"], Constraints.MinMaxNorm().GetConfig().Keys);
        Assert.Empty(Constraints.NonNeg().GetConfig());
        Assert.Equal(new[] { 0, 1, 2 }, (int[])Constraints.UnitNorm(0, 1, 2).GetConfig()["axis"]!);

        foreach (var c in new[] { Constraints.MaxNorm(3, 0, 1), Constraints.MinMaxNorm(0.5, 2, 0.25, 1), Constraints.NonNeg(), Constraints.UnitNorm(1) })
        {
            string json = ConfigJson.Write(c);
            var back = Constraints.FromConfig((IDictionary<string, object?>)ModelConfig.ParseJson(json)!);
            Assert.Equal(c.GetType(), back.GetType());
            Assert.Equal(json, ConfigJson.Write(back));
        }
    }

    [Fact]
    public void FromConfig_RefusesWhatItCannotKeep()
    {
        IDictionary<string, object?> Parse(string json) => (IDictionary<string, object?>)ModelConfig.ParseJson(json)!;
        var unknownKey = Assert.Throws<InvalidDataException>(() => Constraints.FromConfig(Parse("""{"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0, "rate": 1}}""")));
        Assert.Equal("Unrecognized keyword arguments passed to MaxNorm: {'rate': 1}", unknownKey.Message);
        var unknownClass = Assert.Throws<ArgumentException>(() => Constraints.FromConfig(Parse("""{"class_name": "RadialConstraint", "config": {}}""")));
        Assert.Contains("RadialConstraint", unknownClass.Message);
        Assert.Throws<InvalidDataException>(() => Constraints.FromConfig(Parse("""{"class_name": "MaxNorm", "config": {"max_value": "2"}}""")));
        // Keras 2 wrote the same form without "module"; a list axis is kept as a list.
        var k2 = Assert.IsType<MaxNormConstraint>(Constraints.FromConfig(Parse("""{"class_name": "MaxNorm", "config": {"max_value": 3, "axis": [0, 1, 2]}}""")));
        Assert.Equal(3.0, k2.MaxValue);
        Assert.Equal([0, 1, 2], k2.Axis);
    }
}
