using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace OnnxKeras.Data;

/// <summary>
/// <c>Prefetch</c> (no function) and parallel <c>Map</c>: a background thread reads the input and queues each element
/// (for Map, a pool task running the function, at most <c>parallel</c> at once) in input order; the reader takes them in
/// that order. Elements cross threads detached from any dispose scope and are adopted by the reader's scope.
/// </summary>
internal sealed class BackgroundDataset(Dataset inner, int parallel, Func<Tensor[], Tensor[]>? fn) : Dataset
{
    public override long Cardinality => inner.Cardinality;
    public override bool IsBatched => inner.IsBatched;

    public override IEnumerable<Tensor[]> Elements()
    {
        using var pipe = new BackgroundPipe(inner, parallel, fn);
        while (pipe.Next() is Tensor[] element) yield return element;
    }
}

internal sealed class BackgroundPipe : IDisposable
{
    private readonly Dataset inner;
    private readonly Func<Tensor[], Tensor[]>? fn;
    private readonly BlockingCollection<Task<Tensor[]>> queue;
    private readonly BlockingCollection<(Tensor[] Input, TaskCompletionSource<Tensor[]> Result)> work = new();
    private readonly CancellationTokenSource cancel = new();
    private readonly Thread feeder;
    private readonly Thread[] workers;
    private ExceptionDispatchInfo? inputError;
    private bool disposed;

    public BackgroundPipe(Dataset inner, int parallel, Func<Tensor[], Tensor[]>? fn)
    {
        this.inner = inner;
        this.fn = fn;
        // The queue holds at most `parallel` elements ahead of the reader, so at most that many calls are pending.
        queue = new BlockingCollection<Task<Tensor[]>>(parallel);
        workers = fn is null
            ? []
            : Enumerable.Range(0, parallel)
                .Select(i => new Thread(Work) { IsBackground = true, Name = $"OnnxKeras Dataset.Map {i}" })
                .ToArray();
        feeder = new Thread(Feed) { IsBackground = true, Name = fn is null ? "OnnxKeras Dataset.Prefetch" : "OnnxKeras Dataset.Map input" };
        foreach (var w in workers) w.Start();
        feeder.Start();
    }

    /// <summary>The next element, owned by the caller's dispose scope; null at the end. Rethrows the input's or the function's exception.</summary>
    public Tensor[]? Next()
    {
        if (!queue.TryTake(out var task, Timeout.Infinite))
        {
            feeder.Join(); // the feeder sets inputError before it completes the queue
            inputError?.Throw();
            return null;
        }
        // GetResult rethrows the function's own exception with its stack trace (not an AggregateException).
        return Owned.Adopt(task.GetAwaiter().GetResult());
    }

    private void Feed()
    {
        var token = cancel.Token;
        Tensor[]? element = null;
        try
        {
            using var it = inner.Elements().GetEnumerator();
            while (!token.IsCancellationRequested)
            {
                // One scope per element frees what the input pipeline made on the way; the element itself leaves it detached.
                using (NewDisposeScope())
                {
                    if (!it.MoveNext()) break;
                    element = Owned.Detach(it.Current);
                }
                if (fn is null)
                {
                    queue.Add(Task.FromResult(element), token);
                }
                else
                {
                    var result = new TaskCompletionSource<Tensor[]>(TaskCreationOptions.RunContinuationsAsynchronously);
                    queue.Add(result.Task, token);
                    work.Add((element, result));
                }
                element = null;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            inputError = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            Owned.Dispose(element);
            work.CompleteAdding();
            queue.CompleteAdding();
        }
    }

    private void Work()
    {
        foreach (var (input, result) in work.GetConsumingEnumerable())
        {
            try
            {
                if (cancel.IsCancellationRequested)
                {
                    result.SetCanceled();
                    continue;
                }
                using var scope = NewDisposeScope();
                result.SetResult(Owned.Detach(fn!(input) ?? throw new InvalidOperationException("Map: the function returned null instead of an element.")));
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
            finally
            {
                Owned.Dispose(input);
            }
        }
    }

    private static void DisposeResult(Task<Tensor[]> task)
    {
        if (task.IsCompletedSuccessfully) Owned.Dispose(task.Result);
    }

    /// <summary>Stops the feeder and the workers, waits for them, and frees every element not handed out.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        cancel.Cancel();
        feeder.Join();
        foreach (var w in workers) w.Join();
        while (queue.TryTake(out var task)) DisposeResult(task);
        queue.Dispose();
        work.Dispose();
        cancel.Dispose();
    }
}
