namespace OnnxKeras;

/// <summary>
/// A managed float32 array with a shape (row-major), the .NET counterpart of the NumPy arrays Keras
/// returns from <c>predict</c> and <c>get_weights</c>. Holds no native memory.
/// </summary>
public sealed class NDArray
{
    /// <summary>Wraps <paramref name="data"/> (not copied) with <paramref name="shape"/>.</summary>
    public NDArray(float[] data, params long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        if (n != data.LongLength) throw new ArgumentException($"Shape ({string.Join(", ", shape)}) holds {n} values; got {data.LongLength}.");
        Data = data;
        Shape = (long[])shape.Clone();
    }

    /// <summary>The values, row-major.</summary>
    public float[] Data { get; }

    /// <summary>The dimensions.</summary>
    public long[] Shape { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Element at a multi-index.</summary>
    public float this[params long[] index]
    {
        get
        {
            if (index.Length != Shape.Length) throw new ArgumentException($"Index of rank {index.Length} for an array of rank {Shape.Length}.");
            long flat = 0;
            for (int i = 0; i < index.Length; i++)
            {
                if (index[i] < 0 || index[i] >= Shape[i])
                    throw new IndexOutOfRangeException($"Index {index[i]} out of range for dimension {i} of size {Shape[i]}.");
                flat = flat * Shape[i] + index[i];
            }
            return Data[flat];
        }
    }

    /// <summary>Copies a rank-2 array into <c>float[rows, cols]</c>.</summary>
    public float[,] ToArray2D()
    {
        if (Rank != 2) throw new InvalidOperationException($"ToArray2D needs a rank-2 array; this one has shape ({string.Join(", ", Shape)}).");
        var result = new float[Shape[0], Shape[1]];
        Buffer.BlockCopy(Data, 0, result, 0, Data.Length * sizeof(float));
        return result;
    }

    /// <summary>Index of the largest value along the last axis, per row (e.g. predicted classes).</summary>
    public int[] ArgMax()
    {
        long cols = Shape[^1];
        var result = new int[Data.LongLength / cols];
        for (long r = 0; r < result.LongLength; r++)
        {
            var row = Data.AsSpan((int)(r * cols), (int)cols);
            int best = 0;
            for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
            result[r] = best;
        }
        return result;
    }

    /// <summary>
    /// The values as NumPy's <c>print(array)</c> shows a float32 array with its default options: nested brackets, up to 8
    /// digits after the point (shortest form that reads back), scientific notation when the values span more than
    /// 1000x, reach 1e8 or go below 1e-4, lines wrapped at 75 characters, and arrays of more than 1000 values summarised
    /// with <c>...</c> (3 items at each end of every axis). <see cref="Shape"/> gives the shape.
    /// </summary>
    /// <example><code>Console.WriteLine(model.Predict(x));   // [[0.09861 0.10214 ...] ...], as print(model.predict(x))</code></example>
    public override string ToString() => NumpyFormat.ArrayToString(Data, Shape);
}
