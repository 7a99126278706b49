using System.Globalization;
using System.Numerics;
using System.Text;

namespace OnnxKeras;

/// <summary>
/// NumPy's <c>str(array)</c> for float32 arrays with NumPy's default print options (threshold 1000, edgeitems 3,
/// precision 8, linewidth 75, floatmode "maxprec", no suppression): nested brackets, <c>...</c> for summarised axes,
/// one column width for all values, scientific notation when the shown values span more than 1000x, reach 1e8 or go
/// below 1e-4. A port of <c>numpy/core/arrayprint.py</c> (<c>_formatArray</c>, <c>FloatingFormat</c>).
/// </summary>
internal static class NumpyFormat
{
    private const int Threshold = 1000, EdgeItems = 3, Precision = 8, LineWidth = 75;

    public static string ArrayToString(float[] data, long[] shape)
    {
        if (shape.Length == 0) return ScalarToString(data[0]);
        if (data.Length == 0) return "[]";
        bool summarize = data.LongLength > Threshold;
        var strides = new long[shape.Length];
        for (int a = shape.Length - 1; a >= 0; a--) strides[a] = a == shape.Length - 1 ? 1 : strides[a + 1] * shape[a + 1];
        var shown = new List<float>();
        CollectShown(data, shape, strides, summarize, 0, 0, shown);
        var format = new FloatFormat(shown);
        return Recurse(data, shape, strides, summarize, format, 0, 0, " ", LineWidth);
    }

    private static IEnumerable<long> ShownIndices(long n, bool summarize) =>
        summarize && 2 * EdgeItems < n
            ? [.. Enumerable.Range(0, EdgeItems).Select(i => (long)i), .. Enumerable.Range(0, EdgeItems).Select(i => n - EdgeItems + i)]
            : LongRange(n);

    private static IEnumerable<long> LongRange(long n)
    {
        for (long i = 0; i < n; i++) yield return i;
    }

    private static void CollectShown(float[] data, long[] shape, long[] strides, bool summarize, int axis, long offset, List<float> shown)
    {
        foreach (long i in ShownIndices(shape[axis], summarize))
        {
            if (axis == shape.Length - 1) shown.Add(data[offset + i]);
            else CollectShown(data, shape, strides, summarize, axis + 1, offset + i * strides[axis], shown);
        }
    }

    private static string Recurse(float[] data, long[] shape, long[] strides, bool summarize, FloatFormat format, int axis, long offset,
        string hangingIndent, int currWidth)
    {
        int axesLeft = shape.Length - axis;
        string nextHanging = hangingIndent + " ";
        int nextWidth = currWidth - 1;
        long n = shape[axis];
        bool showSummary = summarize && 2 * EdgeItems < n;
        long leading = showSummary ? EdgeItems : 0, trailing = showSummary ? EdgeItems : n;
        string Item(long i) => axesLeft == 1
            ? format.Format(data[offset + i])
            : Recurse(data, shape, strides, summarize, format, axis + 1, offset + i * strides[axis], nextHanging, nextWidth);
        var s = new StringBuilder();
        if (axesLeft == 1)
        {
            int elemWidth = currWidth - 1; // room for the closing bracket
            string line = hangingIndent;
            for (long i = 0; i < leading; i++) line = Extend(s, line, Item(i), elemWidth, hangingIndent) + " ";
            if (showSummary) line = Extend(s, line, "...", elemWidth, hangingIndent) + " ";
            for (long i = trailing; i > 1; i--) line = Extend(s, line, Item(n - i), elemWidth, hangingIndent) + " ";
            line = Extend(s, line, Item(n - 1), elemWidth, hangingIndent);
            s.Append(line);
        }
        else
        {
            string lineSep = new('\n', axesLeft - 1);
            for (long i = 0; i < leading; i++) s.Append(hangingIndent).Append(Item(i)).Append(lineSep);
            if (showSummary) s.Append(hangingIndent).Append("...").Append(lineSep);
            for (long i = trailing; i > 1; i--) s.Append(hangingIndent).Append(Item(n - i)).Append(lineSep);
            s.Append(hangingIndent).Append(Item(n - 1));
        }
        return "[" + s.ToString(hangingIndent.Length, s.Length - hangingIndent.Length) + "]";
    }

    /// <summary>NumPy's <c>_extendLine</c>: wraps before <paramref name="word"/> when the line would pass the width.</summary>
    private static string Extend(StringBuilder s, string line, string word, int lineWidth, string nextLinePrefix)
    {
        bool needsWrap = line.Length + word.Length > lineWidth && line.Length > nextLinePrefix.Length;
        if (needsWrap)
        {
            s.Append(line.TrimEnd()).Append('\n');
            line = nextLinePrefix;
        }
        return line + word;
    }

    /// <summary>NumPy's <c>str(np.float32(x))</c>: positional from 1e-4 to 1e16 (and 0), else scientific; shortest digits.</summary>
    private static string ScalarToString(float x)
    {
        if (float.IsNaN(x)) return "nan";
        if (float.IsInfinity(x)) return x < 0 ? "-inf" : "inf";
        var d = Digits.Of(x);
        float a = Math.Abs(x);
        if (x == 0 || (a >= 1e-4 && a < 1e16))
        {
            var (i, f) = d.Positional(null);
            return $"{i}.{(f.Length == 0 ? "0" : f)}";
        }
        var (mi, mf, exp) = d.Scientific();
        return $"{mi}{(mf.Length == 0 ? "" : "." + mf)}e{(exp < 0 ? '-' : '+')}{Math.Abs(exp):00}";
    }

    /// <summary>NumPy's <c>FloatingFormat</c> for one array: the notation and paddings are chosen from all shown values.</summary>
    private sealed class FloatFormat
    {
        private readonly bool exp;
        private readonly int padLeft, padRight, precision, expSize;

        public FloatFormat(List<float> values)
        {
            var finite = values.Where(float.IsFinite).ToList();
            var absNonZero = finite.Where(v => v != 0).Select(Math.Abs).ToList();
            if (absNonZero.Count > 0)
            {
                float max = absNonZero.Max(), min = absNonZero.Min();
                exp = max >= 1e8f || min < 0.0001f || max / min > 1000f;
            }
            if (finite.Count == 0) { }
            else if (exp)
            {
                var parts = finite.Select(v => Digits.Of(v).Scientific()).ToList();
                precision = parts.Max(p => p.Frac.Length);
                padLeft = parts.Max(p => p.Int.Length);
                expSize = Math.Max(2, parts.Max(p => Math.Abs(p.Exp).ToString(CultureInfo.InvariantCulture).Length));
                padRight = expSize + 2 + precision;
            }
            else
            {
                var parts = finite.Select(v => Digits.Of(v).Positional(Precision)).ToList();
                padLeft = parts.Max(p => p.Int.Length);
                padRight = parts.Max(p => p.Frac.Length);
            }
            if (finite.Count != values.Count)
            {
                bool negInf = values.Any(v => float.IsNegativeInfinity(v));
                int offset = padRight + 1;
                padLeft = Math.Max(padLeft, Math.Max(3 - offset, 3 + (negInf ? 1 : 0) - offset));
            }
        }

        public string Format(float x)
        {
            if (!float.IsFinite(x))
            {
                string text = float.IsNaN(x) ? "nan" : x < 0 ? "-inf" : "inf";
                return text.PadLeft(padLeft + padRight + 1);
            }
            var d = Digits.Of(x);
            if (exp)
            {
                var (i, f, e) = d.Scientific();
                string digits = Math.Abs(e).ToString(CultureInfo.InvariantCulture).PadLeft(expSize, '0');
                return $"{i.PadLeft(padLeft)}.{f.PadRight(precision, '0')}e{(e < 0 ? '-' : '+')}{digits}";
            }
            var (ip, fp) = d.Positional(Precision);
            return $"{ip.PadLeft(padLeft)}.{fp.PadRight(padRight)}";
        }
    }

    /// <summary>A float's shortest round-trip decimal digits (Dragon4's "unique" mode): value = 0.Digits x 10^Point.</summary>
    private readonly record struct Digits(float Value, bool Negative, string Significant, int Point)
    {
        public static Digits Of(float x)
        {
            string r = Math.Abs(x).ToString("R", CultureInfo.InvariantCulture);
            int e = 0, ePos = r.IndexOfAny(['E', 'e']);
            if (ePos >= 0)
            {
                e = int.Parse(r[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                r = r[..ePos];
            }
            int dot = r.IndexOf('.');
            int point = (dot < 0 ? r.Length : dot) + e;
            string digits = r.Replace(".", "", StringComparison.Ordinal);
            int lead = digits.Length - digits.TrimStart('0').Length;
            digits = digits.Trim('0');
            return new Digits(x, float.IsNegative(x), digits, digits.Length == 0 ? 1 : point - lead);
        }

        private string Sign => Negative ? "-" : "";

        /// <summary>Integer and fraction digits, at most <paramref name="maxFrac"/> fraction digits (rounded from the
        /// exact value), trailing zeros trimmed.</summary>
        public (string Int, string Frac) Positional(int? maxFrac)
        {
            if (Significant.Length == 0) return (Sign + "0", "");
            if (maxFrac is int p && Significant.Length - Point > p) return Rounded(p);
            string all = Point >= Significant.Length ? Significant + new string('0', Point - Significant.Length)
                : Point <= 0 ? new string('0', -Point) + Significant : Significant;
            int intLen = Math.Max(Point, 0);
            string ip = Point <= 0 ? "0" : all[..intLen];
            string fp = Point >= Significant.Length ? "" : Point <= 0 ? all : all[intLen..];
            return (Sign + ip, fp);
        }

        /// <summary>The exact binary value rounded half-even to <paramref name="p"/> fraction digits (Dragon4's cutoff).</summary>
        private (string Int, string Frac) Rounded(int p)
        {
            int bits = BitConverter.SingleToInt32Bits(Math.Abs(Value));
            int exponent = (bits >> 23) & 0xFF;
            long mantissa = exponent == 0 ? bits & 0x7FFFFF : (bits & 0x7FFFFF) | 0x800000;
            int shift = (exponent == 0 ? 1 : exponent) - 150; // value = mantissa * 2^shift
            var scaled = new BigInteger(mantissa) * BigInteger.Pow(10, p);
            BigInteger q;
            if (shift >= 0) q = scaled << shift;
            else
            {
                var divisor = BigInteger.One << -shift;
                q = BigInteger.DivRem(scaled, divisor, out var rem);
                int cmp = (rem * 2).CompareTo(divisor);
                if (cmp > 0 || (cmp == 0 && !q.IsEven)) q += 1;
            }
            string s = q.ToString(CultureInfo.InvariantCulture).PadLeft(p + 1, '0');
            return (Sign + s[..^p], s[^p..].TrimEnd('0'));
        }

        /// <summary>One integer digit, the rest of the significant digits, and the decimal exponent.</summary>
        public (string Int, string Frac, int Exp) Scientific() =>
            Significant.Length == 0 ? (Sign + "0", "", 0) : (Sign + Significant[..1], Significant[1..], Point - 1);
    }
}
