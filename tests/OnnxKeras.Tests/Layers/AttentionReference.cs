namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Plain-loop reference computations of Keras 3's attention layers, written from the formulas in Keras's source
/// (multi_head_attention.py, attention.py, additive_attention.py) independently of the code under test. Arrays are
/// row-major; masks are true where a position may be attended.
/// </summary>
internal static class AttentionReference
{
    /// <summary>MultiHeadAttention on rank-3 inputs: per-head projections x·W + b, scores (q/sqrt(H))·k, masked scores -1e9,
    /// softmax over s, masked weights 0, weighted values, output projection. Returns the output [B,T,O] and weights [B,N,T,S].</summary>
    public static (double[] Output, double[] Weights) Mha(float[] q, float[] v, float[] k, int b, int t, int s, int dq, int dv, int dk,
        int heads, int keyDim, int valueDim, int outDim, float[] wq, float[]? bq, float[] wk, float[]? bk, float[] wv, float[]? bv,
        float[] wo, float[]? bo, Func<int, int, int, bool>? mask)
    {
        double[] Project(float[] x, int len, int d, float[] w, float[]? bias, int h)
        {
            var r = new double[b * len * heads * h];
            for (int i = 0; i < b; i++)
                for (int p = 0; p < len; p++)
                    for (int n = 0; n < heads; n++)
                        for (int j = 0; j < h; j++)
                        {
                            double acc = bias is null ? 0 : bias[n * h + j];
                            for (int c = 0; c < d; c++) acc += x[(i * len + p) * d + c] * (double)w[(c * heads + n) * h + j];
                            r[((i * len + p) * heads + n) * h + j] = acc;
                        }
            return r;
        }
        var qp = Project(q, t, dq, wq, bq, keyDim);
        var kp = Project(k, s, dk, wk, bk, keyDim);
        var vp = Project(v, s, dv, wv, bv, valueDim);
        var weights = new double[b * heads * t * s];
        var output = new double[b * t * outDim];
        for (int i = 0; i < b; i++)
            for (int n = 0; n < heads; n++)
                for (int a = 0; a < t; a++)
                {
                    var sc = new double[s];
                    for (int c = 0; c < s; c++)
                    {
                        double dot = 0;
                        for (int j = 0; j < keyDim; j++)
                            dot += qp[((i * t + a) * heads + n) * keyDim + j] / Math.Sqrt(keyDim) * kp[((i * s + c) * heads + n) * keyDim + j];
                        sc[c] = mask is null || mask(i, a, c) ? dot : -1e9;
                    }
                    double max = sc.Max(), sum = sc.Sum(x => Math.Exp(x - max));
                    for (int c = 0; c < s; c++)
                        weights[((i * heads + n) * t + a) * s + c] = mask is null || mask(i, a, c) ? Math.Exp(sc[c] - max) / sum : 0;
                }
        for (int i = 0; i < b; i++)
            for (int a = 0; a < t; a++)
                for (int o = 0; o < outDim; o++)
                {
                    double acc = bo is null ? 0 : bo[o];
                    for (int n = 0; n < heads; n++)
                        for (int j = 0; j < valueDim; j++)
                        {
                            double ctx = 0;
                            for (int c = 0; c < s; c++) ctx += weights[((i * heads + n) * t + a) * s + c] * vp[((i * s + c) * heads + n) * valueDim + j];
                            acc += ctx * wo[(n * valueDim + j) * outDim + o];
                        }
                    output[(i * t + a) * outDim + o] = acc;
                }
        return (output, weights);
    }

    /// <summary>Keras's Attention / AdditiveAttention on [B,Tq,D] x [B,Tv,D]: <paramref name="score"/>(b, i, j) gives the raw
    /// score, masked scores get -1e9, softmax over j, weighted values, rows zeroed where the query mask is false.</summary>
    public static (double[] Output, double[] Weights) DenseAttention(float[] v, int b, int tq, int tv, int d, Func<int, int, int, double> score,
        Func<int, int, int, bool>? mask, Func<int, int, bool>? queryMask)
    {
        var weights = new double[b * tq * tv];
        var output = new double[b * tq * d];
        for (int i = 0; i < b; i++)
            for (int a = 0; a < tq; a++)
            {
                var sc = Enumerable.Range(0, tv).Select(c => score(i, a, c) - (mask is null || mask(i, a, c) ? 0 : 1e9)).ToArray();
                double max = sc.Max(), sum = sc.Sum(x => Math.Exp(x - max));
                for (int c = 0; c < tv; c++) weights[(i * tq + a) * tv + c] = Math.Exp(sc[c] - max) / sum;
                double keep = queryMask is null || queryMask(i, a) ? 1 : 0;
                for (int e = 0; e < d; e++)
                {
                    double acc = 0;
                    for (int c = 0; c < tv; c++) acc += weights[(i * tq + a) * tv + c] * v[(i * tv + c) * d + e];
                    output[(i * tq + a) * d + e] = acc * keep;
                }
            }
        return (output, weights);
    }
}
