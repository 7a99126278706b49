using static TorchSharp.torch;

namespace OnnxKeras.Layers;

// Losses added while the layer runs: activity regularizer, AddLoss, and the weight penalties (Keras's layer.losses).
public abstract partial class Layer
{
    private readonly List<KTensor> callLosses = [];

    /// <summary>
    /// How many terms all layers hold in their call losses (any thread). At zero, clearing them or adding them to a loss
    /// has nothing to do, so the training step skips walking the layers, which it would otherwise do twice per batch.
    /// </summary>
    private static int pendingCallLosses;
    private protected Regularizer? activityRegularizer;

    /// <summary>Depth of eager layer calls on this thread: the outermost call clears the losses of the previous one.</summary>
    [ThreadStatic]
    private static int eagerCallDepth;

    /// <summary>
    /// Keras's <c>activity_regularizer</c>: a penalty on the layer's outputs. Each eager call adds
    /// <c>regularizer(output)</c> for every floating-point output to the layer's <see cref="Losses"/>, which
    /// <c>Fit</c>, <c>Evaluate</c> and <c>TrainOnBatch</c> add to the loss. As in Keras 3 the penalty is not divided by
    /// the batch size (tf.keras 2 divided it), so <c>L2(0.5)</c> on a Dense output adds <c>0.5 * sum(output^2)</c> over the
    /// whole batch. Written to the config as <c>activity_regularizer</c> when set.
    /// </summary>
    /// <example><code>new Dense(4) { ActivityRegularizer = Regularizers.L2(0.5) }</code></example>
    public Regularizer? ActivityRegularizer { get => activityRegularizer; init => activityRegularizer = value; }

    /// <summary>
    /// Adds a loss term computed in <see cref="Call(KTensor, bool)"/> (Keras's <c>self.add_loss</c>), e.g. a penalty on
    /// an intermediate value. The term is summed to a scalar and added to the training loss of the current step; the
    /// losses of a call are kept in <see cref="Losses"/> until the next outermost call. During ONNX export (traced
    /// inputs) the term is ignored: it is not part of inference.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// <paramref name="loss"/> is symbolic (a functional-API tensor): add losses in <c>Call</c>, on real values.
    /// </exception>
    public void AddLoss(KTensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.IsSymbolic)
            throw new InvalidOperationException($"Layer '{Name}': AddLoss needs a computed value; a symbolic (Keras.Input) tensor cannot be "
                + "added as a loss. Call AddLoss inside Call, as Keras 3 requires.");
        if (loss.Tracer is not null) return;
        if (!loss.Value.is_floating_point())
            throw new ArgumentException($"Layer '{Name}': AddLoss needs a floating-point value; got {loss.Value.dtype}.");
        callLosses.Add(loss);
        Interlocked.Increment(ref pendingCallLosses);
    }

    /// <summary>
    /// Keras's <c>layer.losses</c>: the terms added by the latest call (activity regularization and <see cref="AddLoss"/>)
    /// and the weight regularization penalties, of this layer and its sublayers. Each term is summed to a scalar and
    /// added to the training loss.
    /// </summary>
    public IEnumerable<KTensor> Losses => CallLosses.Concat(RegularizedWeights.Select(v => v.Regularizer!.Compute(v)));

    /// <summary>The trainable weights that carry a regularizer (their penalties are part of <see cref="Losses"/>).</summary>
    internal IReadOnlyList<Variable> RegularizedWeights => Weights.Where(v => v.Regularizer is not null && v.Trainable).ToList();

    /// <summary>The terms added during the latest call by this layer and its sublayers, each shared layer once.</summary>
    internal IReadOnlyList<KTensor> CallLosses => SelfAndSublayers().SelectMany(l => l.callLosses).ToList();

    /// <summary>Adds the latest call's terms (<see cref="CallLosses"/>, each summed) to <paramref name="loss"/> and forgets them.</summary>
    internal Tensor AddCallLosses(Tensor loss)
    {
        if (Volatile.Read(ref pendingCallLosses) == 0) return loss;
        // One walk of the layers (this runs every training step): add their terms in CallLosses's order, then forget them.
        var layers = SelfAndSublayers();
        foreach (var l in layers)
        {
            foreach (var term in l.callLosses) loss = loss + term.Value.sum();
        }
        foreach (var l in layers) l.ForgetCallLosses();
        return loss;
    }

    /// <summary>Forgets the terms of the latest call in this layer and its sublayers.</summary>
    internal void ClearCallLosses()
    {
        if (Volatile.Read(ref pendingCallLosses) == 0) return;
        foreach (var l in SelfAndSublayers()) l.ForgetCallLosses();
    }

    private void ForgetCallLosses()
    {
        if (callLosses.Count == 0) return;
        Interlocked.Add(ref pendingCallLosses, -callLosses.Count);
        callLosses.Clear();
    }

    internal List<Layer> SelfAndSublayers()
    {
        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        var order = new List<Layer>();
        var stack = new Stack<Layer>([this]);
        while (stack.Count > 0)
        {
            var l = stack.Pop();
            if (!seen.Add(l)) continue;
            order.Add(l);
            for (int i = l.Sublayers.Count - 1; i >= 0; i--) stack.Push(l.Sublayers[i]);
        }
        return order;
    }

    /// <summary>
    /// Runs an eager call: the outermost call first clears the previous call's losses (as Keras 3 does), and the
    /// activity regularizer's penalty on each floating-point output is added afterwards.
    /// </summary>
    private IReadOnlyList<KTensor> RunEager(Func<IReadOnlyList<KTensor>> call)
    {
        if (eagerCallDepth == 0) ClearCallLosses();
        eagerCallDepth++;
        try
        {
            var outputs = call();
            SettleSublayers();
            if (ActivityRegularizer is { } r)
            {
                foreach (var o in outputs)
                {
                    if (o.Value.is_floating_point()) AddLoss(r.Compute(o));
                }
            }
            return outputs;
        }
        finally
        {
            eagerCallDepth--;
        }
    }
}
