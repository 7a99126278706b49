using Xunit;

namespace OnnxKeras.Tests.Core;

/// <summary>
/// NDArray.ToString against the text NumPy 1.24 itself prints (<c>str(array)</c>, default print options) for the same
/// float32 arrays; each expected string was printed by NumPy from the expression in the comment (pasted here, so the
/// tests need no Python).
/// </summary>
public class NDArrayPrintTests
{
    private static NDArray Make(int count, Func<int, float> value, params long[] shape) =>
        new(Enumerable.Range(0, count).Select(value).ToArray(), shape);

    public static TheoryData<string, NDArray, string> Cases => new()
    {
        // np.arange(12, dtype=np.float32).reshape(3, 4) / np.float32(7)
        { "grid", Make(12, i => i / 7f, 3, 4),
          "[[0.         0.14285715 0.2857143  0.42857143]\n [0.5714286  0.71428573 0.85714287 1.        ]\n [1.1428572  1.2857143  1.4285715  1.5714285 ]]" },
        // np.array([1.5, 2, -3.25, 0], dtype=np.float32)
        { "mixed", new NDArray([1.5f, 2, -3.25f, 0], 4), "[ 1.5   2.   -3.25  0.  ]" },
        // np.array([1e-5, 1, 123.5], dtype=np.float32): below 1e-4, so scientific
        { "scientific", new NDArray([1e-5f, 1, 123.5f], 3), "[1.000e-05 1.000e+00 1.235e+02]" },
        // np.array([1e8, 2.5], dtype=np.float32): reaches 1e8
        { "large", new NDArray([1e8f, 2.5f], 2), "[1.0e+08 2.5e+00]" },
        // np.arange(30, dtype=np.float32) / np.float32(3): wrapped at 75 characters
        { "wrapped", Make(30, i => i / 3f, 30),
          "[0.         0.33333334 0.6666667  1.         1.3333334  1.6666666\n 2.         2.3333333  2.6666667  3.         3.3333333  3.6666667\n 4.         4.3333335  4.6666665  5.         5.3333335  5.6666665\n 6.         6.3333335  6.6666665  7.         7.3333335  7.6666665\n 8.         8.333333   8.666667   9.         9.333333   9.666667  ]" },
        // np.arange(2000, dtype=np.float32).reshape(2, 1000): over the 1000-value threshold, summarised
        { "summarised", Make(2000, i => i, 2, 1000),
          "[[0.000e+00 1.000e+00 2.000e+00 ... 9.970e+02 9.980e+02 9.990e+02]\n [1.000e+03 1.001e+03 1.002e+03 ... 1.997e+03 1.998e+03 1.999e+03]]" },
        // np.array([np.nan, 1.5, -np.inf], dtype=np.float32)
        { "non-finite", new NDArray([float.NaN, 1.5f, float.NegativeInfinity], 3), "[ nan  1.5 -inf]" },
        // np.array([0.123456789, 1/3, 2], dtype=np.float32): 8 digits at most
        { "precision", new NDArray([0.123456789f, 1 / 3f, 2], 3), "[0.12345679 0.33333334 2.        ]" },
        // np.array([0.00012345678, 0.1, 0.0009876543], dtype=np.float32): rounded to 8 decimals
        { "cut off", new NDArray([0.00012345678f, 0.1f, 0.0009876543f], 3), "[0.00012346 0.1        0.00098765]" },
        // np.zeros((2, 2), dtype=np.float32)
        { "zeros", new NDArray(new float[4], 2, 2), "[[0. 0.]\n [0. 0.]]" },
        // np.array([[1.5, -2], [3, 4]], dtype=np.float32).reshape(2, 2, 1)
        { "rank 3", new NDArray([1.5f, -2, 3, 4], 2, 2, 1), "[[[ 1.5]\n  [-2. ]]\n\n [[ 3. ]\n  [ 4. ]]]" },
        // (np.arange(40, dtype=np.float32).reshape(4, 10) % np.float32(9) + np.float32(1)) / np.float32(97): softmax-like rows
        { "probabilities", Make(40, i => (i % 9 + 1f) / 97f, 4, 10),
          "[[0.01030928 0.02061856 0.03092784 0.04123711 0.05154639 0.06185567\n  0.07216495 0.08247422 0.0927835  0.01030928]\n [0.02061856 0.03092784 0.04123711 0.05154639 0.06185567 0.07216495\n  0.08247422 0.0927835  0.01030928 0.02061856]\n [0.03092784 0.04123711 0.05154639 0.06185567 0.07216495 0.08247422\n  0.0927835  0.01030928 0.02061856 0.03092784]\n [0.04123711 0.05154639 0.06185567 0.07216495 0.08247422 0.0927835\n  0.01030928 0.02061856 0.03092784 0.04123711]]" },
        // np.zeros((0,), dtype=np.float32), np.zeros((2, 0), dtype=np.float32), np.array(np.float32(2.5))
        { "empty", new NDArray([], 0), "[]" },
        { "empty rows", new NDArray([], 2, 0), "[]" },
        { "scalar", new NDArray([2.5f]), "2.5" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PrintsLikeNumPy(string name, NDArray array, string expected)
    {
        Assert.False(string.IsNullOrEmpty(name));
        Assert.Equal(expected, array.ToString());
    }

    [Fact]
    public void SummarisesEveryAxisWithNestedBrackets()
    {
        // ((np.arange(1200, dtype=np.float32) % np.float32(7) + np.float32(1)) / np.float32(4)).reshape(10, 10, 12)
        var array = Make(1200, i => (i % 7 + 1f) / 4f, 10, 10, 12);
        const string block1 = "[[0.25 0.5  0.75 ... 0.75 1.   1.25]\n  [1.5  1.75 0.25 ... 0.25 0.5  0.75]\n  [1.   1.25 1.5  ... 1.5  1.75 0.25]\n  ...\n  [0.25 0.5  0.75 ... 0.75 1.   1.25]\n  [1.5  1.75 0.25 ... 0.25 0.5  0.75]\n  [1.   1.25 1.5  ... 1.5  1.75 0.25]]";
        const string block2 = "[[0.5  0.75 1.   ... 1.   1.25 1.5 ]\n  [1.75 0.25 0.5  ... 0.5  0.75 1.  ]\n  [1.25 1.5  1.75 ... 1.75 0.25 0.5 ]\n  ...\n  [0.5  0.75 1.   ... 1.   1.25 1.5 ]\n  [1.75 0.25 0.5  ... 0.5  0.75 1.  ]\n  [1.25 1.5  1.75 ... 1.75 0.25 0.5 ]]";
        const string block3 = "[[0.75 1.   1.25 ... 1.25 1.5  1.75]\n  [0.25 0.5  0.75 ... 0.75 1.   1.25]\n  [1.5  1.75 0.25 ... 0.25 0.5  0.75]\n  ...\n  [0.75 1.   1.25 ... 1.25 1.5  1.75]\n  [0.25 0.5  0.75 ... 0.75 1.   1.25]\n  [1.5  1.75 0.25 ... 0.25 0.5  0.75]]";
        string expected = $"[{block1}\n\n {block2}\n\n {block3}\n\n ...\n\n {block1}\n\n {block2}\n\n {block3}]";
        Assert.Equal(expected, array.ToString());
    }
}
