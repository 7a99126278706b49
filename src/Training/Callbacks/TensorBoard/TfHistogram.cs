using OnnxKeras.Callbacks.TensorBoardProto;

namespace OnnxKeras.Callbacks;

/// <summary>
/// TensorFlow's legacy histogram (tensorflow/core/lib/histogram/histogram.cc): the default bucket limits grow by 10%
/// from 1e-12 to 1e20 on both sides of 0 (plus ±DBL_MAX); a value goes in the first bucket whose limit is above it;
/// runs of empty buckets are merged into one entry, as <c>EncodeToProto(preserve_zero_buckets=false)</c> does.
/// </summary>
internal static class TfHistogram
{
    private static readonly double[] Limits = DefaultLimits();

    private static double[] DefaultLimits()
    {
        var positive = new List<double>();
        for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) positive.Add(v);
        positive.Add(double.MaxValue);
        var result = new List<double>(2 * positive.Count + 1);
        for (int i = positive.Count - 1; i >= 0; i--) result.Add(-positive[i]);
        result.Add(0.0);
        result.AddRange(positive);
        return [.. result];
    }

    /// <summary>The histogram of <paramref name="values"/>.</summary>
    public static HistogramProto Build(IReadOnlyList<double> values)
    {
        var counts = new double[Limits.Length];
        double min = double.MaxValue, max = -double.MaxValue, sum = 0, sumSquares = 0;
        foreach (double v in values)
        {
            // upper_bound: the first limit > v (NaN lands in the last bucket).
            int index = Array.BinarySearch(Limits, v);
            index = index >= 0 ? index + 1 : ~index;
            counts[Math.Min(index, counts.Length - 1)] += 1;
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
            sumSquares += v * v;
        }
        var proto = new HistogramProto { Min = min, Max = max, Num = values.Count, Sum = sum, SumSquares = sumSquares };
        for (int i = 0; i < counts.Length;)
        {
            double end = Limits[i];
            double count = counts[i];
            i++;
            if (count <= 0)
            {
                while (i < counts.Length && counts[i] <= 0)
                {
                    end = Limits[i];
                    count = counts[i];
                    i++;
                }
            }
            proto.BucketLimit.Add(end);
            proto.Bucket.Add(count);
        }
        return proto;
    }
}
