using System.Globalization;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

namespace OnnxKeras.Callbacks;

/// <summary>Helpers shared by the built-in callbacks (learning rate access, Keras-style logs, Python number formatting).</summary>
internal static class CallbackSupport
{
    /// <summary>
    /// Adds <paramref name="key"/> to the epoch logs, as Keras callbacks do with <c>logs["learning_rate"] = ...</c>.
    /// Fit passes a mutable dictionary, so callbacks after this one (and <see cref="History"/>, which runs last) see it.
    /// </summary>
    public static void AddLog(IReadOnlyDictionary<string, double> logs, string key, double value)
    {
        if (logs is IDictionary<string, double> mutable) mutable[key] = value;
    }

    /// <summary>The optimizer's current learning rate (a schedule is read at the current step, like Keras's <c>optimizer.learning_rate</c>).</summary>
    public static double GetLearningRate(Model model) => model.Optimizer.CurrentLearningRate;

    /// <summary>Sets a constant learning rate; a schedule cannot be set (Keras raises a TypeError too).</summary>
    public static void SetLearningRate(Model model, double value, string who)
    {
        var optimizer = model.Optimizer;
        if (optimizer.LearningRate is ConstantLearningRate constant) constant.Value = value;
        else throw new InvalidOperationException($"{who}: the optimizer's learning rate is a {optimizer.LearningRate.GetType().Name} " +
            $"schedule, so it cannot be set. Compile with a constant learning rate to use {who}.");
    }

    /// <summary>
    /// Python's <c>repr(float)</c>: shortest round-trip digits, positional for exponents in [-4, 16), else scientific
    /// (<c>0.0001</c>, <c>1e-05</c>, <c>1e+16</c>, <c>2.0</c>, <c>nan</c>, <c>inf</c>).
    /// </summary>
    public static string PythonRepr(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsPositiveInfinity(v)) return "inf";
        if (double.IsNegativeInfinity(v)) return "-inf";
        if (v == 0) return double.IsNegative(v) ? "-0.0" : "0.0";
        string sign = v < 0 ? "-" : "";
        // "E16" is not shortest; "R" is. Take its digits and decimal exponent apart.
        string r = Math.Abs(v).ToString("R", CultureInfo.InvariantCulture);
        int exp = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        int dot = r.IndexOf('.');
        string intPart = dot >= 0 ? r[..dot] : r;
        string frac = dot >= 0 ? r[(dot + 1)..] : "";
        string digits = (intPart + frac).TrimStart('0');
        int leadingZeros = (intPart + frac).Length - digits.Length;
        // value = 0.digits * 10^decpt
        int decpt = intPart.Length - leadingZeros + exp;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        if (decpt > -4 && decpt <= 16)
        {
            if (decpt <= 0) return sign + "0." + new string('0', -decpt) + digits;
            if (digits.Length <= decpt) return sign + digits + new string('0', decpt - digits.Length) + ".0";
            return sign + digits[..decpt] + "." + digits[decpt..];
        }
        int x = decpt - 1;
        string mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
        return sign + mantissa + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
    }
}
