using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Hashes strings or integers into <c>numBins</c> bins (Keras 3's <c>keras.layers.Hashing</c>): every value is turned into
/// its string (integers in decimal; floats are first truncated to int64, as Keras casts them) and hashed with FarmHash's
/// Fingerprint64 (<c>tf.strings.to_hash_bucket_fast</c>), or with SipHash-2-4 keyed by <c>salt</c>
/// (<c>to_hash_bucket_strong</c>); the bin is the hash modulo the bins. With <c>maskValue</c> (and more than one bin) the
/// mask value gets bin 0 and the others bins 1 to numBins - 1. <c>outputMode</c> "int" gives int64 bins; "one_hot",
/// "multi_hot" and "count" give float32 vectors of numBins. On tensors (integer inputs) it runs inside a model in
/// training; string hashing has no standard ONNX op, so it does not export: strings go through <see cref="Call(string[])"/>
/// in .NET before the model (docs/layers.md, "How string inputs flow in training").
/// </summary>
/// <example><code>var hash = new Hashing(numBins: 3);   // hash.Call(new[] { "A", "B", "C", "D", "E" }) -> [1, 0, 1, 1, 2]</code></example>
[ConfigDtypes("float32", "int64", "int32")] // Keras writes dtype int64 for "int" outputs (the bins' type), float32 otherwise
public sealed class Hashing : Layer
{
    private readonly ulong[]? key;

    /// <summary>Creates the layer.</summary>
    /// <param name="numBins">The number of bins, the mask's bin included; >= 1.</param>
    /// <param name="maskValue">A value (string, or integer for integer inputs) that goes to bin 0; null for none.</param>
    /// <param name="salt">SipHash's key: one integer (used twice) or two; null for FarmHash.</param>
    /// <param name="outputMode"><c>"int"</c>, <c>"one_hot"</c>, <c>"multi_hot"</c> or <c>"count"</c>.</param>
    /// <param name="sparse">Only false.</param>
    /// <exception cref="ArgumentException">Fewer than 1 bin, a mask value that is neither a string nor an integer, a salt of
    /// another length or negative, another output mode, or sparse.</exception>
    public Hashing(int numBins, object? maskValue = null, long[]? salt = null, string outputMode = "int", bool sparse = false)
    {
        if (numBins <= 0) throw new ArgumentException($"Hashing: numBins must be positive; got {numBins}.", nameof(numBins));
        if (outputMode is not ("int" or "one_hot" or "multi_hot" or "count"))
            throw new ArgumentException($"Hashing: outputMode must be \"int\", \"one_hot\", \"multi_hot\" or \"count\"; got \"{outputMode}\".",
                nameof(outputMode));
        if (sparse) throw new ArgumentException("Hashing: sparse outputs are not supported (dense tensors only).", nameof(sparse));
        MaskValue = maskValue switch
        {
            null or string or long => maskValue,
            int or short or byte or sbyte or uint or ushort => Convert.ToInt64(maskValue, CultureInfo.InvariantCulture),
            double d when d == Math.Floor(d) && Math.Abs(d) < 9e15 => (long)d, // a whole number read back from a config
            _ => throw new ArgumentException($"Hashing: maskValue must be a string or an integer; got {maskValue.GetType().Name}.", nameof(maskValue)),
        };
        if (salt is not null)
        {
            if (salt.Length is not (1 or 2))
                throw new ArgumentException($"Hashing: salt must be one integer or two; got {salt.Length}.", nameof(salt));
            if (salt.Any(s => s < 0)) throw new ArgumentException("Hashing: salt values are unsigned integers.", nameof(salt));
            Salt = salt.Length == 1 ? [salt[0], salt[0]] : [.. salt];
            key = Salt.Select(s => (ulong)s).ToArray();
        }
        NumBins = numBins;
        OutputMode = outputMode;
    }

    /// <summary>The number of bins.</summary>
    public int NumBins { get; }

    /// <summary>The mask value (string or long), or null.</summary>
    public object? MaskValue { get; }

    /// <summary>SipHash's two key halves, or null (FarmHash).</summary>
    public IReadOnlyList<long>? Salt { get; }

    /// <summary><c>"int"</c>, <c>"one_hot"</c>, <c>"multi_hot"</c> or <c>"count"</c>.</summary>
    public string OutputMode { get; }

    /// <summary>The bin of one string (Keras's <c>_hash_values_to_bins</c> for one value).</summary>
    public long Bin(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        long bins = NumBins;
        bool masked = MaskValue is not null && bins > 1;
        if (masked)
        {
            bins--;
            if (MaskValue is string m && m == value) return 0;
        }
        var bytes = Encoding.UTF8.GetBytes(value);
        ulong hash = key is null ? FarmHash.Fingerprint64(bytes) : SipHash.Hash(key[0], key[1], bytes);
        return (long)(hash % (ulong)bins) + (masked ? 1 : 0);
    }

    /// <summary>The bin of one integer: the hash of its decimal string, or 0 for an integer mask value.</summary>
    public long Bin(long value)
    {
        if (MaskValue is long m && m == value && NumBins > 1) return 0;
        return Bin(value.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Hashes a rank-1 array of strings: int64 bins of shape [n], or an encoding of the whole array as one sample.</summary>
    public KTensor Call(string[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Encode(inputs.Select(Bin).ToArray(), [inputs.Length]);
    }

    /// <summary>Hashes a batch of string rows: int64 bins of shape [rows, columns], or one encoded vector per row.</summary>
    public KTensor Call(string[,] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Encode(inputs.Cast<string>().Select(Bin).ToArray(), [inputs.GetLength(0), inputs.GetLength(1)]);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">While exporting to ONNX: string hashing has no standard ONNX op.</exception>
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        if (inputs.Tracer is not null)
            throw new NotSupportedException($"Layer '{Name}' (Hashing) has no ONNX form: FarmHash/SipHash of the value's text has no " +
                "standard ONNX op. Run the layer in .NET before the model (Hashing.Call on the raw values) and export the rest.");
        using var scope = NewDisposeScope();
        var values = inputs.Value.detach().cpu().to_type(ScalarType.Int64).contiguous();
        var bins = values.data<long>().ToArray().Select(Bin).ToArray();
        var result = Encode(bins, values.shape);
        return new KTensor(result.Value.MoveToOuterDisposeScope());
    }

    private KTensor Encode(long[] bins, long[] shape)
    {
        var ids = new KTensor(tensor(bins, shape).to(Keras.Device));
        return OutputMode == "int" ? ids : Ops.EncodeCategorical(ids, NumBins, OutputMode);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => LookupOutput.OutputShape(inputShape, OutputMode, NumBins);

    /// <inheritdoc />
    /// <remarks><c>dtype</c> is <c>"int64"</c> with "int" outputs, as Keras writes it (Keras refuses a float dtype there).</remarks>
    public override LayerConfig GetConfig() => base.GetConfig().With("dtype", OutputMode == "int" ? "int64" : "float32")
        .With("num_bins", NumBins).With("salt", Salt?.ToArray())
        .With("mask_value", MaskValue).With("output_mode", OutputMode).With("sparse", false);
}
