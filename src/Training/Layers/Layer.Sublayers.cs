using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;

namespace OnnxKeras.Layers;

// Sublayers found automatically in fields and nested collections.
public abstract partial class Layer
{
    /// <summary>Layers owned by this layer, found automatically: fields of type <see cref="Layer"/> or collections of layers.</summary>
    /// <remarks>
    /// Keras tracks a sublayer when it is assigned; here the fields are read. They are read afresh on each access until
    /// the layer is built (by its own <see cref="Build(Shape)"/>, or else until it has completed a call), so sublayers
    /// made in Build or on the first call are found; from then on the list is cached (a container that changes later
    /// calls <see cref="InvalidateSublayers"/>).
    /// </remarks>
    public virtual IReadOnlyList<Layer> Sublayers => sublayers ?? (sublayersSettled ? sublayers = DiscoverSublayers() : DiscoverSublayers());

    private IReadOnlyList<Layer>? sublayers;
    private bool sublayersSettled;

    /// <summary>After a completed call of a built layer, or the build of a layer with its own Build: its sublayers exist
    /// now, so the list may be cached.</summary>
    private void SettleSublayers()
    {
        if (!Built || sublayersSettled) return;
        sublayersSettled = true;
        sublayers = null;
    }

    private static readonly ConcurrentDictionary<Type, bool> DefaultBuild = new();

    /// <summary>Whether the layer's type keeps the default <see cref="Build(Shape)"/> (Keras's <c>utils.is_default(self.build)</c>);
    /// a subclassed <see cref="Models.Model"/>'s Build is the default one too.</summary>
    private bool HasDefaultBuild => DefaultBuild.GetOrAdd(GetType(), static t =>
    {
        static bool IsDefault(MethodInfo? m) => m?.DeclaringType == typeof(Layer) || m?.DeclaringType == typeof(Models.Model);
        return IsDefault(t.GetMethod(nameof(Build), [typeof(Shape)])) && IsDefault(t.GetMethod(nameof(Build), [typeof(IReadOnlyList<Shape>)]));
    });

    /// <summary>
    /// Keras 3's <c>_maybe_build</c> for a layer without a build of its own whose sublayers are not built yet
    /// (<c>might_have_unbuilt_state</c>): it runs the layer's call once (here on zeros) so the sublayers create their
    /// weights now, and the layer's parameter count and weights are complete as soon as it is built. Inputs with an unknown
    /// dimension other than the batch are left to the first real call (zeros of a guessed size could fix a sublayer to it),
    /// and so is a call that fails on zeros: as in Keras, the first real call then builds the sublayers and reports its error.
    /// A layer with its own Build has made its sublayers there, so its list is settled now.
    /// </summary>
    private void BuildSublayersByRunning(IReadOnlyList<Shape> inputShapes)
    {
        if (!HasDefaultBuild)
        {
            SettleSublayers();
            return;
        }
        if (inputShapes.Any(s => s.Skip(1).Any(d => d is null)) || Sublayers.All(l => l.Built)) return;
        try
        {
            RunOnZeros(inputShapes, 1);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or InsufficientExecutionStackException))
        {
            // Left to the first real call, which raises the error if the layer cannot run (Keras warns here).
        }
    }

    /// <summary>Forgets the cached sublayer list (after a container changes).</summary>
    protected void InvalidateSublayers() => sublayers = null;

    private List<Layer> DiscoverSublayers()
    {
        var found = new List<Layer>();
        foreach (var f in LayerFields.GetOrAdd(GetType(), FieldsThatMayHoldLayers)) Collect(f.GetValue(this), found, 0);
        return found.Distinct().ToList();
    }

    private static readonly ConcurrentDictionary<Type, FieldInfo[]> LayerFields = new();

    /// <summary>The instance fields of a layer type (below <see cref="Layer"/>) whose type could hold a layer, in declaration order.</summary>
    private static FieldInfo[] FieldsThatMayHoldLayers(Type type)
    {
        var fields = new List<FieldInfo>();
        for (var t = type; t is not null && t != typeof(Layer); t = t.BaseType)
        {
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                var ft = f.FieldType;
                bool cannot = ft.IsPrimitive || ft.IsEnum || ft == typeof(string) || ft == typeof(decimal) || ft == typeof(Variable)
                    || ft == typeof(KTensor) || ft == typeof(List<Variable>)
                    || ((ft.IsArray || (ft.IsGenericType && typeof(IEnumerable).IsAssignableFrom(ft))) && !MayHoldLayers(ft));
                if (!cannot) fields.Add(f);
            }
        }
        return [.. fields];
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
