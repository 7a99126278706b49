using System.Globalization;
using System.Numerics;
using System.Text;

namespace OnnxKeras.Callbacks;

/// <summary>
/// Python's <c>str.format</c> for file name templates such as <c>model-{epoch:02d}-{val_loss:.2f}.weights.h5</c>:
/// <c>{name}</c> and <c>{name:spec}</c> fields (<c>{{</c> and <c>}}</c> for braces) with the format-spec mini-language
/// <c>[[fill]align][sign][#][0][width][,|_][.precision][type]</c> for integers (<c>d</c>, <c>x</c>, <c>X</c>, <c>o</c>,
/// <c>b</c>, or any float type) and floats (<c>f</c>, <c>F</c>, <c>e</c>, <c>E</c>, <c>g</c>, <c>G</c>, <c>%</c>, none). Numbers are
/// rounded exactly (half to even on the binary value), as CPython does.
/// </summary>
internal static class PythonFormat
{
    /// <summary>Formats <paramref name="template"/> with named integer and float values; a missing name throws <see cref="KeyNotFoundException"/>.</summary>
    public static string Format(string template, IReadOnlyDictionary<string, object> values)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < template.Length; i++)
        {
            char c = template[i];
            if (c == '{')
            {
                if (i + 1 < template.Length && template[i + 1] == '{')
                {
                    sb.Append('{');
                    i++;
                    continue;
                }
                int end = template.IndexOf('}', i + 1);
                if (end < 0) throw new FormatException($"Single '{{' encountered in format string '{template}'.");
                string field = template[(i + 1)..end];
                int colon = field.IndexOf(':');
                string name = colon >= 0 ? field[..colon] : field;
                string spec = colon >= 0 ? field[(colon + 1)..] : "";
                int bang = name.IndexOf('!');
                bool repr = false;
                if (bang >= 0)
                {
                    repr = name[(bang + 1)..] is "r" or "s" or "a";
                    name = name[..bang];
                }
                if (!values.TryGetValue(name, out var value)) throw new KeyNotFoundException($"'{name}'");
                sb.Append(repr ? FormatValue(value, "") : FormatValue(value, spec));
                i = end;
            }
            else if (c == '}')
            {
                if (i + 1 < template.Length && template[i + 1] == '}') i++;
                else throw new FormatException($"Single '}}' encountered in format string '{template}'.");
                sb.Append('}');
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Formats one value (<c>int</c>, <c>long</c> or <c>double</c>) with a format spec.</summary>
    public static string FormatValue(object value, string spec)
    {
        int p = 0;
        char fill = ' ';
        char? align = null;
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=')
        {
            fill = spec[0];
            align = spec[1];
            p = 2;
        }
        else if (spec.Length >= 1 && spec[0] is '<' or '>' or '^' or '=')
        {
            align = spec[0];
            p = 1;
        }
        char sign = '-';
        if (p < spec.Length && spec[p] is '+' or '-' or ' ') sign = spec[p++];
        bool alternate = false;
        if (p < spec.Length && spec[p] == '#')
        {
            alternate = true;
            p++;
        }
        if (p < spec.Length && spec[p] == '0')
        {
            if (align is null)
            {
                fill = '0';
                align = '=';
            }
            p++;
        }
        int width = 0;
        while (p < spec.Length && char.IsAsciiDigit(spec[p])) width = width * 10 + (spec[p++] - '0');
        char? grouping = null;
        if (p < spec.Length && spec[p] is ',' or '_') grouping = spec[p++];
        int? precision = null;
        if (p < spec.Length && spec[p] == '.')
        {
            p++;
            int start = p;
            while (p < spec.Length && char.IsAsciiDigit(spec[p])) p++;
            if (p == start) throw new FormatException($"Format specifier missing precision in '{spec}'.");
            precision = int.Parse(spec[start..p], CultureInfo.InvariantCulture);
        }
        char? type = p < spec.Length ? spec[p++] : null;
        if (p != spec.Length) throw new FormatException($"Invalid format specifier '{spec}'.");

        bool negative;
        string body;
        switch (value)
        {
            case int or long:
                long n = Convert.ToInt64(value, CultureInfo.InvariantCulture);
                if (type is null or 'd' or 'x' or 'X' or 'o' or 'b' or 'n')
                {
                    if (precision is not null) throw new FormatException("Precision not allowed in integer format specifier.");
                    negative = n < 0;
                    BigInteger abs = BigInteger.Abs(n);
                    body = type switch
                    {
                        'x' => (alternate ? "0x" : "") + ToBase(abs, 16, false),
                        'X' => (alternate ? "0X" : "") + ToBase(abs, 16, true),
                        'o' => (alternate ? "0o" : "") + ToBase(abs, 8, false),
                        'b' => (alternate ? "0b" : "") + ToBase(abs, 2, false),
                        _ => abs.ToString(CultureInfo.InvariantCulture),
                    };
                }
                else (negative, body) = FloatBody(n, type, precision, alternate);
                break;
            case double or float:
                double d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (type is 'd' or 'x' or 'X' or 'o' or 'b' or 'n') throw new FormatException($"Unknown format code '{type}' for object of type 'float'.");
                (negative, body) = FloatBody(d, type, precision, alternate);
                break;
            default:
                throw new FormatException($"Cannot format a {value.GetType().Name}.");
        }
        if (grouping is char g) body = Group(body, g);
        string signText = negative ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
        int pad = width - signText.Length - body.Length;
        if (pad <= 0) return signText + body;
        return (align ?? '>') switch
        {
            '<' => signText + body + new string(fill, pad),
            '^' => new string(fill, pad / 2) + signText + body + new string(fill, pad - pad / 2),
            '=' => signText + new string(fill, pad) + body,
            _ => new string(fill, pad) + signText + body,
        };
    }

    private static string ToBase(BigInteger v, int radix, bool upper)
    {
        if (v.IsZero) return "0";
        const string digits = "0123456789abcdef";
        var sb = new StringBuilder();
        while (v > 0)
        {
            sb.Insert(0, digits[(int)(v % radix)]);
            v /= radix;
        }
        return upper ? sb.ToString().ToUpperInvariant() : sb.ToString();
    }

    private static string Group(string body, char separator)
    {
        int end = 0;
        while (end < body.Length && char.IsAsciiDigit(body[end])) end++;
        string intPart = body[..end];
        var sb = new StringBuilder();
        for (int i = 0; i < intPart.Length; i++)
        {
            if (i > 0 && (intPart.Length - i) % 3 == 0) sb.Append(separator);
            sb.Append(intPart[i]);
        }
        return sb + body[end..];
    }

    private static (bool Negative, string Body) FloatBody(double v, char? type, int? precision, bool alternate)
    {
        bool negative = double.IsNegative(v) && !double.IsNaN(v);
        double a = Math.Abs(v);
        bool upper = type is 'F' or 'E' or 'G';
        if (double.IsNaN(v)) return (false, upper ? "NAN" : "nan");
        if (double.IsInfinity(v)) return (negative, (upper ? "INF" : "inf") + (type == '%' ? "%" : ""));
        string body;
        switch (type)
        {
            case 'f' or 'F':
                body = Fixed(a, precision ?? 6, alternate);
                break;
            case '%':
                body = Fixed(a * 100, precision ?? 6, alternate) + "%";
                break;
            case 'e' or 'E':
                body = Scientific(a, precision ?? 6, alternate, upper);
                break;
            case 'g' or 'G':
                body = General(a, precision ?? 6, alternate, upper, keepPoint: false);
                break;
            case null:
                string repr = CallbackSupport.PythonRepr(a);
                body = precision is int pr ? General(a, pr, alternate, false, keepPoint: true) : repr;
                break;
            default:
                throw new FormatException($"Unknown format code '{type}' for object of type 'float'.");
        }
        return (negative, body);
    }

    /// <summary>The exact value of a finite non-negative double as num / den.</summary>
    private static (BigInteger Num, BigInteger Den) Exact(double a)
    {
        long bits = BitConverter.DoubleToInt64Bits(a);
        int exp = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exp == 0) exp = 1;
        else mantissa |= 1L << 52;
        exp -= 1075;
        return exp >= 0 ? (new BigInteger(mantissa) << exp, BigInteger.One) : (new BigInteger(mantissa), BigInteger.One << -exp);
    }

    private static BigInteger RoundHalfEven(BigInteger num, BigInteger den)
    {
        var q = BigInteger.DivRem(num, den, out var r);
        var twice = 2 * r;
        if (twice > den || (twice == den && !q.IsEven)) q += 1;
        return q;
    }

    /// <summary>a * 10^shift rounded to an integer (half to even).</summary>
    private static BigInteger Scaled(double a, int shift)
    {
        var (num, den) = Exact(a);
        if (shift >= 0) num *= BigInteger.Pow(10, shift);
        else den *= BigInteger.Pow(10, -shift);
        return RoundHalfEven(num, den);
    }

    private static string Fixed(double a, int precision, bool alternate)
    {
        string digits = Scaled(a, precision).ToString(CultureInfo.InvariantCulture).PadLeft(precision + 1, '0');
        if (precision == 0) return alternate ? digits + "." : digits;
        return digits[..^precision] + "." + digits[^precision..];
    }

    /// <summary>precision + 1 significant digits and the decimal exponent of the first.</summary>
    private static (string Digits, int Exponent) Significant(double a, int precision)
    {
        if (a == 0) return (new string('0', precision + 1), 0);
        int k = (int)Math.Floor(Math.Log10(a));
        var limit = BigInteger.Pow(10, precision + 1);
        for (int attempt = 0; attempt < 4; attempt++)
        {
            var q = Scaled(a, precision - k);
            if (q >= limit) k++;
            else if (q < limit / 10) k--;
            else return (q.ToString(CultureInfo.InvariantCulture), k);
        }
        throw new InvalidOperationException("PythonFormat: exponent search did not converge.");
    }

    private static string Scientific(double a, int precision, bool alternate, bool upper)
    {
        var (digits, exp) = Significant(a, precision);
        string mantissa = digits.Length == 1 ? digits + (alternate ? "." : "") : digits[0] + "." + digits[1..];
        return mantissa + (upper ? "E" : "e") + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
    }

    private static string General(double a, int precision, bool alternate, bool upper, bool keepPoint)
    {
        if (precision == 0) precision = 1;
        var (_, exp) = Significant(a, precision - 1);
        if (exp >= -4 && exp < precision)
        {
            string f = Fixed(a, precision - 1 - exp, alternate);
            if (!alternate && f.Contains('.', StringComparison.Ordinal)) f = f.TrimEnd('0').TrimEnd('.');
            if (keepPoint && !f.Contains('.', StringComparison.Ordinal)) f += ".0";
            return f;
        }
        string s = Scientific(a, precision - 1, alternate, upper);
        if (!alternate)
        {
            int e = s.IndexOfAny(['e', 'E']);
            string m = s[..e];
            if (m.Contains('.', StringComparison.Ordinal)) m = m.TrimEnd('0').TrimEnd('.');
            s = m + s[e..];
        }
        return s;
    }
}
