using System.Collections;
using System.Reflection;

namespace OnnxKeras.Layers;

// Sublayers found automatically in fields and nested collections.
public abstract partial class Layer
{
    /// <summary>Layers owned by this layer, found automatically: fields of type <see cref="Layer"/> or collections of layers.</summary>
    public virtual IReadOnlyList<Layer> Sublayers => sublayers ??= DiscoverSublayers();

    private IReadOnlyList<Layer>? sublayers;

    /// <summary>Forgets the cached sublayer list (after a container changes).</summary>
    protected void InvalidateSublayers() => sublayers = null;

    private List<Layer> DiscoverSublayers()
    {
        var found = new List<Layer>();
        for (var t = GetType(); t is not null && t != typeof(Layer); t = t.BaseType)
        {
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (f.FieldType != typeof(List<Variable>)) Collect(f.GetValue(this), found, 0);
            }
        }
        return found.Distinct().ToList();
    }

    /// <summary>Arrays and generic collections whose element types could be or contain layers (not float[] or List&lt;int&gt;).</summary>
    private static bool MayHoldLayers(Type type)
    {
        var elements = type.IsArray ? [type.GetElementType()!] : type.IsGenericType ? type.GetGenericArguments() : [];
        return elements.Any(t => !t.IsPrimitive && !t.IsEnum && t != typeof(string) && t != typeof(decimal));
    }

    /// <summary>
    /// Layers in a field's value, in order: the value itself, or the items of a collection, a dictionary's values or a
    /// tuple's elements, nested to any depth (Keras tracks layers in nested lists, dicts and tuples too).
    /// </summary>
    private void Collect(object? value, List<Layer> found, int depth)
    {
        if (depth > 8) return;
        switch (value)
        {
            case Layer l:
                if (!ReferenceEquals(l, this)) found.Add(l);
                break;
            case string or Variable or KTensor or null:
                break;
            case IDictionary d:
                foreach (var v in d.Values) Collect(v, found, depth + 1);
                break;
            case System.Runtime.CompilerServices.ITuple t:
                for (int i = 0; i < t.Length; i++) Collect(t[i], found, depth + 1);
                break;
            case IEnumerable e when MayHoldLayers(value.GetType()):
                foreach (var item in e) Collect(item, found, depth + 1);
                break;
        }
    }
}
