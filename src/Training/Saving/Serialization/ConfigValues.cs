using System.Reflection;

namespace OnnxKeras.Layers;

/// <summary>Conversions between config values and constructor argument types.</summary>
internal static class ConfigValues
{
    /// <summary>
    /// <paramref name="value"/> as <paramref name="target"/>; objects of a kind <see cref="KerasObjects"/> knows go
    /// through it. Numbers and booleans are taken only from config numbers and
    /// booleans: a string (<c>"units": "16"</c>), a boolean where a number is expected, a fraction where an integer is
    /// expected (<c>1.5</c>; a whole <c>16.0</c> is taken) or a number out of the type's range is refused with
    /// <see cref="InvalidDataException"/> naming <paramref name="what"/> (the layer and key).
    /// </summary>
    public static object? Convert(object? value, Type target, string what)
    {
        if (value is null) return null;
        var type = Nullable.GetUnderlyingType(target) ?? target;
        if (type.IsInstanceOfType(value)) return value;
        // Keras 3 writes tensor-valued arguments (e.g. Masking's mask_value) as {"class_name": "__tensor__" or
        // "__numpy__", "config": {"value": ..., "dtype": ...}}; a scalar argument takes the single value.
        if (value is IDictionary<string, object?> tensorValue && tensorValue.TryGetValue("class_name", out var tc) && tc is "__tensor__" or "__numpy__"
            && tensorValue.TryGetValue("config", out var tcfg) && tcfg is IDictionary<string, object?> tensorConfig
            && tensorConfig.TryGetValue("value", out var inner))
        {
            if (!type.IsArray && inner is System.Collections.IEnumerable one and not string)
            {
                var items = one.Cast<object?>().ToList();
                if (items.Count != 1)
                    throw new ArgumentException($"Config value for {what} is a tensor of {items.Count} values; expected a single {type.Name}.");
                inner = items[0];
            }
            return Convert(inner, target, what);
        }
        if (IsInteger(type) || IsReal(type) || type == typeof(bool)) return Scalar(value, type, what);
        try
        {
            // Objects of a kind the deserializer knows (activations, initializers, regularizers, layers, schedules, ...).
            if (Saving.ObjectKind.Of(type) is { } kind && value is string or IDictionary<string, object?>)
            {
                var obj = KerasObjects.Deserialize(value, kind, what);
                return obj is null || type.IsInstanceOfType(obj)
                    ? obj
                    : throw new InvalidDataException($"Config value for {what} is a {obj.GetType().Name}; expected a {type.Name}.");
            }
            if (type == typeof(Shape) && value is System.Collections.IEnumerable dims and not string)
                return new Shape(dims.Cast<object?>().Select(d => Dimension(d, what)).ToArray());
            // Keras takes a single int for a one-axis shape (EinsumDense and MultiHeadAttention output_shape).
            if (type == typeof(Shape) && value is long or int) return new Shape(Dimension(value, what));
            if (FromImplicitOperator(value, type, what) is { } converted) return converted;
            // Any other value where an object is expected ("activation": 5, a list for an initializer): refused by the deserializer.
            if (Saving.ObjectKind.Of(type) is { } objectKind) return KerasObjects.Deserialize(value, objectKind, what);
            // Keras accepts a single int where it takes a list of axes (LayerNormalization axis, PReLU shared_axes).
            if (type.IsArray && value is not System.Collections.IEnumerable) return Convert(new[] { value }, type, what);
            if (type.IsArray && value is System.Collections.IEnumerable items)
            {
                var list = items.Cast<object?>().Select(x => Convert(x, type.GetElementType()!, what)).ToArray();
                var arr = Array.CreateInstance(type.GetElementType()!, list.Length);
                for (int k = 0; k < list.Length; k++) arr.SetValue(list[k], k);
                return arr;
            }
            if (type.IsEnum && value is string e) return EnumValue(type, e, what);
            return System.Convert.ChangeType(value, type, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException)
        {
            throw new ArgumentException($"Config value for {what} ({value}) cannot be converted to {type.Name}.", ex);
        }
    }

    /// <summary>
    /// A Keras string option as an enum member (<c>fan_avg</c> is <see cref="FanMode.FanAvg"/>). Keras 2's VarianceScaling
    /// distribution <c>normal</c> meant the truncated normal (Keras 2.2's documentation), so it reads as that.
    /// </summary>
    private static object EnumValue(Type type, string text, string what)
    {
        if (type == typeof(ScalingDistribution) && text == "normal") return ScalingDistribution.TruncatedNormal;
        if (!text.Contains(',', StringComparison.Ordinal)
            && Enum.TryParse(type, text.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var member)
            && Enum.IsDefined(type, member!)) return member!;
        var valid = Enum.GetNames(type).Select(n => $"'{Layer.SnakeCase(n)}'");
        throw new InvalidDataException($"Config value for {what} is '{text}'; expected one of {string.Join(", ", valid)}.");
    }

    private static bool IsInteger(Type t) => t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte)
        || t == typeof(sbyte) || t == typeof(uint) || t == typeof(ulong) || t == typeof(ushort);

    private static bool IsReal(Type t) => t == typeof(double) || t == typeof(float) || t == typeof(decimal);

    private static object Scalar(object value, Type type, string what)
    {
        string expected = type == typeof(bool) ? "true or false" : IsInteger(type) ? $"an integer ({type.Name})" : $"a number ({type.Name})";
        string got = value switch
        {
            string s => $"the string \"{(s.Length <= 40 ? s : s[..40] + "...")}\"",
            bool b => b ? "true" : "false",
            System.Collections.IEnumerable => "a list",
            _ => System.Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "?",
        };
        bool number = value is long or int or double or float or decimal or short or byte or sbyte or uint or ulong or ushort;
        if (value is System.Collections.IEnumerable and not string)
            throw new ArgumentException($"Config value for {what} is {got}; expected {expected}."); // another overload may take a list
        if (type == typeof(bool) ? value is not bool : !number)
            throw new InvalidDataException($"Config value for {what} is {got}; expected {expected}.");
        if (type == typeof(bool)) return value;
        if (IsInteger(type) && value is double or float or decimal)
        {
            double d = System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
            if (double.IsNaN(d) || double.IsInfinity(d) || d != Math.Floor(d))
                throw new InvalidDataException($"Config value for {what} is {got}; expected {expected}, not a fraction.");
        }
        try
        {
            return System.Convert.ChangeType(value, type, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (OverflowException e)
        {
            throw new InvalidDataException($"Config value for {what} is {got}, out of the range of {type.Name}.", e);
        }
    }

    /// <summary>One dimension of a shape in a config: null (unknown) or a non-negative integer.</summary>
    internal static long? Dimension(object? d, string what)
    {
        if (d is null) return null;
        long v = (long)Scalar(d, typeof(long), what);
        return v >= 0 ? v : throw new InvalidDataException($"Config value for {what} has the dimension {v}; dimensions are non-negative (null for unknown).");
    }

    /// <summary>
    /// Argument types that take several forms (IntTuple: an int or an int array) convert through their public implicit
    /// operator from an array (for list values) or from a primitive (for scalar values); null when none applies.
    /// </summary>
    private static object? FromImplicitOperator(object value, Type type, string what)
    {
        if (type.IsPrimitive || type == typeof(string)) return null;
        foreach (var op in type.GetMethods(BindingFlags.Public | BindingFlags.Static))
        {
            if (op.Name != "op_Implicit" || op.ReturnType != type) continue;
            var from = op.GetParameters()[0].ParameterType;
            bool fits = from.IsArray ? value is System.Collections.IEnumerable and not string
                : from.IsPrimitive && value is IConvertible and not string;
            if (fits) return op.Invoke(null, [Convert(value, from, what)]);
        }
        return null;
    }
}
