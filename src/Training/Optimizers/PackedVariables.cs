using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Optimizers;

/// <summary>
/// Trainable variables packed into one flat parameter buffer and one flat gradient buffer (the idea of distributed data
/// parallel's gradient-as-bucket-view): each variable's value is a view into <see cref="Parameters"/>, and its gradient,
/// once bound, a view into <see cref="Gradients"/> that backward accumulates into in place. An optimizer update then
/// runs a few whole-buffer operations instead of several per variable.
/// </summary>
internal sealed class PackedVariables : IDisposable
{
    private readonly long[] offsets;
    private readonly long[][] shapes;

    private PackedVariables(IReadOnlyList<Variable> variables)
    {
        offsets = new long[variables.Count];
        shapes = new long[variables.Count][];
        long total = 0;
        for (int i = 0; i < variables.Count; i++)
        {
            offsets[i] = total;
            shapes[i] = variables[i].Value.shape;
            total += variables[i].Size;
        }
        var first = variables[0].Value;
        Parameters = empty(total, first.dtype, first.device).DetachFromDisposeScope();
        Gradients = zeros(total, first.dtype, first.device).DetachFromDisposeScope();
        var parameterViews = ViewsOf(Parameters);
        using (no_grad())
        {
            for (int i = 0; i < variables.Count; i++)
            {
                parameterViews[i].copy_(variables[i].Value);
                variables[i].Rebind(parameterViews[i]);
                parameterViews[i].Dispose();
            }
        }
        GradientViews = ViewsOf(Gradients);
    }

    /// <summary>All parameters, variable after variable, flattened.</summary>
    public Tensor Parameters { get; }

    /// <summary>All gradients, in the same layout as <see cref="Parameters"/>.</summary>
    public Tensor Gradients { get; }

    /// <summary>Each variable's gradient as a view into <see cref="Gradients"/>.</summary>
    public Tensor[] GradientViews { get; }

    /// <summary>Whether the first update found a gradient for every variable, so gradients may be bound to the buffer.</summary>
    public bool Verified { get; set; }

    /// <summary>Whether the gradients of the current step were bound to the buffer before backward.</summary>
    public bool Bound { get; set; }

    /// <summary>
    /// Packs <paramref name="variables"/> when they can share buffers: at least one, all of one floating dtype on one device,
    /// and no per-variable gradient clipping (which needs each variable's own norm); otherwise null.
    /// </summary>
    public static PackedVariables? TryPack(IReadOnlyList<Variable> variables, bool perVariableClipping)
    {
        if (variables.Count == 0 || perVariableClipping) return null;
        var first = variables[0].Value;
        if (!first.is_floating_point()) return null;
        foreach (var v in variables)
        {
            if (v.Value.dtype != first.dtype || v.Value.device_type != first.device_type || v.Value.device_index != first.device_index) return null;
        }
        return new PackedVariables(variables);
    }

    /// <summary>Views of a buffer laid out like <see cref="Parameters"/>, one per variable, in each variable's shape.</summary>
    public Tensor[] ViewsOf(Tensor whole)
    {
        var views = new Tensor[offsets.Length];
        for (int i = 0; i < views.Length; i++)
        {
            long size = shapes[i].Aggregate(1L, (a, b) => a * b);
            using var slice = whole.narrow(0, offsets[i], size);
            views[i] = slice.view(shapes[i]).DetachFromDisposeScope();
        }
        return views;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var g in GradientViews) g.Dispose();
        Gradients.Dispose();
        Parameters.Dispose();
    }
}
