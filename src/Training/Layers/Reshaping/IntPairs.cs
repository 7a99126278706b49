namespace OnnxKeras;

/// <summary>
/// (before, after) amounts per spatial axis, as Keras accepts for <c>ZeroPadding2D/3D.padding</c> and
/// <c>Cropping2D/3D.cropping</c>: <c>1</c> means 1 on every side, <c>(1, 2)</c> means 1 above and below and 2 left and right,
/// <c>((1, 2), (3, 4))</c> gives (top, bottom) and (left, right). Configs store the explicit form.
/// </summary>
/// <example><code>new ZeroPadding2D(((0, 1), (0, 1)))</code></example>
public readonly struct IntPairs
{
    private readonly int[][]? values;

    /// <summary>The amounts as nested arrays: [[n]] for all sides, [[a], [b]] per axis, [[before, after], ...] per axis and side.</summary>
    public IntPairs(int[][] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0 || values.Any(v => v is null || v.Length is < 1 or > 2))
            throw new ArgumentException("IntPairs needs one entry per axis, each one value or a (before, after) pair.", nameof(values));
        this.values = values.Select(v => (int[])v.Clone()).ToArray();
    }

    /// <summary>The same amount on every side of every axis.</summary>
    public static implicit operator IntPairs(int value) => new([[value]]);

    /// <summary>A symmetric amount per axis: (height, width).</summary>
    public static implicit operator IntPairs((int, int) values) => new([[values.Item1], [values.Item2]]);

    /// <summary>Explicit ((top, bottom), (left, right)).</summary>
    public static implicit operator IntPairs(((int, int), (int, int)) values) =>
        new([[values.Item1.Item1, values.Item1.Item2], [values.Item2.Item1, values.Item2.Item2]]);

    /// <summary>A symmetric amount per axis for three axes: (dim1, dim2, dim3).</summary>
    public static implicit operator IntPairs((int, int, int) values) => new([[values.Item1], [values.Item2], [values.Item3]]);

    /// <summary>Explicit (before, after) pairs for three axes.</summary>
    public static implicit operator IntPairs(((int, int), (int, int), (int, int)) values) =>
        new([[values.Item1.Item1, values.Item1.Item2], [values.Item2.Item1, values.Item2.Item2], [values.Item3.Item1, values.Item3.Item2]]);

    /// <summary>Nested arrays (as stored in configs).</summary>
    public static implicit operator IntPairs(int[][] values) => new(values);

    /// <summary>
    /// One non-negative (before, after) pair per axis for <paramref name="rank"/> axes. Errors name <paramref name="owner"/>
    /// and <paramref name="argument"/>.
    /// </summary>
    public (int Before, int After)[] Expand(int rank, string owner, string argument)
    {
        if (values is null) throw new ArgumentException($"{owner}: {argument} must be given.", argument);
        (int, int)[] pairs;
        if (values.Length == 1 && values[0].Length == 1) pairs = Enumerable.Repeat((values[0][0], values[0][0]), rank).ToArray();
        else if (values.Length == rank) pairs = values.Select(v => v.Length == 1 ? (v[0], v[0]) : (v[0], v[1])).ToArray();
        else throw new ArgumentException($"{owner}: {argument} must be an integer, a tuple of {rank} integers or a tuple of {rank} " +
            $"(before, after) pairs; got {this}.", argument);
        if (pairs.Any(p => p.Item1 < 0 || p.Item2 < 0))
            throw new ArgumentException($"{owner}: {argument} must be non-negative; got {this}.", argument);
        return pairs;
    }

    /// <summary>Python's text of the value, e.g. <c>((1, 1), (2, 2))</c>.</summary>
    public override string ToString() => values is null ? "None"
        : values.Length == 1 && values[0].Length == 1 ? $"{values[0][0]}"
        : "(" + string.Join(", ", values.Select(v => v.Length == 1 ? $"{v[0]}" : $"({v[0]}, {v[1]})")) + ")";
}
