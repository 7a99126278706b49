using System.Numerics;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests;

/// <summary>
/// The tests' one numeric comparison (numpy's <c>allclose</c>): every element must satisfy
/// |actual - expected| &lt;= atol + rtol * max(|expected|, scaleFloor). With the default scaleFloor 0 that is numpy's rule;
/// scaleFloor 1 and atol 0 give "absolute below 1, relative above" (tol * max(1, |expected|)). NaN never passes.
/// </summary>
internal static class Numeric
{
    /// <summary>Element-wise comparison of two sequences of equal length (any numeric element types).</summary>
    public static void AllClose<TE, TA>(IReadOnlyList<TE> expected, IReadOnlyList<TA> actual, double rtol, double atol, double scaleFloor = 0, string? what = null)
        where TE : INumberBase<TE> where TA : INumberBase<TA>
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            AllClose(double.CreateChecked(expected[i]), double.CreateChecked(actual[i]), rtol, atol, what is null ? $"element {i}" : $"{what} element {i}", scaleFloor);
    }

    /// <summary>One value.</summary>
    public static void AllClose(double expected, double actual, double rtol, double atol, string? what = null, double scaleFloor = 0)
    {
        double tol = atol + rtol * Math.Max(Math.Abs(expected), scaleFloor);
        double diff = actual - expected;
        Assert.True(Math.Abs(diff) <= tol, $"{what ?? "value"}: expected {expected:R}, got {actual:R} (diff {diff:E3}, tol {tol:E3})");
    }

    /// <summary>A tensor against expected values: its shape must be <paramref name="shape"/>, its float32 values close.</summary>
    public static void AllClose<TE>(IReadOnlyList<TE> expected, Tensor actual, long[] shape, double rtol, double atol) where TE : INumberBase<TE>
    {
        Assert.Equal(shape, actual.shape);
        AllClose(expected, actual.detach().contiguous().data<float>().ToArray(), rtol, atol);
    }
}
