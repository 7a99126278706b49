using static TorchSharp.torch;

namespace OnnxKeras;

// The table lookup of Keras's preprocessing lookup layers (IndexLookup's StaticHashTable): internal, not a keras.ops op.
public static partial class Ops
{
    /// <summary>
    /// Keras's <c>IndexLookup._lookup_dense</c> on int64 <paramref name="x"/>: each value found in <paramref name="keys"/>
    /// becomes the matching entry of <paramref name="values"/>, any other <paramref name="defaultValue"/>; then values equal
    /// to <paramref name="maskKey"/> (when set) become <paramref name="maskValue"/>; then, with more than one hashed OOV
    /// bucket, results still equal to -1 become <c>floormod(x, hashedOov) + oovStart</c>. The result is int64.
    /// </summary>
    internal static KTensor IndexLookup(KTensor x, long[] keys, long[] values, long defaultValue, long? maskKey, long maskValue,
        int hashedOov, long oovStart)
    {
        var op = new IndexLookupOp(keys, values, defaultValue, maskKey, maskValue, hashedOov, oovStart);
        return Emit(op, [x], () => LookupEager(x.Value, op));
    }

    private static Tensor LookupEager(Tensor x, IndexLookupOp op)
    {
        using var scope = NewDisposeScope();
        var t = x.to_type(ScalarType.Int64);
        Tensor result;
        if (op.Keys.Length == 0)
        {
            result = full_like(t, op.Default);
        }
        else
        {
            var order = Enumerable.Range(0, op.Keys.Length).OrderBy(i => op.Keys[i]).ToArray();
            var sortedKeys = tensor(order.Select(i => op.Keys[i]).ToArray(), device: t.device);
            var sortedValues = tensor(order.Select(i => op.Values[i]).ToArray(), device: t.device);
            // Binary search: the position of each value among the sorted keys, then whether the key there is the value.
            var pos = searchsorted(sortedKeys, t.contiguous()).clamp_max(op.Keys.Length - 1);
            var found = sortedKeys.take(pos).eq(t);
            result = where(found, sortedValues.take(pos), full_like(t, op.Default));
        }
        if (op.MaskKey is long mask) result = where(t.eq(mask), full_like(t, op.MaskValue), result);
        if (op.HashedOov > 1) result = where(result.eq(-1), t.remainder(op.HashedOov) + op.OovStart, result);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Keras's <c>encode_categorical_inputs</c> of the lookup layers for int64 <paramref name="ids"/>, float32 out:
    /// <c>"one_hot"</c> (a last axis of size 1 is replaced, other shapes get a new axis), <c>"multi_hot"</c> or
    /// <c>"count"</c> over the last axis (the sample). Ids outside [0, depth) add nothing (Keras's bincount drops them;
    /// the layers send masked values to <paramref name="depth"/>).
    /// </summary>
    internal static KTensor EncodeCategorical(KTensor ids, long depth, string mode)
    {
        var op = new EncodeCategoricalOp(depth, mode);
        return Emit(op, [ids], () => EncodeEager(ids.Value, op));
    }

    private static Tensor EncodeEager(Tensor ids, EncodeCategoricalOp op)
    {
        using var scope = NewDisposeScope();
        var t = ids.to_type(ScalarType.Int64);
        if (op.Mode == "one_hot" && t.dim() > 1 && t.shape[^1] == 1) t = t.squeeze(-1);
        if (op.Mode == "one_hot") t = t.unsqueeze(-1);
        // Out-of-range ids go to an extra column that is cut off: a scatter-add, with no (sample length x depth) one-hot tensor.
        var valid = t.ge(0).logical_and(t.lt(op.Depth));
        var target = where(valid, t, full_like(t, op.Depth));
        var shape = t.shape[..^1].Append(op.Depth + 1).ToArray();
        var counts = zeros(shape, ScalarType.Float32, device: t.device).scatter_add(-1, target, ones_like(target, ScalarType.Float32));
        var result = counts.narrow(-1, 0, op.Depth);
        if (op.Mode == "multi_hot") result = result.clamp_max(1);
        return result.contiguous().MoveToOuterDisposeScope();
    }
}

/// <summary><see cref="Ops.EncodeCategorical"/>: the depth and the mode (<c>"one_hot"</c>, <c>"multi_hot"</c>, <c>"count"</c>).</summary>
internal sealed record EncodeCategoricalOp(long Depth, string Mode) : OpInfo;

/// <summary><see cref="Ops.IndexLookup"/>: the table (keys to values, default), the mask key and its value, and the hashed OOV buckets.</summary>
internal sealed record IndexLookupOp(long[] Keys, long[] Values, long Default, long? MaskKey, long MaskValue, int HashedOov, long OovStart) : OpInfo;
