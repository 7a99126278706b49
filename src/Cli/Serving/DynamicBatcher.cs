using System.Diagnostics;
using System.Threading.Channels;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Serving;

/// <summary>
/// Dynamic batching: requests are queued in a channel; a background loop takes the first, waits up to the delay for
/// more (up to the row limit), concatenates the requests that agree on input names, datatypes, non-batch dimensions and
/// requested outputs along the first dimension, runs them as one
/// <see cref="OnnxModel.Predict(IReadOnlyDictionary{string, TensorInput}, IReadOnlyCollection{string}?, int?)"/> and
/// splits the outputs back by rows. If a combined run fails (a bad request among them), each request is rerun alone so
/// that every caller gets its own result or error. The wait also ends as soon as every inference request in flight on
/// the server is in the batch: nobody else is about to join, so waiting would only add latency.
/// </summary>
internal sealed class DynamicBatcher : IAsyncDisposable
{
    private readonly OnnxModel model;
    private readonly int maxRows;
    private readonly TimeSpan delay;
    private readonly Channel<Item> channel = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private readonly Action<string>? log;
    private readonly Func<int> inFlight;
    private long runs;

    /// <summary>ONNX Runtime runs made (a combined batch counts once).</summary>
    public long Runs => Interlocked.Read(ref runs);

    private sealed class Item(InferRequest request, long rows, string key)
    {
        public InferRequest Request { get; } = request;
        public long Rows { get; } = rows;
        public string Key { get; } = key;
        public TaskCompletionSource<IReadOnlyDictionary<string, DenseTensorResult>> Done { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public DynamicBatcher(OnnxModel model, int maxRows, TimeSpan delay, Func<int> inFlight, Action<string>? log)
    {
        this.inFlight = inFlight;
        this.model = model;
        this.maxRows = maxRows;
        this.delay = delay;
        this.log = log;
        loop = Task.Run(LoopAsync);
    }

    /// <summary>Whether every input and every returnable output of the model has a symbolic first dimension.</summary>
    public static bool CanBatch(OnnxModel model, out string? why)
    {
        foreach (var t in model.Inputs.Concat(model.Outputs.Where(o => OnnxModel.SupportedOutputTypes.Contains(o.ElementType))))
        {
            if (t.Rank == 0 || t.Dimensions[0].IsFixed)
            {
                why = $"'{t.Name}' has shape {t.ShapeText}, whose first dimension is not symbolic";
                return false;
            }
        }
        why = null;
        return true;
    }

    /// <summary>Runs the request, batched with others where possible.</summary>
    public Task<IReadOnlyDictionary<string, DenseTensorResult>> PredictAsync(InferRequest request)
    {
        var inputs = request.Inputs;
        long rows = inputs.Count > 0 && inputs[0].Shape.Length > 0 ? inputs[0].Shape[0] : -1;
        bool batchable = rows > 0 && rows < maxRows
                         && inputs.All(i => i.Shape.Length > 0 && i.Shape[0] == rows && i.Data.Length > 0 && i.Data.Length % rows == 0);
        if (!batchable)
            return Task.FromResult(RunAlone(request));
        string key = string.Join("|", inputs.OrderBy(i => i.Name, StringComparer.Ordinal)
                         .Select(i => $"{i.Name}:{i.Type}:{string.Join(",", i.Shape.Skip(1))}:{i.Data.Length / rows}"))
                     + "->" + (request.Outputs is null ? "*" : string.Join(",", request.Outputs));
        var item = new Item(request, rows, key);
        if (!channel.Writer.TryWrite(item))
            throw new ObjectDisposedException(nameof(DynamicBatcher), "The server is stopping.");
        return item.Done.Task;
    }

    private IReadOnlyDictionary<string, DenseTensorResult> RunAlone(InferRequest request)
    {
        Interlocked.Increment(ref runs);
        return model.Predict(request.Inputs.ToDictionary(i => i.Name, i => i.ToTensorInput()), request.Outputs);
    }

    private async Task LoopAsync()
    {
        var reader = channel.Reader;
        Item? carry = null;
        var batch = new List<Item>();
        try
        {
            while (true)
            {
                if (carry is null)
                {
                    if (!await reader.WaitToReadAsync(stop.Token).ConfigureAwait(false)) return;
                    if (!reader.TryRead(out carry)) continue;
                }
                batch.Clear();
                batch.Add(carry);
                long rows = carry.Rows;
                carry = null;
                long deadline = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
                while (rows < maxRows)
                {
                    if (reader.TryRead(out var next))
                    {
                        if (rows + next.Rows > maxRows) { carry = next; break; }
                        batch.Add(next);
                        rows += next.Rows;
                        continue;
                    }
                    if (inFlight() <= batch.Count) break;
                    long remaining = deadline - Stopwatch.GetTimestamp();
                    if (remaining <= 0) break;
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                    wait.CancelAfter(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
                    try
                    {
                        if (!await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false)) break;
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        break;
                    }
                }
                foreach (var group in batch.GroupBy(i => i.Key))
                    Run(group.ToList());
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            var stopping = new ObjectDisposedException(nameof(DynamicBatcher), "The server is stopping.");
            carry?.Done.TrySetException(stopping);
            foreach (var i in batch) i.Done.TrySetException(stopping);
            while (reader.TryRead(out var left)) left.Done.TrySetException(stopping);
        }
    }

    private void Run(List<Item> items)
    {
        if (items.Count > 1)
        {
            try
            {
                if (TryRunCombined(items)) return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A bad request among them, or a model failure: rerun one by one below so each gets its own answer.
            }
        }
        foreach (var item in items)
        {
            if (item.Done.Task.IsCompleted) continue;
            try { item.Done.TrySetResult(RunAlone(item.Request)); }
            catch (Exception e) { item.Done.TrySetException(e); }
        }
    }

    private bool TryRunCombined(List<Item> items)
    {
        long total = items.Sum(i => i.Rows);
        var first = items[0].Request;
        var feeds = new Dictionary<string, TensorInput>();
        for (int k = 0; k < first.Inputs.Count; k++)
        {
            var name = first.Inputs[k].Name;
            var parts = items.Select(i => i.Request.Inputs.First(x => x.Name == name).Data).ToList();
            var shape = (long[])first.Inputs[k].Shape.Clone();
            shape[0] = total;
            Array merged = Array.CreateInstance(parts[0].GetType().GetElementType()!, parts.Sum(p => p.Length));
            int offset = 0;
            foreach (var p in parts)
            {
                Array.Copy(p, 0, merged, offset, p.Length);
                offset += p.Length;
            }
            feeds[name] = (first.Inputs[k] with { Shape = shape, Data = merged }).ToTensorInput();
        }
        Interlocked.Increment(ref runs);
        var results = model.Predict(feeds, first.Outputs);
        foreach (var (name, r) in results)
            if (r.Rank == 0 || r.Shape[0] != total || r.Values.Length % total != 0)
            {
                log?.Invoke($"dynamic batching: output '{name}' has shape [{string.Join(", ", r.Shape)}] for {total} rows; running requests one by one.");
                return false;
            }
        long start = 0;
        foreach (var item in items)
        {
            var split = new Dictionary<string, DenseTensorResult>(results.Count);
            foreach (var (name, r) in results)
            {
                long rowSize = r.Values.Length / total;
                var shape = r.Shape.ToArray();
                shape[0] = item.Rows;
                var part = Array.CreateInstance(r.Values.GetType().GetElementType()!, checked(item.Rows * rowSize));
                Array.Copy(r.Values, checked(start * rowSize), part, 0, part.Length);
                split[name] = new DenseTensorResult(part, shape);
            }
            start += item.Rows;
            item.Done.TrySetResult(split);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        channel.Writer.TryComplete();
        await stop.CancelAsync().ConfigureAwait(false);
        try { await loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        stop.Dispose();
    }
}
