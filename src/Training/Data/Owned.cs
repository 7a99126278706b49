using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>
/// Moves element tensors across dispose scopes. A stage that keeps elements past the step that read them (a shuffle
/// buffer, a cache, a background thread) holds <see cref="Detach"/>ed handles, and hands them back with
/// <see cref="Adopt"/>, so the reader's scope owns what it gets and the stage's copies never die under it.
/// </summary>
internal static class Owned
{
    /// <summary>New handles on the same storage, in no dispose scope (the caller must dispose them).</summary>
    public static Tensor[] Detach(Tensor[] element)
    {
        var result = new Tensor[element.Length];
        for (int i = 0; i < element.Length; i++)
        {
            result[i] = element[i].alias();
            result[i].DetachFromDisposeScope();
        }
        return result;
    }

    /// <summary>Handles registered in the current thread's dispose scope (if any); the detached handles are disposed.</summary>
    public static Tensor[] Adopt(Tensor[] detached)
    {
        var result = new Tensor[detached.Length];
        for (int i = 0; i < detached.Length; i++)
        {
            result[i] = detached[i].alias();
            detached[i].Dispose();
        }
        return result;
    }

    public static void Dispose(Tensor[]? element)
    {
        if (element is null) return;
        foreach (var t in element) t.Dispose();
    }
}
