using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// A tensor's sizes read axis by axis. TorchSharp 0.107.0's <c>Tensor.shape</c> fills a pinned array through a native
/// callback (about 0.7 us per call on CPU, measured in bench/NOTES.md, "Fit's per-step overhead"); <c>dim()</c> and
/// <c>size(i)</c> are plain calls (about 10 ns each). The training, evaluation and prediction steps read shapes several
/// times per batch, so their hot paths use these instead.
/// </summary>
internal static class TensorSizes
{
    /// <summary>The sizes of <paramref name="t"/>'s axes: the values of <c>t.shape</c>, without its callback.</summary>
    public static long[] Sizes(this Tensor t)
    {
        int rank = (int)t.dim();
        if (rank == 0) return [];
        var sizes = new long[rank];
        for (int i = 0; i < rank; i++) sizes[i] = t.size(i);
        return sizes;
    }
}
