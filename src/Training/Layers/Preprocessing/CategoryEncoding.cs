using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Encodes integer category ids in [0, <see cref="NumTokens"/>) as vectors (Keras 3's
/// <c>keras.layers.CategoryEncoding</c>): <c>"one_hot"</c> gives one row per id (a last axis of size 1 is replaced, any
/// other gets a new axis), <c>"multi_hot"</c> a 1 for every id present in the sample (the last axis is the sample),
/// <c>"count"</c> how often each id occurs. Inputs have rank 1 or 2 with the batch, as in Keras; float inputs are cast to
/// int64 (truncated, as a cast does). The output is float32. It exports as Cast + Gather from an identity matrix
/// (+ ReduceMax / ReduceSum over the sample), so the exported model takes the raw ids.
/// </summary>
/// <example><code>var encode = new CategoryEncoding(numTokens: 4, outputMode: "count");   // [[0, 1, 1]] -> [[1, 2, 0, 0]]</code></example>
public sealed class CategoryEncoding : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numTokens">The number of categories; ids must lie in [0, numTokens).</param>
    /// <param name="outputMode"><c>"multi_hot"</c> (also Keras's old name <c>"binary"</c>), <c>"one_hot"</c> or <c>"count"</c>.</param>
    /// <param name="sparse">Keras's sparse output; only false (dense) is supported.</param>
    /// <exception cref="ArgumentException">No or fewer than 1 tokens, another output mode, or <paramref name="sparse"/> true.</exception>
    public CategoryEncoding(int? numTokens = null, string outputMode = "multi_hot", bool sparse = false)
    {
        if (numTokens is null)
            throw new ArgumentException("CategoryEncoding: numTokens must be set. If the number of tokens is not known beforehand, " +
                "compute it from the data.", nameof(numTokens));
        if (numTokens < 1) throw new ArgumentException($"CategoryEncoding: numTokens must be >= 1; got {numTokens}.", nameof(numTokens));
        if (outputMode == "binary") outputMode = "multi_hot";
        if (outputMode is not ("one_hot" or "multi_hot" or "count"))
            throw new ArgumentException("CategoryEncoding: outputMode must be \"one_hot\", \"multi_hot\" or \"count\"; " +
                $"got \"{outputMode}\".", nameof(outputMode));
        if (sparse)
            throw new ArgumentException("CategoryEncoding: sparse outputs are not supported " +
                "(TorchSharp training and ONNX export use dense tensors).", nameof(sparse));
        NumTokens = numTokens.Value;
        OutputMode = outputMode;
    }

    /// <summary>The number of categories.</summary>
    public int NumTokens { get; }

    /// <summary><c>"one_hot"</c>, <c>"multi_hot"</c> or <c>"count"</c>.</summary>
    public string OutputMode { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Inputs of rank other than 1 or 2 (with the batch).</exception>
    public override void Build(Shape inputShape)
    {
        if (inputShape.Rank is < 1 or > 2)
            throw new ArgumentException($"Layer '{Name}' (CategoryEncoding) takes inputs of rank 1 or 2 (with the batch), as Keras does; " +
                $"got shape {inputShape}.");
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An id (after the cast) outside [0, NumTokens). (The
    /// exported model does not check: ONNX Runtime's Gather fails on ids of NumTokens or more and wraps negative ones.)</exception>
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var ids = Ops.Cast(inputs, "int64");
        // While exporting, the values are the exporter's example data, not ids: only real inputs are checked.
        if (inputs.Tracer is null) CheckIds(ids.Value);
        return Encode(ids, NumTokens, OutputMode);
    }

    /// <summary>Keras's <c>encode_categorical_inputs</c> for int64 <paramref name="ids"/> in [0, numTokens) (also Discretization's encoded modes).</summary>
    internal static KTensor Encode(KTensor ids, int numTokens, string outputMode)
    {
        using var eye = torch.eye(numTokens, dtype: ScalarType.Float32, device: ids.Value.device);
        // Row i of the identity is the one-hot vector of id i: a Gather in ONNX, as Embedding.
        var hot = Ops.Take(new KTensor(eye.alias()), ids, 0);
        int sample = ids.Rank - 1;
        return outputMode switch
        {
            "one_hot" => ids.Rank > 1 && ids.Value.shape[^1] == 1 ? Ops.Take(hot, 0L, sample) : hot,
            "multi_hot" => Ops.Max(hot, sample),
            _ => Ops.Sum(hot, sample),
        };
    }

    private void CheckIds(Tensor x)
    {
        if (x.numel() == 0) return;
        using var scope = NewDisposeScope();
        long min = x.min().item<long>(), max = x.max().item<long>();
        if (min < 0 || max >= NumTokens)
            throw new ArgumentException($"Layer '{Name}' (CategoryEncoding): input values must be in the range 0 <= values < numTokens " +
                $"({NumTokens}); got values in [{min}, {max}].");
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        var dims = inputShape.Dims;
        if (OutputMode == "one_hot" && (dims.Length == 1 || dims[^1] != 1)) return new Shape([.. dims, NumTokens]);
        return new Shape([.. dims[..^1], NumTokens]);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().With("num_tokens", NumTokens).With("output_mode", OutputMode);
}
