using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Optimizers;

// The optimizer's state as weights files store it: orders (Keras's, grouped, OnnxKeras's earlier one) and restoring.
public abstract partial class Optimizer
{
    /// <summary>The state tensors (moments, accumulators) in creation order: per kind, one per variable.</summary>
    internal IReadOnlyList<Tensor> Slots => slots;

    /// <summary>
    /// The state tensors in the order Keras 3 lists an optimizer's variables (after the iteration count and the learning
    /// rate), which is the order of its <c>build()</c>: each <c>add_optimizer_variables</c> call (or, in Keras 3.9, each
    /// loop over the variables) creates its kinds interleaved per model variable (Adam: <c>m0, v0, m1, v1, ...</c>), and
    /// calls follow each other (AMSGrad's <c>vhat0, vhat1, ...</c> after them).
    /// </summary>
    internal IReadOnlyList<Tensor> KerasOrderedSlots => Order(OptimizerStateLayout.Keras).Select(i => slots[i]).ToList();

    /// <summary>
    /// Scalar variables Keras creates after the state in <c>build()</c> (Nadam's <c>u_product</c>); written after the state
    /// and ignored when read (they are recomputed from <see cref="Iterations"/>).
    /// </summary>
    internal virtual IReadOnlyList<float> TrailingKerasScalars => [];

    /// <summary>
    /// The kinds of state (AddSlots calls, by creation index) in the order OnnxKeras files written before the state followed
    /// Keras's order stored them (all of one kind, then the next); the creation order unless an optimizer changed it.
    /// </summary>
    private protected virtual IReadOnlyList<int> OnnxKerasV1KindOrder => Enumerable.Range(0, kindCalls.Count).ToArray();

    /// <summary>Indices into <see cref="Slots"/> in the order <paramref name="layout"/> stores them.</summary>
    private int[] Order(OptimizerStateLayout layout)
    {
        int n = built?.Count ?? 0;
        int kinds = kindCalls.Count;
        var order = new List<int>(slots.Count);
        switch (layout)
        {
            case OptimizerStateLayout.Keras:
                for (int k = 0; k < kinds;)
                {
                    int end = k;
                    while (end < kinds && kindCalls[end] == kindCalls[k]) end++;
                    for (int v = 0; v < n; v++)
                    {
                        for (int j = k; j < end; j++) order.Add(j * n + v);
                    }
                    k = end;
                }
                break;
            case OptimizerStateLayout.KerasGrouped:
                for (int i = 0; i < slots.Count; i++) order.Add(i);
                break;
            default:
                foreach (int k in OnnxKerasV1KindOrder)
                {
                    for (int v = 0; v < n; v++) order.Add(k * n + v);
                }
                break;
        }
        return [.. order];
    }

    /// <summary>Whether the variables were packed into flat buffers (then state arrays end with the whole buffer).</summary>
    protected bool IsPacked => packed is not null;

    /// <summary>True once the state exists (after the first update or <see cref="BuildFor"/>).</summary>
    internal bool IsBuilt => built is not null;

    /// <summary>Creates the state for <paramref name="variables"/> without updating them (before restoring saved state).</summary>
    internal void BuildFor(IReadOnlyList<Variable> variables)
    {
        if (built is not null) return;
        EnsureBuilt(variables);
    }

    /// <summary>
    /// Restores the iteration count and the state from a Keras 3 weights file's <c>optimizer/vars/1..</c>
    /// (<paramref name="stored"/>: everything after the iteration count). Which of the file's variables are the learning
    /// rate (Keras writes it only for a constant rate), the state and trailing scalars (Nadam's <c>u_product</c>), and in
    /// which order the state is stored, is decided by <paramref name="source"/>: files that say they follow Keras's order
    /// are read in it; OnnxKeras files from before are read in their grouped order; other files (Keras's own) are read in
    /// the first of Keras's per-variable order, Keras's grouped order (all of one kind, then the next) and the earlier
    /// OnnxKeras order whose shapes match the optimizer's state exactly. When shapes cannot tell the orders apart (all
    /// trainable variables of one shape) the per-variable order, Keras 3.9's, is taken.
    /// </summary>
    /// <exception cref="InvalidDataException">No reading fits (count or shapes), naming <paramref name="what"/>.</exception>
    internal void RestoreState(long iterations, IReadOnlyList<Saving.StoredArray> stored, OptimizerStateSource source, string what)
    {
        if (built is null) throw new InvalidOperationException("RestoreState needs the state built (BuildFor).");
        int lr = LearningRate is ConstantLearningRate ? 1 : 0;
        int trailing = TrailingKerasScalars.Count;
        var readings = source switch
        {
            OptimizerStateSource.KerasOrder => [(OptimizerStateLayout.Keras, lr, trailing)],
            OptimizerStateSource.OnnxKerasV1 => [(OptimizerStateLayout.OnnxKerasV1, 1, 0)],
            _ => new[] { OptimizerStateLayout.Keras, OptimizerStateLayout.KerasGrouped, OptimizerStateLayout.OnnxKerasV1 }
                .SelectMany(l => new[] { (l, lr, trailing), (l, 1, 0), (l, 0, 0), (l, 1, trailing), (l, 0, trailing) }).Distinct().ToArray(),
        };
        foreach (var (layout, lead, trail) in readings)
        {
            if (stored.Count != lead + slots.Count + trail) continue;
            var order = Order(layout);
            bool fits = true;
            for (int j = 0; j < order.Length && fits; j++)
                fits = stored[lead + j].Shape.SequenceEqual(slots[order[j]].shape) && stored[lead + j].Data.LongLength == slots[order[j]].numel();
            if (!fits) continue;
            using (no_grad())
            {
                for (int j = 0; j < order.Length; j++)
                {
                    var slot = slots[order[j]];
                    using var src = tensor(stored[lead + j].Data, slot.shape, slot.dtype);
                    slot.copy_(src);
                }
            }
            Iterations = iterations;
            OnStateRestored();
            return;
        }
        string Shapes(IEnumerable<long[]> shapes) => string.Join(", ", shapes.Select(Saving.WeightFiles.FormatShape));
        throw new InvalidDataException($"{what}: the saved optimizer variables after the iteration count ({stored.Count}: " +
            $"{Shapes(stored.Select(s => s.Shape))}) do not fit optimizer '{Name}' for this model, whose state is {slots.Count} tensors " +
            $"({Shapes(KerasOrderedSlots.Select(t => t.shape))} in Keras's order), after the learning rate when it is constant"
            + (trailing > 0 ? $" and followed by {trailing} scalar(s)" : "") + ".");
    }

    /// <summary>Restores the state read from a weights file (see
    /// <see cref="RestoreState(long, IReadOnlyList{Saving.StoredArray}, OptimizerStateSource, string)"/>).</summary>
    /// <exception cref="InvalidDataException">No reading fits (count or shapes), naming <paramref name="what"/>.</exception>
    internal void RestoreState(long iterations, Saving.OptimizerVariables stored, string what) => RestoreState(iterations, stored, stored.Source, what);
}

/// <summary>Orders in which a weights file may store an optimizer's state (see
/// <see cref="Optimizer.RestoreState(long, IReadOnlyList{Saving.StoredArray}, OptimizerStateSource, string)"/>).</summary>
internal enum OptimizerStateLayout
{
    /// <summary>Keras 3's: per <c>add_optimizer_variables</c> call, interleaved per model variable (<c>m0, v0, m1, v1, ...</c>).</summary>
    Keras,

    /// <summary>Each kind for all variables, then the next kind, in Keras's kind order (some Keras 3 releases after 3.9).</summary>
    KerasGrouped,

    /// <summary>OnnxKeras files written before the state followed Keras's order: grouped, in OnnxKeras's old kind order.</summary>
    OnnxKerasV1,
}

/// <summary>What a weights file says about the order of its optimizer state.</summary>
internal enum OptimizerStateSource
{
    /// <summary>Nothing: a Keras file, or an OnnxKeras weights file from before; the order is inferred from the shapes.</summary>
    Unknown,

    /// <summary>An OnnxKeras file that marks its state as written in Keras's order.</summary>
    KerasOrder,

    /// <summary>An OnnxKeras <c>.keras</c> file without that mark: the grouped order OnnxKeras wrote before.</summary>
    OnnxKerasV1,
}
