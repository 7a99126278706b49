using System.Collections;
using System.Runtime.CompilerServices;

namespace OnnxKeras;

/// <summary>
/// An integer or a tuple of integers, as Keras accepts for <c>kernel_size</c>, <c>strides</c>, <c>dilation_rate</c>,
/// <c>pool_size</c> and <c>size</c>: <c>3</c> means 3 along every spatial axis, <c>(3, 5)</c> or <c>[3, 5]</c> gives
/// one value per axis. Layers expand it to one value per axis (Keras's <c>standardize_tuple</c>) and store the tuple in
/// their config.
/// </summary>
/// <example><code>new Conv2D(32, kernelSize: 3); new Conv2D(32, kernelSize: (3, 5), strides: 2);</code></example>
[CollectionBuilder(typeof(IntTuple), nameof(Create))]
public readonly struct IntTuple : IReadOnlyList<int>
{
    private readonly int[]? values;

    /// <summary>A tuple of the given values (one value stands for every axis).</summary>
    public IntTuple(params int[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0) throw new ArgumentException("An IntTuple needs at least one value.", nameof(values));
        this.values = (int[])values.Clone();
    }

    /// <summary>Collection-expression builder: <c>IntTuple t = [3, 3];</c>.</summary>
    public static IntTuple Create(ReadOnlySpan<int> values) => new(values.ToArray());

    /// <summary>Number of values given (1 for a single integer).</summary>
    public int Count => values?.Length ?? 0;

    /// <summary>The value at <paramref name="index"/>.</summary>
    public int this[int index] => (values ?? [])[index];

    /// <summary>One value for every axis.</summary>
    public static implicit operator IntTuple(int value) => new(value);

    /// <summary>Two values (height, width).</summary>
    public static implicit operator IntTuple((int, int) values) => new(values.Item1, values.Item2);

    /// <summary>Three values (depth, height, width).</summary>
    public static implicit operator IntTuple((int, int, int) values) => new(values.Item1, values.Item2, values.Item3);

    /// <summary>Values from an array (as stored in configs).</summary>
    public static implicit operator IntTuple(int[] values) => new(values);

    /// <summary>
    /// One value per axis for <paramref name="rank"/> axes (a single value is repeated), checked to be positive
    /// (or non-negative with <paramref name="allowZero"/>). Errors name <paramref name="owner"/> and <paramref name="argument"/>.
    /// </summary>
    public int[] Expand(int rank, string owner, string argument, bool allowZero = false)
    {
        if (values is null) throw new ArgumentException($"{owner}: {argument} must be given.", argument);
        if (values.Length != 1 && values.Length != rank)
            throw new ArgumentException($"{owner}: {argument} must be an integer or a tuple of {rank} integers; got {this}.", argument);
        if (values.Any(v => v < 0 || (v == 0 && !allowZero)))
            throw new ArgumentException($"{owner}: {argument} must contain only {(allowZero ? "non-negative" : "positive")} integers; got {this}.", argument);
        return values.Length == rank ? (int[])values.Clone() : Enumerable.Repeat(values[0], rank).ToArray();
    }

    /// <inheritdoc />
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)(values ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Python's text of the value: <c>3</c> or <c>(3, 5)</c>.</summary>
    public override string ToString() => values is null ? "None" : values.Length == 1 ? $"{values[0]}" : $"({string.Join(", ", values)})";
}
