namespace OnnxKeras.Layers;

/// <summary>
/// Dot product of two inputs along an axis of each (Keras's <c>Dot</c>), for rank-2 inputs [batch, d] giving [batch, 1]
/// and rank-3 inputs giving batched matrix products; with <see cref="Normalize"/> each input is L2-normalized first
/// (cosine proximity).
/// </summary>
public sealed class Dot : Merge
{
    /// <summary>Creates the layer; <paramref name="axes"/> is the axis of each input that is summed over.</summary>
    public Dot(int axes, bool normalize = false) : this([axes, axes], normalize) { }

    /// <summary>Creates the layer with a separate axis for each input.</summary>
    public Dot(int[] axes, bool normalize = false)
    {
        if (axes.Length != 2) throw new ArgumentException($"Dot needs one axis or two (one per input); got {axes.Length}.");
        Axes = axes;
        Normalize = normalize;
    }

    /// <summary>The summed axis of each input.</summary>
    public int[] Axes { get; }

    /// <summary>Whether inputs are L2-normalized along the axes first.</summary>
    public bool Normalize { get; }

    /// <inheritdoc />
    protected override int MaxInputs => 2;

    /// <inheritdoc />
    protected override Shape CheckShapes(IReadOnlyList<Shape> shapes)
    {
        var (a, b) = (shapes[0], shapes[1]);
        if (a.Rank < 2 || b.Rank < 2 || a.Rank > 3 || b.Rank > 3 || a.Rank != b.Rank)
            throw new ArgumentException($"Layer '{Name}' (Dot) supports two inputs of rank 2 or 3 each; got shapes {a}, {b}.");
        int ax = Norm(Axes[0], a.Rank), bx = Norm(Axes[1], b.Rank);
        if (a[ax] is long da && b[bx] is long db && da != db)
            throw new ArgumentException($"Layer '{Name}' (Dot): dimension {ax} of {a} and dimension {bx} of {b} must match.");
        var dims = new List<long?> { a[0] };
        for (int i = 1; i < a.Rank; i++) if (i != ax) dims.Add(a[i]);
        for (int i = 1; i < b.Rank; i++) if (i != bx) dims.Add(b[i]);
        if (dims.Count == 1) dims.Add(1);
        return new Shape([.. dims]);
    }

    private static int Norm(int axis, int rank) => axis < 0 ? rank + axis : axis;

    /// <inheritdoc />
    protected override KTensor MergeFunction(IReadOnlyList<KTensor> inputs)
    {
        var (a, b) = (inputs[0], inputs[1]);
        int ax = Norm(Axes[0], a.Rank), bx = Norm(Axes[1], b.Rank);
        if (Normalize)
        {
            a = Ops.Divide(a, Ops.Sqrt(Ops.Clip(Ops.Sum(Ops.Square(a), ax, keepDims: true), 1e-12, double.PositiveInfinity)));
            b = Ops.Divide(b, Ops.Sqrt(Ops.Clip(Ops.Sum(Ops.Square(b), bx, keepDims: true), 1e-12, double.PositiveInfinity)));
        }
        if (a.Rank == 2) return Ops.Sum(Ops.Multiply(a, b), 1, keepDims: true);
        // rank 3: move the summed axes so that a is [batch, m, k] and b is [batch, k, n].
        var a3 = ax == 2 ? a : Ops.Transpose(a, 0, 2, 1);
        var b3 = bx == 1 ? b : Ops.Transpose(b, 0, 2, 1);
        return Ops.MatMul(a3, b3);
    }

    /// <summary>As in Keras, a dot product drops the inputs' masks.</summary>
    public override bool SupportsMasking => false;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("axes", Axes).With("normalize", Normalize);
}
