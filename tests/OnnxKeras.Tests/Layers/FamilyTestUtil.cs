using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>Small helpers shared by this family's tests: tensors from arrays, values back, test waves (comparisons: <c>Numeric.AllClose</c>).</summary>
internal static class FamilyTestUtil
{
    public static Tensor T(float[] data, params long[] shape) => tensor(data, shape, dtype: ScalarType.Float32);

    public static float[] Values(KTensor t) => Values(t.Value);

    public static float[] Values(Tensor t) => t.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();

    /// <summary>Deterministic, irregular test values in about [-2.5, 2.5].</summary>
    public static float[] Wave(int n, double phase = 0.0) =>
        Enumerable.Range(0, n).Select(i => (float)(2.5 * Math.Sin(1.7 * i + phase) * Math.Cos(0.3 * i))).ToArray();

    public static float[,] To2D(float[] data, int rows, int cols)
    {
        var a = new float[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) a[r, c] = data[r * cols + c];
        return a;
    }

    public static NDArray Nd(float[] data, params long[] shape) => new(data, shape);
}
