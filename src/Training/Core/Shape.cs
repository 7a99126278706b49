using System.Collections;
using System.Runtime.CompilerServices;

namespace OnnxKeras;

/// <summary>
/// A tensor shape in Keras's sense: a list of dimensions where <c>null</c> means "unknown"
/// (usually the batch dimension, Keras's <c>None</c>). Immutable.
/// </summary>
/// <example><code>Shape s = [null, 28, 28, 1]; Console.WriteLine(s); // (None, 28, 28, 1)</code></example>
[CollectionBuilder(typeof(Shape), nameof(Create))]
public sealed class Shape : IReadOnlyList<long?>, IEquatable<Shape>
{
    private readonly long?[] dims;

    /// <summary>Creates a shape from dimensions; <c>null</c> marks an unknown dimension.</summary>
    public Shape(params long?[] dims)
    {
        foreach (var d in dims)
        {
            if (d is < 0) throw new ArgumentException($"Shape dimensions must be >= 0 or null (unknown); got ({string.Join(", ", dims.Select(Format))}).");
        }
        this.dims = (long?[])dims.Clone();
    }

    /// <summary>Collection-expression builder: <c>Shape s = [32, 10];</c>.</summary>
    public static Shape Create(ReadOnlySpan<long?> dims) => new(dims.ToArray());

    /// <summary>A shape from known dimensions.</summary>
    public static Shape Of(params long[] dims)
    {
        // A loop rather than LINQ: the training step takes the shape of each layer's input every batch.
        var known = new long?[dims.Length];
        for (int i = 0; i < dims.Length; i++) known[i] = dims[i];
        return new(known);
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => dims.Length;

    /// <inheritdoc />
    public int Count => dims.Length;

    /// <inheritdoc />
    public long? this[int index] => dims[index];

    /// <summary>True when every dimension is known.</summary>
    public bool IsFullyDefined => dims.All(d => d.HasValue);

    /// <summary>The dimensions as a <c>long[]</c>; throws when one is unknown.</summary>
    public long[] ToArray() => dims.Select((d, i) => d ?? throw new InvalidOperationException($"Dimension {i} of shape {this} is unknown.")).ToArray();

    /// <summary>The dimensions, unknown ones as null.</summary>
    public long?[] Dims => (long?[])dims.Clone();

    /// <summary>Product of all dimensions (null when one is unknown).</summary>
    public long? NumElements => dims.Aggregate((long?)1, (a, d) => a * d);

    /// <summary>This shape with its last dimension replaced.</summary>
    public Shape WithLast(long? last) => new([.. dims[..^1], last]);

    /// <summary>This shape with a batch dimension (null by default) prepended.</summary>
    public Shape WithBatch(long? batch = null) => new([batch, .. dims]);

    /// <summary>This shape without its first (batch) dimension.</summary>
    public Shape WithoutBatch() => new(dims[1..]);

    /// <summary>Dimensions [start, end).</summary>
    public Shape Slice(int start, int end) => new(dims[start..end]);

    /// <summary>Keras's text form, e.g. <c>(None, 32)</c>.</summary>
    public override string ToString() => dims.Length == 1 ? $"({Format(dims[0])},)" : $"({string.Join(", ", dims.Select(Format))})";

    private static string Format(long? d) => d?.ToString() ?? "None";

    /// <summary>Implicit conversion from known dimensions.</summary>
    public static implicit operator Shape(long[] dims) => Of(dims);

    /// <summary>Implicit conversion from known dimensions.</summary>
    public static implicit operator Shape(int[] dims) => new(dims.Select(d => (long?)d).ToArray());

    /// <inheritdoc />
    public bool Equals(Shape? other) => other is not null && dims.SequenceEqual(other.dims);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Shape);

    /// <inheritdoc />
    public override int GetHashCode() => dims.Aggregate(17, (h, d) => h * 31 + (d?.GetHashCode() ?? -1));

    /// <inheritdoc />
    public IEnumerator<long?> GetEnumerator() => ((IEnumerable<long?>)dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => dims.GetEnumerator();
}
