using Xunit;

namespace OnnxKeras.Tests.Losses;

/// <summary>
/// Float32 comparisons for hand-computed expectations: |expected - actual| &lt;= abs + rel * |expected|
/// (defaults 1e-6 absolute, 1e-5 relative, the precision float32 arithmetic can promise).
/// </summary>
internal static class Approx
{
    public static void Equal(double expected, double actual, string what = "value", double rel = 1e-5, double abs = 1e-6)
    {
        double tol = abs + rel * Math.Abs(expected);
        double diff = Math.Abs(expected - actual);
        Assert.True(diff <= tol, $"{what}: expected {expected:R}, got {actual:R} (|diff| {diff:E3} > tolerance {tol:E3}).");
    }

    public static void Equal(double[] expected, float[] actual, string what = "values", double rel = 1e-5, double abs = 1e-6)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} values, got {actual.Length}.");
        for (int i = 0; i < expected.Length; i++) Equal(expected[i], actual[i], $"{what}[{i}]", rel, abs);
    }
}
