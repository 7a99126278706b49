using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Serving;

/// <summary>Settings of <see cref="TritonExporter.Export"/>.</summary>
public sealed class TritonExportOptions
{
    /// <summary>The model's name (its folder in the repository). Default: the file name without extension.</summary>
    public string? Name { get; init; }

    /// <summary>Triton's <c>max_batch_size</c> when the model has a batch dimension. Default 64.</summary>
    public int MaxBatchSize { get; init; } = 64;

    /// <summary>Triton's <c>dynamic_batching.max_queue_delay_microseconds</c>, 0 or more (0: no waiting for more requests). Default 100.</summary>
    public int MaxQueueDelayMicroseconds { get; init; } = 100;

    /// <summary>Instances on the GPU (<c>KIND_GPU</c>); null for one CPU instance (<c>KIND_CPU</c>).</summary>
    public int? GpuInstances { get; init; }
}

/// <summary>Writes a Triton Inference Server model repository entry for an ONNX model.</summary>
public static class TritonExporter
{
    /// <summary>The Triton data type of an ONNX Runtime element type (<c>TYPE_FP32</c>, ...).</summary>
    /// <param name="type">The element type.</param>
    /// <returns>The config.pbtxt name.</returns>
    public static string DataType(TensorElementType type) => type switch
    {
        TensorElementType.Float => "TYPE_FP32",
        TensorElementType.Double => "TYPE_FP64",
        TensorElementType.Float16 => "TYPE_FP16",
        TensorElementType.BFloat16 => "TYPE_BF16",
        TensorElementType.Int64 => "TYPE_INT64",
        TensorElementType.Int32 => "TYPE_INT32",
        TensorElementType.Int16 => "TYPE_INT16",
        TensorElementType.Int8 => "TYPE_INT8",
        TensorElementType.UInt64 => "TYPE_UINT64",
        TensorElementType.UInt32 => "TYPE_UINT32",
        TensorElementType.UInt16 => "TYPE_UINT16",
        TensorElementType.UInt8 => "TYPE_UINT8",
        TensorElementType.Bool => "TYPE_BOOL",
        TensorElementType.String => "TYPE_STRING",
        _ => throw new NotSupportedException($"Element type {type} has no Triton data type."),
    };

    /// <summary>The config.pbtxt text for <paramref name="model"/>.</summary>
    /// <param name="model">The loaded model (for its inputs and outputs).</param>
    /// <param name="name">The model name.</param>
    /// <param name="options">Batching and instances.</param>
    /// <returns>The text.</returns>
    public static string Config(OnnxModel model, string name, TritonExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        bool batched = model.Inputs.Concat(model.Outputs).All(t => t.Rank > 0 && !t.Dimensions[0].IsFixed) && options.MaxBatchSize > 0;
        var sb = new StringBuilder();
        sb.Append("name: \"").Append(name).Append("\"\n");
        sb.Append("platform: \"onnxruntime_onnx\"\n");
        sb.Append("max_batch_size: ").Append(batched ? options.MaxBatchSize : 0).Append('\n');
        Tensors(sb, "input", model.Inputs, batched);
        Tensors(sb, "output", model.Outputs, batched);
        if (batched)
            sb.Append("dynamic_batching {\n  max_queue_delay_microseconds: ")
              .Append(options.MaxQueueDelayMicroseconds.ToString(CultureInfo.InvariantCulture)).Append("\n}\n");
        sb.Append("instance_group [\n  {\n    count: ").Append(options.GpuInstances ?? 1)
          .Append("\n    kind: ").Append(options.GpuInstances is null ? "KIND_CPU" : "KIND_GPU").Append("\n  }\n]\n");
        return sb.ToString();
    }

    private static void Tensors(StringBuilder sb, string section, IReadOnlyList<ModelTensorInfo> tensors, bool batched)
    {
        sb.Append(section).Append(" [\n");
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            var dims = t.Dimensions.Skip(batched ? 1 : 0).Select(d => d.Value ?? -1).ToList();
            sb.Append("  {\n    name: \"").Append(t.Name).Append("\"\n");
            sb.Append("    data_type: ").Append(DataType(t.ElementType)).Append('\n');
            // Triton needs at least one dim; a scalar (per batch row) is dims [1] reshaped to [].
            sb.Append("    dims: [ ").Append(dims.Count == 0 ? "1" : string.Join(", ", dims)).Append(" ]\n");
            if (dims.Count == 0) sb.Append("    reshape: { shape: [ ] }\n");
            sb.Append(i + 1 < tensors.Count ? "  },\n" : "  }\n");
        }
        sb.Append("]\n");
    }

    /// <summary>
    /// Writes <c>repo/name/1/model.onnx</c> and <c>repo/name/config.pbtxt</c>, each through a temporary file renamed
    /// into place, so a reader never sees a partial file.
    /// </summary>
    /// <param name="modelPath">The ONNX file (loaded with ONNX Runtime on the CPU to read its signature).</param>
    /// <param name="repository">The model repository folder (created if missing).</param>
    /// <param name="options">Name, batching and instances.</param>
    /// <returns>The model's folder.</returns>
    public static string Export(string modelPath, string repository, TritonExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        modelPath = Path.GetFullPath(modelPath);
        if (options.MaxBatchSize < 0) throw new ArgumentException("MaxBatchSize must not be negative.", nameof(options));
        if (options.MaxQueueDelayMicroseconds < 0) throw new ArgumentException("MaxQueueDelayMicroseconds must not be negative.", nameof(options));
        if (options.GpuInstances is < 1) throw new ArgumentException("GpuInstances must be positive.", nameof(options));
        string name = options.Name ?? Path.GetFileNameWithoutExtension(modelPath);
        if (name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a valid model name (it becomes a folder name).", nameof(options));
        string config;
        using (var model = OnnxModel.Load(modelPath))
            config = Config(model, name, options);
        string folder = Path.Combine(Path.GetFullPath(repository), name);
        string version = Path.Combine(folder, "1");
        Directory.CreateDirectory(version);
        string suffix = ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        string modelTemp = Path.Combine(version, "model.onnx" + suffix);
        string configTemp = Path.Combine(folder, "config.pbtxt" + suffix);
        try
        {
            File.Copy(modelPath, modelTemp);
            File.WriteAllText(configTemp, config, new UTF8Encoding(false));
            File.Move(modelTemp, Path.Combine(version, "model.onnx"), overwrite: true);
            File.Move(configTemp, Path.Combine(folder, "config.pbtxt"), overwrite: true);
        }
        finally
        {
            File.Delete(modelTemp);
            File.Delete(configTemp);
        }
        return folder;
    }
}
